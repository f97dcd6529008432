#include "core/time.hpp"

#include <charconv>
#include <cstdio>

namespace focus {
namespace {

// Reads exactly `width` decimal digits at `pos`; advances `pos` on success.
bool read_digits(std::string_view s, std::size_t& pos, int width, int& out) {
  if (pos + width > s.size()) return false;
  int value = 0;
  for (int i = 0; i < width; ++i) {
    char c = s[pos + i];
    if (c < '0' || c > '9') return false;
    value = value * 10 + (c - '0');
  }
  out = value;
  pos += width;
  return true;
}

bool expect(std::string_view s, std::size_t& pos, char c) {
  if (pos < s.size() && s[pos] == c) {
    ++pos;
    return true;
  }
  return false;
}

std::optional<Date> read_date(std::string_view s, std::size_t& pos) {
  int y = 0, m = 0, d = 0;
  if (!read_digits(s, pos, 4, y) || !expect(s, pos, '-') || !read_digits(s, pos, 2, m) ||
      !expect(s, pos, '-') || !read_digits(s, pos, 2, d))
    return std::nullopt;
  Date date{std::chrono::year{y}, std::chrono::month{static_cast<unsigned>(m)},
            std::chrono::day{static_cast<unsigned>(d)}};
  if (!date.ok()) return std::nullopt;
  return date;
}

// Fractional seconds: any number of digits, kept to microseconds.
bool read_fraction(std::string_view s, std::size_t& pos, std::chrono::microseconds& out) {
  long long micros = 0;
  int digits = 0;
  while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
    if (digits < 6) micros = micros * 10 + (s[pos] - '0');
    ++digits;
    ++pos;
  }
  if (digits == 0) return false;
  for (int i = digits; i < 6; ++i) micros *= 10;
  out = std::chrono::microseconds{micros};
  return true;
}

}  // namespace

