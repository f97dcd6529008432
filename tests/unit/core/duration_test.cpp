#include "core/duration.hpp"

#include <doctest/doctest.h>

using namespace focus;
using namespace std::chrono;

TEST_CASE("durations as people write them") {
  CHECK(parse_duration("500ms") == milliseconds(500));
  CHECK(parse_duration("30s") == seconds(30));
  CHECK(parse_duration("5m") == minutes(5));
  CHECK(parse_duration("2h30m") == minutes(150));
  CHECK(parse_duration("1d") == hours(24));
  CHECK(parse_duration("1m30s250ms") == milliseconds(90'250));
}

TEST_CASE("anything else is refused") {
  for (const char* bad : {"", "5", "m", "5 m", "5min", "-5s", "1.5h", "99999999999999999999s", "5s!"}) {
    INFO(bad);
    CHECK_FALSE(parse_duration(bad));
  }
}
