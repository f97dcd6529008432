#include "sim/quota.hpp"

#include <doctest/doctest.h>

using namespace focus::sim;
using namespace std::chrono_literals;

TEST_CASE("a fixed window: counts down, refuses without counting, resets after the window") {
  QuotaBook book({3, 60s});
  auto t0 = QuotaBook::Clock::time_point{} + 1000s;
  CHECK(book.spend("u", 1, t0)->remaining == 2);
  CHECK(book.spend("u", 1, t0 + 10s)->remaining == 1);
  auto last = book.spend("u", 1, t0 + 20s);
  CHECK(last->remaining == 0);
  CHECK(last->resets_in_seconds == 40);
  CHECK_FALSE(book.spend("u", 1, t0 + 30s));
  CHECK(book.peek("u", 1, t0 + 59s).remaining == 0);
  CHECK(book.peek("u", 1, t0 + 59s).resets_in_seconds == 1);
  CHECK(book.spend("u", 1, t0 + 60s)->remaining == 2);
}

TEST_CASE("users and organizations have separate windows") {
  QuotaBook book({1, 60s});
  auto t = QuotaBook::Clock::time_point{} + 5s;
  CHECK(book.spend("u", 1, t));
  CHECK_FALSE(book.spend("u", 1, t));
  CHECK(book.spend("u", 2, t));
  CHECK(book.spend("v", 1, t));
}
