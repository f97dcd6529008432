// Small text helpers every layer needs: ASCII lower-casing (for names and
// hosts compared without case, never for display), parsing a whole string
// as an integer, and dropping the JSON whitespace a parser's raw token may
// end with. Header-only and pure; safe from any thread.
//
// parse_integer accepts exactly what std::from_chars does for base 10 (an
// optional '-', digits) and nothing around it: " 12", "12x", "" and values
// that do not fit T are all nullopt. Each caller words its own error.
#pragma once

#include <algorithm>
#include <charconv>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>

namespace focus {

// Lower-cases ASCII letters only; other bytes (UTF-8 included) pass through.
inline std::string ascii_lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c); });
  return out;
}

// `text` without the JSON whitespace (space, tab, CR, LF) at its end: what
// simdjson's raw_json and raw_json_token views may carry after a value.
inline std::string_view without_trailing_json_space(std::string_view text) {
  while (!text.empty() && (text.back() == ' ' || text.back() == '\n' || text.back() == '\r' || text.back() == '\t'))
    text.remove_suffix(1);
  return text;
}

template <class T = std::int64_t>
std::optional<T> parse_integer(std::string_view text) {
  static_assert(std::is_integral_v<T>);
  T value{};
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc{} || ptr != end || text.empty()) return std::nullopt;
  return value;
}

}  // namespace focus
