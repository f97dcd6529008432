#include "core/utf8.hpp"

#include <cstdint>
#include <cstring>

#include <boost/locale/utf.hpp>

namespace focus {
namespace {

namespace utf = boost::locale::utf;
using Traits = utf::utf_traits<char>;

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";

bool is_continuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

// Walks `text`, handing each valid character's bytes to `valid` and each
// invalid run to `invalid`; stops early when a callback answers false.
template <class Valid, class Invalid>
void walk(std::string_view text, Valid valid, Invalid invalid) {
  const char* p = text.data();
  const char* end = p + text.size();
  while (p < end) {
    const char* start = p;
    const utf::code_point c = Traits::decode(p, end);
    if (c != utf::illegal && c != utf::incomplete) {
      if (!valid(std::string_view(start, static_cast<std::size_t>(p - start)))) return;
      continue;
    }
    // One replacement for the bad lead byte and the stray continuation bytes
    // after it; a byte that may start a character is read again, so a cut
    // sequence followed by "A" keeps the "A".
    p = start + 1;
    while (p < end && is_continuation(*p)) ++p;
    if (!invalid()) return;
  }
}

}  // namespace

std::string valid_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  walk(
      text,
      [&](std::string_view ch) {
        out.append(ch);
        return true;
      },
      [&] {
        out.append(kReplacement);
        return true;
      });
  return out;
}

bool is_valid_utf8(std::string_view text) {
  // Most text is ASCII: it is checked eight bytes at a time, and each other
  // character by the rules of RFC 3629 (no overlong forms, no surrogates,
  // nothing past U+10FFFF), as walk() reads them.
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = p + text.size();
  auto continuation = [](unsigned char c) { return (c & 0xC0) == 0x80; };
  while (p < end) {
    if (end - p >= 8) {
      std::uint64_t word;
      std::memcpy(&word, p, 8);
      if (!(word & 0x8080808080808080ULL)) {
        p += 8;
        continue;
      }
    }
    const unsigned char c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    const std::ptrdiff_t left = end - p;
    if (c >= 0xC2 && c < 0xE0) {
      if (left < 2 || !continuation(p[1])) return false;
      p += 2;
    } else if (c >= 0xE0 && c < 0xF0) {
      const unsigned char low = c == 0xE0 ? 0xA0 : 0x80, high = c == 0xED ? 0x9F : 0xBF;
      if (left < 3 || p[1] < low || p[1] > high || !continuation(p[2])) return false;
      p += 3;
    } else if (c >= 0xF0 && c < 0xF5) {
      const unsigned char low = c == 0xF0 ? 0x90 : 0x80, high = c == 0xF4 ? 0x8F : 0xBF;
      if (left < 4 || p[1] < low || p[1] > high || !continuation(p[2]) || !continuation(p[3])) return false;
      p += 4;
    } else {
      return false;  // a continuation byte first, an overlong lead (C0, C1) or past F4
    }
  }
  return true;
}

std::string_view cut_utf8(std::string_view text, std::size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  std::size_t n = max_bytes;
  while (n > 0 && is_continuation(text[n])) --n;  // text[n] starts the first character left out
  return text.substr(0, n);
}

std::string bounded_text(std::string_view text, std::size_t max_bytes, const Redactor& redact) {
  std::string clean = valid_utf8(redact ? redact(std::string(text)) : std::string(text));
  for (char& c : clean)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) c = ' ';
  if (clean.size() <= max_bytes) return clean;
  constexpr std::string_view kMark = "...";
  if (max_bytes <= kMark.size()) return std::string(cut_utf8(clean, max_bytes));
  return std::string(cut_utf8(clean, max_bytes - kMark.size())) + std::string(kMark);
}

}  // namespace focus
