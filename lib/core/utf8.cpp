#include "core/utf8.hpp"

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
  bool ok = true;
  walk(text, [](std::string_view) { return true; }, [&] { return ok = false; });
  return ok;
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
