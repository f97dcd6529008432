#include "cli/markup.hpp"

#include "core/utf8.hpp"

#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace focus::cli {

namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

bool plain_name(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == ':'))
      return false;
  return true;
}

void check_name(std::string_view name) {
  if (!plain_name(name)) throw std::invalid_argument("markup: '" + std::string(name) + "' is not a plain tag or attribute name");
}

}  // namespace

std::string escape_html(std::string_view raw) {
  const std::string text = valid_utf8(raw);
  std::string out;
  out.reserve(text.size() + 16);
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      case '\t':
      case '\n': out += c; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) out += kReplacement;
        else out += c;
    }
  }
  return out;
}

std::string number_text(double value, int decimals) {
  if (!std::isfinite(value)) return "0";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
  std::string s = buf;
  if (s.find('.') != std::string::npos) {
    while (s.back() == '0') s.pop_back();
    if (s.back() == '.') s.pop_back();
  }
  return s == "-0" ? "0" : s;
}

void Markup::start_tag(std::string_view tag, Attributes attributes) {
  check_name(tag);
  out_ += '<';
  out_ += tag;
  for (const auto& [name, value] : attributes) {
    check_name(name);
    out_ += ' ';
    out_ += name;
    out_ += "=\"";
    out_ += escape_html(value);
    out_ += '"';
  }
}

Markup& Markup::open(std::string_view tag, Attributes attributes) {
  start_tag(tag, attributes);
  out_ += '>';
  open_.emplace_back(tag);
  return *this;
}

Markup& Markup::close() {
  if (open_.empty()) throw std::logic_error("markup: close() with no element open");
  out_ += "</" + open_.back() + ">";
  open_.pop_back();
  return *this;
}

Markup& Markup::text(std::string_view text) {
  out_ += escape_html(text);
  return *this;
}

Markup& Markup::element(std::string_view tag, Attributes attributes, std::string_view text) {
  open(tag, attributes);
  this->text(text);
  return close();
}

Markup& Markup::empty(std::string_view tag, Attributes attributes) {
  start_tag(tag, attributes);
  out_ += "/>";
  return *this;
}

Markup& Markup::style(const char* css) {
  if (std::string_view(css).find("</") != std::string_view::npos)
    throw std::invalid_argument("markup: a style sheet may not hold \"</\"");
  out_ += "<style>";
  out_ += css;
  out_ += "</style>";
  return *this;
}

std::string Markup::finish() const {
  if (!open_.empty()) throw std::logic_error("markup: <" + open_.back() + "> is still open");
  return "<!DOCTYPE html>\n" + out_ + "\n";
}

}  // namespace focus::cli
