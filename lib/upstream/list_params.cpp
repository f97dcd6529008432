#include "upstream/list_params.hpp"

#include "http/target.hpp"

namespace focus::upstream {
namespace {

using Params = std::vector<http::QueryParam>;

void add(Params& params, std::string key, std::string value) {
  params.push_back({std::move(key), std::move(value), true});
}

void add_paging(Params& params, const PageParams& p) {
  if (p.page) add(params, "page", std::to_string(*p.page));
  if (p.per_page) add(params, "per_page", std::to_string(*p.per_page));
  for (const auto& o : p.order_by) add(params, "order_by", o);
}

void add_ids(Params& params, const char* key, const std::vector<model::Id>& ids) {
  for (auto id : ids) add(params, key, std::to_string(id));
}

}  // namespace

std::string to_query(const PageParams& p) {
  Params params;
  add_paging(params, p);
  return http::query_string(params);
}

std::string to_query(const ListParams& p) {
  Params params;
  add_paging(params, p.paging);
  switch (p.archived) {
    case ArchivedFilter::unset: break;
    case ArchivedFilter::active_only: add(params, "archived", "false"); break;
    case ArchivedFilter::archived_only: add(params, "archived", "true"); break;
    case ArchivedFilter::all: add(params, "archived", ""); break;
  }
  if (p.pinned) add(params, "pinned", *p.pinned ? "true" : "false");
  if (p.is_private) add(params, "private", *p.is_private ? "true" : "false");
  if (p.name) add(params, "name", *p.name);
  add_ids(params, "client_id", p.client_ids);
  add_ids(params, "creator_id", p.creator_ids);
  add_ids(params, "tag_id", p.tag_ids);
  add_ids(params, "project_id", p.project_ids);
  add_ids(params, "user_id", p.user_ids);
  if (p.include_rates) add(params, "include_rates", "true");
  if (p.start_date) add(params, "start_date", format_date(*p.start_date));
  if (p.end_date) add(params, "end_date", format_date(*p.end_date));
  return http::query_string(params);
}

}  // namespace focus::upstream
