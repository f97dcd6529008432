#include "model/json_limits.hpp"

#include "core/utf8.hpp"
#include "model/decode_error.hpp"

#include <optional>

namespace focus::model {

bool nests_deeper_than(std::string_view text, int max_depth) {
  int depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;  // the escaped character cannot end the string
      else if (c == '"') in_string = false;
      continue;
    }
    switch (c) {
      case '"': in_string = true; break;
      case '[':
      case '{':
        if (++depth > max_depth) return true;
        break;
      case ']':
      case '}':
        if (depth > 0) --depth;
        break;
      default: break;
    }
  }
  return false;
}

namespace {

// The value of the "\uXXXX" escape at text[i] ('\\' there), if it is one.
std::optional<unsigned> escape_at(std::string_view text, std::size_t i) {
  if (i + 6 > text.size() || text[i] != '\\' || text[i + 1] != 'u') return std::nullopt;
  unsigned v = 0;
  for (std::size_t k = i + 2; k < i + 6; ++k) {
    char c = text[k];
    unsigned d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : 16;
    if (d == 16) return std::nullopt;
    v = v * 16 + d;
  }
  return v;
}

bool is_high(unsigned v) { return v >= 0xD800 && v <= 0xDBFF; }
bool is_low(unsigned v) { return v >= 0xDC00 && v <= 0xDFFF; }

}  // namespace

std::string repaired_json_text(std::string_view raw) {
  std::string out;
  repair_json_text(raw, out);
  return out;
}

void repair_json_text(std::string_view raw, std::string& out, std::size_t spare) {
  std::string valid;
  if (!is_valid_utf8(raw)) valid = valid_utf8(raw);
  std::string_view text = valid.empty() ? raw : std::string_view(valid);
  out.clear();
  out.reserve(text.size() + spare);
  if (text.find("\\u") == std::string_view::npos) {
    out.append(text);
    return;
  }
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (!in_string) {
      if (c == '"') in_string = true;
      out.push_back(c);
      continue;
    }
    if (c == '"') in_string = false;
    if (c != '\\') {
      out.push_back(c);
      continue;
    }
    auto v = escape_at(text, i);
    if (!v) {  // another escape: copied with the character it escapes
      out.push_back(c);
      if (i + 1 < text.size()) out.push_back(text[++i]);
      continue;
    }
    if (is_high(*v)) {
      auto next = escape_at(text, i + 6);
      if (next && is_low(*next)) {
        out.append(text.substr(i, 12));
        i += 11;
        continue;
      }
    }
    out.append(is_high(*v) || is_low(*v) ? std::string_view("\\ufffd") : text.substr(i, 6));
    i += 5;
  }
}

nlohmann::json parse_bounded(std::string_view text) {
  if (nests_deeper_than(text)) return nlohmann::json(nlohmann::json::value_t::discarded);
  return nlohmann::json::parse(repaired_json_text(text), nullptr, /*allow_exceptions=*/false);
}

namespace {

// nlohmann's what() reads "[json.exception.parse_error.101] parse error at
// line 1, column 9: syntax error while parsing value - invalid literal; last
// read: '...'". A client needs the reason and where; not the library's
// code, nor its own bytes quoted back (they may not even be UTF-8).
// Its byte counts from 1, and is one past the end when the text ran out.
std::string parse_error_reason(const nlohmann::json::parse_error& e, std::size_t text_size) {
  std::string_view what = e.what();
  if (auto colon = what.find(": "); colon != std::string_view::npos) what.remove_prefix(colon + 2);
  if (auto read = what.find("; last read"); read != std::string_view::npos) what = what.substr(0, read);
  if (auto dash = what.rfind(" - "); dash != std::string_view::npos) what.remove_prefix(dash + 3);
  return std::string(what) + (e.byte > text_size ? " at the end" : " at byte " + std::to_string(e.byte));
}

}  // namespace

nlohmann::json parse_body(std::string_view text) {
  if (nests_deeper_than(text))
    throw DecodeError("", "the body nests deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw DecodeError("", "the body is not valid JSON: " + parse_error_reason(e, text.size()));
  } catch (const nlohmann::json::out_of_range&) {
    // A number past a double's range (1e400): the body's fault, not ours.
    throw DecodeError("", "the body is not valid JSON: it holds a number out of range");
  }
}

}  // namespace focus::model
