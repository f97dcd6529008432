#pragma once
// The Focus list's query parameters as a server reads them from a request:
// parsed and checked into a model::ListQuery, as focus-sim serves them and
// focussync's local API mirrors them, from one definition. Throws QueryError
// naming the parameter (a 400 for both). Pure functions; any thread.

#include "http/target.hpp"
#include "model/list_query.hpp"

#include <stdexcept>

namespace focus::upstream {

// A query parameter that is not what the reference allows.
class QueryError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// per_page above max_per_page is capped silently, as the real service does.
model::Paging parse_paging(const http::Target& target, std::int64_t max_per_page);
model::ListQuery parse_list_query(const http::Target& target, std::int64_t max_per_page);

}  // namespace focus::upstream
