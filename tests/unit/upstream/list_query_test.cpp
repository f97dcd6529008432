#include "upstream/list_query.hpp"

#include <doctest/doctest.h>

#include <limits>

using namespace focus;
using namespace focus::upstream;
using namespace focus::model;

namespace {

ListQuery parse(const char* target, std::int64_t max_per_page = 200) {
  return parse_list_query(*http::parse_target(target), max_per_page);
}

std::string error_of(const char* target) {
  try {
    parse(target);
  } catch (const QueryError& e) {
    return e.what();
  }
  return "(accepted)";
}

}  // namespace

TEST_CASE("defaults: page 1, 50 per page, active only, by id") {
  auto q = parse("/p");
  CHECK(q.paging.page == 1);
  CHECK(q.paging.per_page == 50);
  CHECK(q.archived == ArchivedScope::active_only);
  CHECK(q.paging.order.empty());
}

TEST_CASE("per_page is capped; order_by takes several keys and '-'") {
  auto q = parse("/p?per_page=500&order_by=-updated_at&order_by=name", 200);
  CHECK(q.paging.per_page == 200);
  REQUIRE(q.paging.order.size() == 2);
  CHECK(q.paging.order[0].field == OrderKey::Field::updated_at);
  CHECK(q.paging.order[0].descending);
  CHECK_FALSE(q.paging.order[1].descending);
}

TEST_CASE("legacy date names stand in for the new ones") {
  auto q = parse("/p?date_overlap_start=2026-01-01&date_overlap_end=2026-02-01");
  CHECK(format_date(*q.start_date) == "2026-01-01");
  CHECK(format_date(*q.end_date) == "2026-02-01");
}

TEST_CASE("bad parameters are refused naming the parameter") {
  CHECK(error_of("/p?page=0") == "query parameter 'page' must be 1 or more");
  CHECK(error_of("/p?per_page=ten") == "query parameter 'per_page' must be an integer, got 'ten'");
  CHECK(error_of("/p?archived=yes") == "query parameter 'archived' must be true, false or empty, got 'yes'");
  CHECK(error_of("/p?tag_id=1,x") == "query parameter 'tag_id' must be an integer, got 'x'");
  CHECK(error_of("/p?end_date=2026-02-30") == "query parameter 'end_date' must be a date (YYYY-MM-DD), got '2026-02-30'");
}

TEST_CASE("date overlap treats an open project range as unbounded") {
  model::Project p;
  p.start_date = parse_date("2026-03-01");
  auto q = parse("/p?start_date=2026-01-01&end_date=2026-02-01");
  CHECK_FALSE(matches(p, q));  // starts after the window
  p.start_date.reset();
  CHECK(matches(p, q));  // open start, open end
  p.end_date = parse_date("2025-12-31");
  CHECK_FALSE(matches(p, q));  // ended before the window
}

TEST_CASE("a page far past the end is past the end, not an overflow") {
  // Found by fuzz_list_query: (page - 1) * per_page overflowed for page=555555504444444440.
  CHECK(parse("/p?page=3&per_page=7").paging.offset() == 14);
  CHECK(parse("/p").paging.offset() == 0);
  CHECK(parse("/p?page=555555504444444440").paging.offset() == std::numeric_limits<std::int64_t>::max());
  CHECK(parse("/p?page=9223372036854775807&per_page=200").paging.offset() == std::numeric_limits<std::int64_t>::max());
  CHECK(parse("/p?page=46116860184273879&per_page=200").paging.offset() == 9223372036854775600);
}
