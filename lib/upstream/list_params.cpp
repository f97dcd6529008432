#include "upstream/list_params.hpp"

#include <boost/url/url.hpp>

namespace focus::upstream {
namespace {

void add_paging(boost::urls::params_ref params, const PageParams& p) {
  if (p.page) params.append({"page", std::to_string(*p.page)});
  if (p.per_page) params.append({"per_page", std::to_string(*p.per_page)});
  for (const auto& o : p.order_by) params.append({"order_by", o});
}

void add_ids(boost::urls::params_ref params, const char* key, const std::vector<model::Id>& ids) {
  for (auto id : ids) params.append({key, std::to_string(id)});
}

std::string query_of(const boost::urls::url& u) {
  return u.has_query() ? "?" + std::string(u.encoded_query()) : "";
}

}  // namespace

std::string to_query(const PageParams& p) {
  boost::urls::url u;
  add_paging(u.params(), p);
  return query_of(u);
}

std::string to_query(const ListParams& p) {
  boost::urls::url u;
  auto params = u.params();
  add_paging(params, p.paging);
  switch (p.archived) {
    case ArchivedFilter::unset: break;
    case ArchivedFilter::active_only: params.append({"archived", "false"}); break;
    case ArchivedFilter::archived_only: params.append({"archived", "true"}); break;
    case ArchivedFilter::all: params.append({"archived", ""}); break;
  }
  if (p.pinned) params.append({"pinned", *p.pinned ? "true" : "false"});
  if (p.is_private) params.append({"private", *p.is_private ? "true" : "false"});
  if (p.name) params.append({"name", *p.name});
  add_ids(params, "client_id", p.client_ids);
  add_ids(params, "creator_id", p.creator_ids);
  add_ids(params, "tag_id", p.tag_ids);
  add_ids(params, "project_id", p.project_ids);
  add_ids(params, "user_id", p.user_ids);
  if (p.include_rates) params.append({"include_rates", "true"});
  if (p.start_date) params.append({"start_date", format_date(*p.start_date)});
  if (p.end_date) params.append({"end_date", format_date(*p.end_date)});
  return query_of(u);
}

}  // namespace focus::upstream
