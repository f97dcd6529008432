#include "upstream/list_query.hpp"

#include "core/text.hpp"

#include <algorithm>
#include <cctype>

namespace focus::upstream {
namespace {

QueryError bad_request(std::string message) { return QueryError(std::move(message)); }

std::int64_t parse_int(const std::string& key, const std::string& text) {
  auto value = parse_integer(text);
  if (!value) throw bad_request("query parameter '" + key + "' must be an integer, got '" + text + "'");
  return *value;
}

std::optional<bool> parse_bool(const http::Target& t, const std::string& key) {
  auto p = t.last(key);
  if (!p) return std::nullopt;
  if (p->value == "true" || p->value == "1") return true;
  if (p->value == "false" || p->value == "0") return false;
  throw bad_request("query parameter '" + key + "' must be true or false, got '" + p->value + "'");
}

// Repeated keys, "key[]" and comma-separated values are all accepted.
std::vector<model::Id> parse_ids(const http::Target& t, const std::string& key) {
  std::vector<model::Id> ids;
  for (const auto* p : t.all(key)) {
    std::string_view rest = p->value;
    while (!rest.empty()) {
      auto comma = rest.find(',');
      ids.push_back(parse_int(key, std::string(rest.substr(0, comma))));
      rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    }
  }
  return ids;
}

std::optional<Date> parse_date_param(const http::Target& t, const std::string& key) {
  auto p = t.last(key);
  if (!p || p->value.empty()) return std::nullopt;
  auto d = parse_date(p->value);
  if (!d) throw bad_request("query parameter '" + key + "' must be a date (YYYY-MM-DD), got '" + p->value + "'");
  return d;
}

model::OrderKey parse_order_key(const std::string& text) {
  model::OrderKey key;
  std::string_view name = text;
  if (name.starts_with('-')) {
    key.descending = true;
    name.remove_prefix(1);
  }
  if (name == "id") key.field = model::OrderKey::Field::id;
  else if (name == "name") key.field = model::OrderKey::Field::name;
  else if (name == "created_at") key.field = model::OrderKey::Field::created_at;
  else if (name == "updated_at") key.field = model::OrderKey::Field::updated_at;
  else throw bad_request("query parameter 'order_by': unknown field '" + text + "' (use id, name, created_at or updated_at, '-' for descending)");
  return key;
}

}  // namespace

model::Paging parse_paging(const http::Target& t, std::int64_t max_per_page) {
  model::Paging paging;
  if (auto p = t.last("page")) paging.page = parse_int("page", p->value);
  if (paging.page < 1) throw bad_request("query parameter 'page' must be 1 or more");
  if (auto p = t.last("per_page")) paging.per_page = parse_int("per_page", p->value);
  if (paging.per_page < 1) throw bad_request("query parameter 'per_page' must be 1 or more");
  paging.per_page = std::min(paging.per_page, max_per_page);
  for (const auto* p : t.all("order_by")) {
    std::string_view rest = p->value;
    while (!rest.empty()) {
      auto comma = rest.find(',');
      paging.order.push_back(parse_order_key(std::string(rest.substr(0, comma))));
      rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    }
  }
  return paging;
}

model::ListQuery parse_list_query(const http::Target& t, std::int64_t max_per_page) {
  model::ListQuery q;
  q.paging = parse_paging(t, max_per_page);
  if (auto p = t.last("archived")) {
    if (p->value.empty()) q.archived = model::ArchivedScope::all;
    else if (p->value == "true") q.archived = model::ArchivedScope::archived_only;
    else if (p->value == "false") q.archived = model::ArchivedScope::active_only;
    else throw bad_request("query parameter 'archived' must be true, false or empty, got '" + p->value + "'");
  }
  q.pinned = parse_bool(t, "pinned");
  q.is_private = parse_bool(t, "private");
  if (auto p = t.last("name"); p && !p->value.empty()) q.name = ascii_lower(p->value);
  q.client_ids = parse_ids(t, "client_id");
  q.creator_ids = parse_ids(t, "creator_id");
  q.tag_ids = parse_ids(t, "tag_id");
  q.project_ids = parse_ids(t, "project_id");
  q.user_ids = parse_ids(t, "user_id");
  q.include_rates = parse_bool(t, "include_rates").value_or(false);
  q.start_date = parse_date_param(t, "start_date");
  if (!q.start_date) q.start_date = parse_date_param(t, "date_overlap_start");
  q.end_date = parse_date_param(t, "end_date");
  if (!q.end_date) q.end_date = parse_date_param(t, "date_overlap_end");
  return q;
}

}  // namespace focus::upstream
