#pragma once
// Text at the boundaries: whatever comes from the upstream or a local client
// is made valid UTF-8 before it is stored, logged or encoded as JSON (whose
// encoder refuses anything else). Invalid sequences, overlong forms,
// surrogates and code points past U+10FFFF each become one U+FFFD; cuts fall
// on character boundaries; secrets are redacted before anything is cut, so a
// cut can never leave half a secret behind. The decoding itself is
// Boost.Locale's (header-only utf_traits). Pure functions; any thread.

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace focus {

// `text` with every invalid sequence replaced by U+FFFD (EF BF BD).
std::string valid_utf8(std::string_view text);
bool is_valid_utf8(std::string_view text);

// The longest prefix of `text` (valid UTF-8) of at most `max_bytes` bytes
// that ends on a character boundary.
std::string_view cut_utf8(std::string_view text, std::size_t max_bytes);

// One line for a log or an error message: `redact` applied first (to the
// whole text), then made valid, control characters as spaces, and cut to at
// most `max_bytes` bytes with "..." marking the cut (the marker counts).
using Redactor = std::function<std::string(std::string)>;
std::string bounded_text(std::string_view text, std::size_t max_bytes, const Redactor& redact = {});

}  // namespace focus
