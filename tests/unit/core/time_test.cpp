#include "core/time.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <cstdio>
#include <string>

using namespace focus;
using namespace std::chrono;

TEST_CASE("an RFC 3339 offset names the same instant as its UTC spelling") {
  auto utc = parse_rfc3339("2026-01-31T08:15:00Z");
  auto plus2 = parse_rfc3339("2026-01-31T10:15:00+02:00");
  auto minus5 = parse_rfc3339("2026-01-31T03:15:00-05:00");
  REQUIRE(utc);
  CHECK(plus2 == utc);
  CHECK(minus5 == utc);
  CHECK(format_rfc3339(*plus2) == "2026-01-31T08:15:00Z");
}

TEST_CASE("fractional seconds are kept to the microsecond and written only when present") {
  auto t = parse_rfc3339("2026-01-31T08:15:00.123456789Z");
  REQUIRE(t);
  CHECK(format_rfc3339(*t) == "2026-01-31T08:15:00.123456Z");
  CHECK(format_rfc3339(*parse_rfc3339("2026-01-31T08:15:00.5Z")) == "2026-01-31T08:15:00.500000Z");
}

TEST_CASE("an offset can move the instant across a day and a year boundary") {
  auto t = parse_rfc3339("2027-01-01T01:30:00+02:00");
  REQUIRE(t);
  CHECK(format_rfc3339(*t) == "2026-12-31T23:30:00Z");
}

TEST_CASE("malformed date-times are refused") {
  for (const char* bad : {"", "2026-01-31", "2026-01-31T08:15:00", "2026-02-30T00:00:00Z",
                          "2026-01-31T24:00:00Z", "2026-01-31T08:15:00+0200", "2026-01-31T08:15:00Zjunk",
                          "26-01-31T08:15:00Z", "2026-01-31T08:15:00.Z", "yesterday"}) {
    INFO(bad);
    CHECK_FALSE(parse_rfc3339(bad));
  }
}

TEST_CASE("dates are calendar dates") {
  auto d = parse_date("2028-02-29");
  REQUIRE(d);
  CHECK(format_date(*d) == "2028-02-29");
  CHECK_FALSE(parse_date("2027-02-29"));
  CHECK_FALSE(parse_date("2027-13-01"));
  CHECK_FALSE(parse_date("2027-01-01T00:00:00Z"));
}

TEST_CASE("an HTTP Date header reads as the instant it names, and is written back the same way") {
  auto t = parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT");
  REQUIRE(t);
  CHECK(format_rfc3339(*t) == "1994-11-06T08:49:37Z");
  CHECK(format_http_date(*t) == "Sun, 06 Nov 1994 08:49:37 GMT");
  auto now = floor<seconds>(now_utc());
  CHECK(parse_http_date(format_http_date(now)) == now);
  for (const char* bad : {"", "Sun, 06 Nov 1994 08:49:37", "Sunday, 06-Nov-94 08:49:37 GMT", "Sun, 31 Feb 1994 08:49:37 GMT",
                          "Sun, 06 Foo 1994 08:49:37 GMT", "Sun, 06 Nov 1994 25:49:37 GMT"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_http_date(bad).has_value());
  }
}

// The digit-by-digit writers against printf's spelling, which they replaced:
// random instants over the years RFC 3339 can spell, and some outside them.
TEST_CASE("times and dates are spelt as printf spells them, at every year") {
  auto printf_spelling = [](Timestamp t) {
    auto day = floor<days>(t);
    year_month_day ymd{day};
    hh_mm_ss<microseconds> tod{t - day};
    char buf[64];
    int n = std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d", int(ymd.year()), unsigned(ymd.month()),
                          unsigned(ymd.day()), int(tod.hours().count()), int(tod.minutes().count()),
                          int(tod.seconds().count()));
    if (auto us = tod.subseconds().count(); us != 0) n += std::snprintf(buf + n, sizeof buf - n, ".%06lld", (long long)us);
    return std::string(buf, n) + "Z";
  };
  std::uint64_t state = 0x9e3779b97f4a7c15;
  auto next = [&] { return state = state * 6364136223846793005ULL + 1442695040888963407ULL; };
  const auto year_zero = sys_days{year{0} / 1 / 1}, year_ten_thousand = sys_days{year{10000} / 1 / 1};
  const auto span = duration_cast<microseconds>(year_ten_thousand - year_zero).count();
  for (int i = 0; i < 20000; ++i) {
    auto us = microseconds(static_cast<std::int64_t>(next() >> 1) % (span + 2 * 86400000000LL) - 86400000000LL);
    Timestamp t{duration_cast<Timestamp::duration>(year_zero.time_since_epoch() + us)};
    if (i % 3 == 0) t = floor<seconds>(t);  // whole seconds: no fraction written
    REQUIRE(format_rfc3339(t) == printf_spelling(t));
    const Date d{floor<days>(t)};
    REQUIRE(format_date(d) == printf_spelling(t).substr(0, printf_spelling(t).find('T')));
  }
  CHECK(format_rfc3339(Timestamp{sys_days{year{-1} / 12 / 31}.time_since_epoch()}) == "-001-12-31T00:00:00Z");
  CHECK(format_date(year{10000} / 1 / 2) == "10000-01-02");
}
