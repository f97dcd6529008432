#pragma once
// The Focus list's query, as data: which projects (filters), in which order,
// which page. matches() and ordered_before() are its semantics for projects
// in memory (focus-sim); the store runs the same in SQL. Parsing it from a
// request lives in lib/upstream (list_query.hpp). Plain data and pure
// functions; any thread.

#include "core/time.hpp"
#include "model/project.hpp"

#include <optional>
#include <string>
#include <vector>

namespace focus::model {

enum class ArchivedScope { active_only, archived_only, all };

struct OrderKey {
  enum class Field { id, name, created_at, updated_at } field = Field::id;
  bool descending = false;
};

struct Paging {
  std::int64_t page = 1;
  std::int64_t per_page = 50;
  std::vector<OrderKey> order;  // empty: by id

  // Items before this page; a page so far out that the product would
  // overflow saturates, which reads as "past the end" (an empty page).
  std::int64_t offset() const;
};

struct ListQuery {
  Paging paging;
  ArchivedScope archived = ArchivedScope::active_only;
  std::optional<bool> pinned;
  std::optional<bool> is_private;
  std::optional<std::string> name;  // lower-case; a case-insensitive substring
  std::vector<Id> client_ids, creator_ids, tag_ids, project_ids, user_ids;
  bool include_rates = false;
  std::optional<Date> start_date, end_date;  // overlap window
};

// Filters other than user_id (which needs membership).
bool matches(const Project& p, const ListQuery& q);

// Strict weak order for `order` with id as the final tie-breaker.
bool ordered_before(const Project& a, const Project& b, const std::vector<OrderKey>& order);

}  // namespace focus::model
