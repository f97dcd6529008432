#include "upstream/list_query.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace focus::upstream {
namespace {

QueryError bad_request(std::string message) { return QueryError(std::move(message)); }

std::int64_t parse_int(const std::string& key, const std::string& text) {
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size())
    throw bad_request("query parameter '" + key + "' must be an integer, got '" + text + "'");
  return value;
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

OrderKey parse_order_key(const std::string& text) {
  OrderKey key;
  std::string_view name = text;
  if (name.starts_with('-')) {
    key.descending = true;
    name.remove_prefix(1);
  }
  if (name == "id") key.field = OrderKey::Field::id;
  else if (name == "name") key.field = OrderKey::Field::name;
  else if (name == "created_at") key.field = OrderKey::Field::created_at;
  else if (name == "updated_at") key.field = OrderKey::Field::updated_at;
  else throw bad_request("query parameter 'order_by': unknown field '" + text + "' (use id, name, created_at or updated_at, '-' for descending)");
  return key;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

bool any_of_ids(const std::vector<model::Id>& wanted, model::Id id) {
  return std::find(wanted.begin(), wanted.end(), id) != wanted.end();
}

int compare(const model::Project& a, const model::Project& b, OrderKey::Field f) {
  auto cmp = [](const auto& x, const auto& y) { return x < y ? -1 : (y < x ? 1 : 0); };
  switch (f) {
    case OrderKey::Field::id: return cmp(a.id, b.id);
    case OrderKey::Field::name: return cmp(lower(a.name), lower(b.name));
    case OrderKey::Field::created_at: return cmp(a.created_at, b.created_at);
    case OrderKey::Field::updated_at: return cmp(a.updated_at, b.updated_at);
  }
  return 0;
}

}  // namespace

Paging parse_paging(const http::Target& t, std::int64_t max_per_page) {
  Paging paging;
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

ListQuery parse_list_query(const http::Target& t, std::int64_t max_per_page) {
  ListQuery q;
  q.paging = parse_paging(t, max_per_page);
  if (auto p = t.last("archived")) {
    if (p->value.empty()) q.archived = ArchivedFilter::all;
    else if (p->value == "true") q.archived = ArchivedFilter::archived_only;
    else if (p->value == "false") q.archived = ArchivedFilter::active_only;
    else throw bad_request("query parameter 'archived' must be true, false or empty, got '" + p->value + "'");
  }
  q.pinned = parse_bool(t, "pinned");
  q.is_private = parse_bool(t, "private");
  if (auto p = t.last("name"); p && !p->value.empty()) q.name = lower(p->value);
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

bool matches(const model::Project& p, const ListQuery& q) {
  bool archived = p.archived_at.has_value();
  if (q.archived == ArchivedFilter::active_only && archived) return false;
  if (q.archived == ArchivedFilter::archived_only && !archived) return false;
  if (q.pinned && p.pinned != *q.pinned) return false;
  if (q.is_private && p.is_private != *q.is_private) return false;
  if (q.name && lower(p.name).find(*q.name) == std::string::npos) return false;
  if (!q.client_ids.empty() && !(p.client_id && any_of_ids(q.client_ids, *p.client_id))) return false;
  if (!q.creator_ids.empty() && !(p.toggl_user_id && any_of_ids(q.creator_ids, *p.toggl_user_id))) return false;
  if (!q.project_ids.empty() && !any_of_ids(q.project_ids, p.id)) return false;
  if (!q.tag_ids.empty() &&
      std::none_of(p.tag_ids.begin(), p.tag_ids.end(), [&](model::Id t) { return any_of_ids(q.tag_ids, t); }))
    return false;
  // Overlap: project.start_date <= end_date AND project.end_date >= start_date;
  // an open start or end on the project reaches to minus / plus infinity.
  if (q.end_date && p.start_date && *p.start_date > *q.end_date) return false;
  if (q.start_date && p.end_date && *p.end_date < *q.start_date) return false;
  return true;
}

bool ordered_before(const model::Project& a, const model::Project& b, const std::vector<OrderKey>& order) {
  for (const auto& key : order) {
    int c = compare(a, b, key.field);
    if (c != 0) return key.descending ? c > 0 : c < 0;
  }
  return a.id < b.id;
}

}  // namespace focus::upstream
