#include "model/list_query.hpp"

#include "core/text.hpp"

#include <algorithm>
#include <cctype>
#include <limits>

namespace focus::model {
namespace {

bool any_of_ids(const std::vector<Id>& wanted, Id id) {
  return std::find(wanted.begin(), wanted.end(), id) != wanted.end();
}

int compare(const Project& a, const Project& b, OrderKey::Field f) {
  auto cmp = [](const auto& x, const auto& y) { return x < y ? -1 : (y < x ? 1 : 0); };
  switch (f) {
    case OrderKey::Field::id: return cmp(a.id, b.id);
    case OrderKey::Field::name: return cmp(ascii_lower(a.name), ascii_lower(b.name));
    case OrderKey::Field::created_at: return cmp(a.created_at, b.created_at);
    case OrderKey::Field::updated_at: return cmp(a.updated_at, b.updated_at);
  }
  return 0;
}

}  // namespace

std::int64_t Paging::offset() const {
  if (page <= 1 || per_page <= 0) return 0;
  if (page - 1 > std::numeric_limits<std::int64_t>::max() / per_page) return std::numeric_limits<std::int64_t>::max();
  return (page - 1) * per_page;
}

bool matches(const Project& p, const ListQuery& q) {
  bool archived = p.archived_at.has_value();
  if (q.archived == ArchivedScope::active_only && archived) return false;
  if (q.archived == ArchivedScope::archived_only && !archived) return false;
  if (q.pinned && p.pinned != *q.pinned) return false;
  if (q.is_private && p.is_private != *q.is_private) return false;
  if (q.name && ascii_lower(p.name).find(*q.name) == std::string::npos) return false;
  if (!q.client_ids.empty() && !(p.client_id && any_of_ids(q.client_ids, *p.client_id))) return false;
  if (!q.creator_ids.empty() && !(p.toggl_user_id && any_of_ids(q.creator_ids, *p.toggl_user_id))) return false;
  if (!q.project_ids.empty() && !any_of_ids(q.project_ids, p.id)) return false;
  if (!q.tag_ids.empty() &&
      std::none_of(p.tag_ids.begin(), p.tag_ids.end(), [&](Id t) { return any_of_ids(q.tag_ids, t); }))
    return false;
  // Overlap: project.start_date <= end_date AND project.end_date >= start_date;
  // an open start or end on the project reaches to minus / plus infinity.
  if (q.end_date && p.start_date && *p.start_date > *q.end_date) return false;
  if (q.start_date && p.end_date && *p.end_date < *q.start_date) return false;
  return true;
}

bool ordered_before(const Project& a, const Project& b, const std::vector<OrderKey>& order) {
  for (const auto& key : order) {
    int c = compare(a, b, key.field);
    if (c != 0) return key.descending ? c > 0 : c < 0;
  }
  return a.id < b.id;
}

}  // namespace focus::model
