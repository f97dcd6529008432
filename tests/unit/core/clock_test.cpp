// The Clock seam: a ManualClock moves only when told, both of its clocks
// together when time passes, the wall clock alone when it is set; a steady
// deadline is shown at the wall time it falls at.
#include "core/clock.hpp"

#include <doctest/doctest.h>

#include <stdexcept>

using namespace focus;
using namespace std::chrono;

TEST_CASE("a manual clock stands still until advanced, and then both clocks move by as much") {
  ManualClock clock;
  CHECK(format_rfc3339(clock.now()) == "2026-01-01T00:00:00Z");
  const auto wall = clock.now();
  const auto steady = clock.steady_now();
  CHECK(clock.now() == wall);
  CHECK(clock.steady_now() == steady);
  clock.advance(minutes(90));
  CHECK(clock.now() - wall == minutes(90));
  CHECK(clock.steady_now() - steady == minutes(90));
  clock.advance(microseconds(1));
  CHECK(format_rfc3339(clock.now()) == "2026-01-01T01:30:00.000001Z");
  CHECK_THROWS_AS(clock.advance(-seconds(1)), std::invalid_argument);
}

TEST_CASE("setting the wall clock, even back, leaves the steady clock where it was") {
  ManualClock clock(*parse_rfc3339("2026-06-01T12:00:00Z"));
  const auto steady = clock.steady_now();
  clock.set(*parse_rfc3339("2026-05-31T12:00:00Z"));
  CHECK(format_rfc3339(clock.now()) == "2026-05-31T12:00:00Z");
  CHECK(clock.steady_now() == steady);
}

TEST_CASE("a steady deadline falls at the wall time as far ahead, or behind") {
  ManualClock clock;
  CHECK(clock.wall_time_of(clock.steady_now() + seconds(42)) == clock.now() + seconds(42));
  CHECK(clock.wall_time_of(clock.steady_now() - hours(1)) == clock.now() - hours(1));
  clock.set(clock.now() + hours(5));  // the wall clock jumps: the deadline is shown where it now falls
  CHECK(clock.wall_time_of(clock.steady_now() + seconds(42)) == clock.now() + seconds(42));
}

TEST_CASE("the system clock reads the system's time, one instance for the process") {
  const Clock& clock = SystemClock::instance();
  CHECK(&clock == &SystemClock::instance());
  auto before = now_utc();
  auto read = clock.now();
  CHECK(read >= before);
  CHECK(read - before < seconds(5));
  auto s1 = clock.steady_now();
  CHECK(clock.steady_now() >= s1);
}
