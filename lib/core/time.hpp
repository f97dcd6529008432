#pragma once
// Time values as the Focus API writes them: instants in RFC 3339
// ("2026-01-31T09:15:00Z", "...+02:00", fractional seconds allowed) and
// calendar dates ("2026-01-31"). Instants are held in UTC with microsecond
// precision and always written back in one canonical form (UTC, "Z", the
// fraction only when it is not zero), so two spellings of one instant compare
// and hash equal. Pure functions; any thread.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace focus {

using Timestamp = std::chrono::sys_time<std::chrono::microseconds>;
using Date = std::chrono::year_month_day;

// Parses an RFC 3339 date-time with a "Z" or "+hh:mm"/"-hh:mm" offset.
// Returns nullopt for anything else (no error detail: callers name the field).
std::optional<Timestamp> parse_rfc3339(std::string_view text);

// "YYYY-MM-DDThh:mm:ss[.ffffff]Z".
std::string format_rfc3339(Timestamp t);

// Parses "YYYY-MM-DD" (a valid calendar date); nullopt otherwise.
std::optional<Date> parse_date(std::string_view text);

std::string format_date(Date d);

// HTTP's Date header (RFC 9110 IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"),
// which is how a server tells its clock. Other spellings -> nullopt.
std::optional<Timestamp> parse_http_date(std::string_view text);
std::string format_http_date(Timestamp t);

// The current time at microsecond precision.
Timestamp now_utc();

}  // namespace focus
