// A table is for a terminal: names others wrote (a colleague, a hostile
// server) reach it as text that can neither break its lines nor send the
// terminal a command. JSON and CSV carry the same text unchanged.
#include "cli/output.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <sstream>

using focus::cli::Column;
using focus::cli::displayable;
using focus::cli::Format;
using focus::cli::print_object;
using focus::cli::print_rows;
using nlohmann::json;

namespace {

const std::string kHostile = "evil\x1b]0;pwned\x07 \x1b[31mred\n\tx\xc2\x9b" "1\x7f";

std::string printed(Format format, const json& row) {
  std::ostringstream out;
  print_rows(out, format, {{"id", "id", true}, {"name", "name"}}, {row});
  return out.str();
}

bool has_control(const std::string& text) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if ((c < 0x20 && c != '\n') || c == 0x7f) return true;
    if (c == 0xc2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) >= 0x80 &&
        static_cast<unsigned char>(text[i + 1]) <= 0x9f)
      return true;
  }
  return false;
}

}  // namespace

TEST_CASE("control characters are written as escapes; other text is left alone") {
  CHECK(displayable(kHostile) == "evil\\x1b]0;pwned\\x07 \\x1b[31mred\\n\\tx\\u009b1\\x7f");
  CHECK(displayable("Café → ünïcode, \"quoted\", back\\slash") == "Café → ünïcode, \"quoted\", back\\slash");
  CHECK(displayable("") == "");
  CHECK(displayable("\xc2\xa0non-breaking") == "\xc2\xa0non-breaking");  // U+00A0 is not a control
}

TEST_CASE("a table row stays one line with no control character; CSV and JSON keep the text") {
  const json row = {{"id", 7}, {"name", kHostile}};
  const std::string table = printed(Format::table, row);
  CHECK_FALSE(has_control(table));
  CHECK(std::count(table.begin(), table.end(), '\n') == 2);  // the header and the row
  CHECK(table.find("evil\\x1b]0;pwned") != std::string::npos);
  CHECK(printed(Format::csv, row).find(kHostile) != std::string::npos);
  CHECK(json::parse(printed(Format::json, row))[0]["name"] == kHostile);
}

TEST_CASE("key: value lines escape both sides") {
  std::ostringstream out;
  print_object(out, Format::table, {{"na\x1bme", kHostile}});
  CHECK_FALSE(has_control(out.str()));
  CHECK(out.str() == "na\\x1bme: " + displayable(kHostile) + "\n");
}
