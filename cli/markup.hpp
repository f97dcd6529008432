#pragma once
// HTML (and the SVG inside it) built so that nothing it is given can become
// markup. Project, client and tag names come from other people, so every
// text and attribute value is escaped (& < > " ' as entities, control
// characters and invalid UTF-8 as U+FFFD); tag and attribute names come from
// this program, never from data, and must be plain names (letters, digits,
// '-', ':'), else std::invalid_argument. Elements close in the order they
// were opened: close() names no tag, and finish() throws std::logic_error
// while one is still open, so the text is always balanced.
// A value; one thread.

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace focus::cli {

class Markup {
 public:
  using Attributes = std::initializer_list<std::pair<std::string_view, std::string>>;

  // <tag a="v"...>; its content follows until the matching close().
  Markup& open(std::string_view tag, Attributes attributes = {});
  Markup& close();
  // Escaped character data.
  Markup& text(std::string_view text);
  // <tag ...>text</tag>
  Markup& element(std::string_view tag, Attributes attributes, std::string_view text);
  // <tag .../> (HTML's void elements, SVG's empty ones).
  Markup& empty(std::string_view tag, Attributes attributes = {});
  // A style sheet this program wrote: a compile-time literal, never data.
  Markup& style(const char* css);

  // The document so far, with "<!DOCTYPE html>" first. Throws while an
  // element is open.
  std::string finish() const;

 private:
  void start_tag(std::string_view tag, Attributes attributes);
  std::string out_;
  std::vector<std::string> open_;
};

// `text` escaped for HTML text and attribute values.
std::string escape_html(std::string_view text);

// A number for an attribute or a label: at most `decimals` decimals, no
// trailing zeros ("12.5", "3", "0.25").
std::string number_text(double value, int decimals = 2);

}  // namespace focus::cli