std::optional<Timestamp> parse_rfc3339(std::string_view s) {
  using namespace std::chrono;
  std::size_t pos = 0;
  auto date = read_date(s, pos);
  if (!date) return std::nullopt;
  if (pos >= s.size() || (s[pos] != 'T' && s[pos] != 't' && s[pos] != ' ')) return std::nullopt;
  ++pos;
  int hh = 0, mm = 0, ss = 0;
  if (!read_digits(s, pos, 2, hh) || !expect(s, pos, ':') || !read_digits(s, pos, 2, mm) ||
      !expect(s, pos, ':') || !read_digits(s, pos, 2, ss))
    return std::nullopt;
  if (hh > 23 || mm > 59 || ss > 60) return std::nullopt;  // 60: a leap second
  microseconds fraction{0};
  if (expect(s, pos, '.') && !read_fraction(s, pos, fraction)) return std::nullopt;
  minutes offset{0};
  if (expect(s, pos, 'Z') || expect(s, pos, 'z')) {
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int sign = s[pos] == '-' ? -1 : 1;
    ++pos;
    int oh = 0, om = 0;
    if (!read_digits(s, pos, 2, oh) || !expect(s, pos, ':') || !read_digits(s, pos, 2, om) ||
        oh > 23 || om > 59)
      return std::nullopt;
    offset = minutes{sign * (oh * 60 + om)};
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  auto local = sys_days{*date} + hours{hh} + minutes{mm} + seconds{ss} + fraction;
  return Timestamp{local - offset};
}

namespace {

// `value` as exactly `width` digits, zero-padded (value < 10^width).
char* put_digits(char* out, unsigned long long value, int width) {
  for (int i = width - 1; i >= 0; --i, value /= 10) out[i] = char('0' + value % 10);
  return out + width;
}

// "YYYY-MM-DD" at `out` (at least 16 bytes free): digit by digit for the
// years RFC 3339 can spell, 0 to 9999; any other year as printf spells it.
char* put_date(char* out, std::chrono::year_month_day ymd) {
  const int y = int(ymd.year());
  if (y < 0 || y > 9999)
    return out + std::snprintf(out, 16, "%04d-%02u-%02u", y, unsigned(ymd.month()), unsigned(ymd.day()));
  out = put_digits(out, unsigned(y), 4);
  *out++ = '-';
  out = put_digits(out, unsigned(ymd.month()), 2);
  *out++ = '-';
  return put_digits(out, unsigned(ymd.day()), 2);
}

}  // namespace

// Written digit by digit: a listing formats a few times per project, and
// snprintf was a tenth of encoding one.
std::string format_rfc3339(Timestamp t) {
  using namespace std::chrono;
  auto day = floor<days>(t);
  hh_mm_ss<microseconds> tod{t - day};
  char buf[40];
  char* out = put_date(buf, year_month_day{day});
  *out++ = 'T';
  out = put_digits(out, static_cast<unsigned long long>(tod.hours().count()), 2);
  *out++ = ':';
  out = put_digits(out, static_cast<unsigned long long>(tod.minutes().count()), 2);
  *out++ = ':';
  out = put_digits(out, static_cast<unsigned long long>(tod.seconds().count()), 2);
  if (auto us = tod.subseconds().count(); us != 0) {
    *out++ = '.';
    out = put_digits(out, static_cast<unsigned long long>(us), 6);
  }
  *out++ = 'Z';
  return std::string(buf, out);
}

std::optional<Date> parse_date(std::string_view s) {
  std::size_t pos = 0;
  auto date = read_date(s, pos);
  if (!date || pos != s.size()) return std::nullopt;
  return date;
}

std::string format_date(Date d) {
  char buf[16];
  return std::string(buf, put_date(buf, d));
}

namespace {
constexpr std::string_view kWeekdays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr std::string_view kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
}  // namespace

std::optional<Timestamp> parse_http_date(std::string_view s) {
  using namespace std::chrono;
  // "Sun, 06 Nov 1994 08:49:37 GMT": fixed width, 29 characters.
  if (s.size() != 29 || s.substr(3, 2) != ", " || s[7] != ' ' || s[11] != ' ' || s[16] != ' ' ||
      s.substr(25) != " GMT")
    return std::nullopt;
  std::size_t pos = 5;
  int d = 0, y = 0, hh = 0, mm = 0, ss = 0;
  if (!read_digits(s, pos, 2, d)) return std::nullopt;
  unsigned month = 0;
  for (unsigned i = 0; i < 12; ++i)
    if (s.substr(8, 3) == kMonths[i]) month = i + 1;
  pos = 12;
  if (month == 0 || !read_digits(s, pos, 4, y)) return std::nullopt;
  pos = 17;
  if (!read_digits(s, pos, 2, hh) || !expect(s, pos, ':') || !read_digits(s, pos, 2, mm) || !expect(s, pos, ':') ||
      !read_digits(s, pos, 2, ss) || hh > 23 || mm > 59 || ss > 60)
    return std::nullopt;
  Date date{year{y}, std::chrono::month{month}, day{static_cast<unsigned>(d)}};
  if (!date.ok()) return std::nullopt;
  return Timestamp{sys_days{date} + hours{hh} + minutes{mm} + seconds{ss}};
}

std::string format_http_date(Timestamp t) {
  using namespace std::chrono;
  auto day = floor<days>(t);
  year_month_day ymd{day};
  weekday wd{day};
  hh_mm_ss<seconds> tod{floor<seconds>(t - day)};
  char buf[40];
  int n = std::snprintf(buf, sizeof buf, "%s, %02u %s %04d %02d:%02d:%02d GMT", kWeekdays[wd.c_encoding()].data(),
                        unsigned(ymd.day()), kMonths[unsigned(ymd.month()) - 1].data(), int(ymd.year()),
                        int(tod.hours().count()), int(tod.minutes().count()), int(tod.seconds().count()));
  return std::string(buf, n);
}

Timestamp now_utc() {
  return std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
}

}  // namespace focus
