#include "core/duration.hpp"

#include <cctype>
#include <cstdint>

namespace focus {

std::optional<std::chrono::milliseconds> parse_duration(std::string_view s) {
  if (s.empty()) return std::nullopt;
  std::int64_t total = 0;
  std::size_t i = 0;
  while (i < s.size()) {
    std::int64_t n = 0;
    std::size_t digits = 0;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
      if (n > (INT64_MAX - 9) / 10) return std::nullopt;
      n = n * 10 + (s[i++] - '0');
      ++digits;
    }
    if (digits == 0) return std::nullopt;
    std::size_t unit_start = i;
    while (i < s.size() && std::isalpha(static_cast<unsigned char>(s[i]))) ++i;
    std::string_view unit = s.substr(unit_start, i - unit_start);
    std::int64_t scale = unit == "ms" ? 1 : unit == "s" ? 1000 : unit == "m" ? 60'000 : unit == "h" ? 3'600'000
                         : unit == "d" ? 86'400'000 : 0;
    if (scale == 0 || n > INT64_MAX / scale || total > INT64_MAX - n * scale) return std::nullopt;
    total += n * scale;
  }
  return std::chrono::milliseconds(total);
}

}  // namespace focus
