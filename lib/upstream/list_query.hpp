#pragma once
// The Focus list's query parameters as a server reads them, parsed and
// checked, and how they select and order projects: the semantics focus-sim
// serves and focussync's local API mirrors (in SQL), kept in one place so the
// two cannot drift apart. Parsing throws QueryError naming the parameter (a
// 400 for both). Pure functions; any thread.

#include "http/target.hpp"
#include "model/project.hpp"
#include "upstream/list_params.hpp"

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace focus::upstream {

// A query parameter that is not what the reference allows.
class QueryError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct OrderKey {
  enum class Field { id, name, created_at, updated_at } field = Field::id;
  bool descending = false;
};

struct Paging {
  std::int64_t page = 1;
  std::int64_t per_page = 50;
  std::vector<OrderKey> order;  // empty: by id
};

struct ListQuery {
  Paging paging;
  ArchivedFilter archived = ArchivedFilter::active_only;  // never unset once parsed
  std::optional<bool> pinned;
  std::optional<bool> is_private;
  std::optional<std::string> name;  // case-insensitive substring
  std::vector<model::Id> client_ids, creator_ids, tag_ids, project_ids, user_ids;
  bool include_rates = false;
  std::optional<Date> start_date, end_date;  // overlap window
};

// per_page above max_per_page is capped silently, as the real service does.
Paging parse_paging(const http::Target& target, std::int64_t max_per_page);
ListQuery parse_list_query(const http::Target& target, std::int64_t max_per_page);

// Filters other than user_id (which needs membership; see SimState).
bool matches(const model::Project& p, const ListQuery& q);

// Strict weak order for `order` with id as the final tie-breaker.
bool ordered_before(const model::Project& a, const model::Project& b, const std::vector<OrderKey>& order);

}  // namespace focus::upstream
