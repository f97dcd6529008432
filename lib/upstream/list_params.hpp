#pragma once
// The query parameters of the Focus list (and of children/parents), as typed
// values, and their encoding into a query string exactly as the reference
// spells them: arrays as repeated keys, `archived=` (empty) for "all",
// dates as YYYY-MM-DD. Plain data; any thread.

#include "core/time.hpp"
#include "model/project.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace focus::upstream {

struct PageParams {
  std::optional<std::int64_t> page;      // from 1
  std::optional<std::int64_t> per_page;
  std::vector<std::string> order_by;     // "name", "-updated_at", ...
};

enum class ArchivedFilter {
  unset,          // parameter left out: active only
  active_only,    // archived=false
  archived_only,  // archived=true
  all,            // archived= (empty)
};

struct ListParams {
  PageParams paging;
  ArchivedFilter archived = ArchivedFilter::unset;
  std::optional<bool> pinned;
  std::optional<bool> is_private;
  std::optional<std::string> name;
  std::vector<model::Id> client_ids, creator_ids, tag_ids, project_ids, user_ids;
  bool include_rates = false;
  std::optional<Date> start_date, end_date;
};

// "?..." (or "" when nothing is set), percent-encoded.
std::string to_query(const ListParams& params);
std::string to_query(const PageParams& params);

}  // namespace focus::upstream
