// Text at the boundaries: what the daemon stores, logs and encodes is valid
// UTF-8 whatever it was given, cut on character boundaries, secrets gone.
#include "core/utf8.hpp"

#include <nlohmann/json.hpp>

#include <doctest/doctest.h>

using namespace focus;

namespace {
const std::string kFffd = "\xEF\xBF\xBD";
}

TEST_CASE("valid UTF-8 passes through unchanged") {
  for (std::string s : {"", "plain ascii", "ééé", "日本語", "emoji \xF0\x9F\x98\x80", "\xF4\x8F\xBF\xBF"}) {
    CAPTURE(s);
    CHECK(is_valid_utf8(s));
    CHECK(valid_utf8(s) == s);
  }
}

TEST_CASE("invalid sequences, overlongs, surrogates and out-of-range code points become U+FFFD") {
  struct Case {
    std::string in, out;
  } cases[] = {
      {"caf\xE9", "caf" + kFffd},                             // Latin-1
      {"\xC3", kFffd},                                        // cut after the lead byte
      {"\xC3" "A", kFffd + "A"},                              // the byte after a cut sequence is kept
      {"\xE2\x82", kFffd},                                    // two of three bytes
      {"\xE2\x82\xE2\x82\xAC", kFffd + "\xE2\x82\xAC"},       // a cut one, then a whole euro sign
      {"\xC0\xAF", kFffd},                                    // overlong '/'
      {"\xE0\x80\xAF", kFffd},                                // overlong, three bytes
      {"\xED\xA0\x80", kFffd},                                // a UTF-16 surrogate, encoded
      {"\xF4\x90\x80\x80", kFffd},                            // past U+10FFFF
      {"\x80\x80\x80x", kFffd + "x"},                         // stray continuation bytes
      {"\xFF\xFE", kFffd + kFffd},                            // never valid
  };
  for (const auto& c : cases) {
    CAPTURE(c.in);
    CHECK_FALSE(is_valid_utf8(c.in));
    CHECK(valid_utf8(c.in) == c.out);
    CHECK(is_valid_utf8(valid_utf8(c.in)));
    // And the JSON encoder, which throws on invalid UTF-8, takes the result.
    CHECK_NOTHROW((void)nlohmann::json(valid_utf8(c.in)).dump());
  }
}

TEST_CASE("a cut falls on a character boundary") {
  const std::string s = "aé€😀";  // 1 + 2 + 3 + 4 bytes
  CHECK(cut_utf8(s, 100) == s);
  CHECK(cut_utf8(s, 1) == "a");
  CHECK(cut_utf8(s, 2) == "a");  // not half an é
  CHECK(cut_utf8(s, 3) == "aé");
  CHECK(cut_utf8(s, 5) == "aé");
  CHECK(cut_utf8(s, 6) == "aé€");
  CHECK(cut_utf8(s, 9) == "aé€");
  CHECK(cut_utf8(s, 10) == s);
  CHECK(cut_utf8(s, 0).empty());
  for (std::size_t n = 0; n <= s.size(); ++n) CHECK(is_valid_utf8(cut_utf8(s, n)));
}

TEST_CASE("bounded text: one readable line, at most N bytes, secrets redacted before the cut") {
  std::string many(400, '\0');
  for (std::size_t i = 0; i < many.size(); i += 2) many.replace(i, 2, "é");
  auto t = bounded_text(many, 300);
  CHECK(t.size() <= 300);
  CHECK(is_valid_utf8(t));
  CHECK(t.ends_with("..."));
  CHECK(bounded_text("line one\nline\ttwo\r", 100) == "line one line two ");
  CHECK(bounded_text("caf\xE9", 100) == "caf" + kFffd);

  // A secret that straddles the cut is redacted whole first: no part of it
  // survives, as it would if the text were cut and then searched.
  const std::string secret = "s3cr3t-api-key-0123456789";
  Redactor redact = [&](std::string s) {
    for (auto pos = s.find(secret); pos != std::string::npos; pos = s.find(secret)) s.replace(pos, secret.size(), "***");
    return s;
  };
  std::string text = std::string(20, 'x') + secret + " and more";
  auto cut = bounded_text(text, 30, redact);
  CHECK(cut.size() <= 30);
  CHECK(cut.find("s3cr3t") == std::string::npos);
  CHECK(cut.find("s3cr") == std::string::npos);
  CHECK(cut == std::string(20, 'x') + "*** and...");
}

TEST_CASE("is_valid_utf8 agrees with the decoder on every one- and two-byte text, and on three- and four-byte leads") {
  // The oracle: a text is valid when the replacing decoder gives it back unchanged.
  auto agrees = [](const std::string& s) { return is_valid_utf8(s) == (valid_utf8(s) == s); };
  int disagreements = 0;
  for (int a = 0; a < 256; ++a)
    for (int b = 0; b < 256; ++b) {
      const std::string pair{static_cast<char>(a), static_cast<char>(b)};
      // Alone, after a run of ASCII the fast path skips, and cut short.
      for (const std::string& s : {pair, std::string("abcdefgh") + pair + "ij", pair.substr(0, 1)})
        if (!agrees(s)) ++disagreements;
      for (int lead : {0xE0, 0xE1, 0xED, 0xEF, 0xF0, 0xF1, 0xF4, 0xF5}) {
        const std::string three{static_cast<char>(lead), static_cast<char>(a), static_cast<char>(b)};
        if (!agrees(three) || !agrees(three + "\x80") || !agrees(three + "\xBF") || !agrees("12345678" + three + "z"))
          ++disagreements;
      }
    }
  CHECK(disagreements == 0);
}
