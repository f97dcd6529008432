#include "cli/output.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ostream>
#include <stdexcept>
#include <sys/ioctl.h>
#include <unistd.h>

namespace focus::cli {

using nlohmann::json;

std::string cell_text(const json& v) {
  if (v.is_null()) return "";
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "yes" : "no";
  if (v.is_number_float()) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.2f", v.get<double>());
    return buf;
  }
  if (v.is_array()) {
    std::string out;
    for (const auto& e : v) out += (out.empty() ? "" : ",") + cell_text(e);
    return out;
  }
  return v.dump();
}

std::string displayable(const std::string& text) {
  auto is_control = [](unsigned char c) { return c < 0x20 || c == 0x7F; };
  // C1 controls are U+0080..U+009F: 0xC2 then 0x80..0x9F in UTF-8.
  auto c1_at = [&](std::size_t i) {
    return static_cast<unsigned char>(text[i]) == 0xC2 && i + 1 < text.size() &&
           static_cast<unsigned char>(text[i + 1]) >= 0x80 && static_cast<unsigned char>(text[i + 1]) <= 0x9F;
  };
  bool clean = true;
  for (std::size_t i = 0; i < text.size() && clean; ++i) clean = !is_control(static_cast<unsigned char>(text[i])) && !c1_at(i);
  if (clean) return text;
  std::string out;
  char hex[8];
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '\n') out += "\\n";
    else if (c == '\t') out += "\\t";
    else if (c == '\r') out += "\\r";
    else if (is_control(c)) {
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    } else if (c1_at(i)) {
      std::snprintf(hex, sizeof hex, "\\u%04x", static_cast<unsigned char>(text[++i]));
      out += hex;
    } else {
      out += text[i];
    }
  }
  return out;
}

namespace {

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

// Display width in code points (good enough for names; no East Asian width).
std::size_t width_of(const std::string& s) {
  return static_cast<std::size_t>(std::count_if(s.begin(), s.end(), [](unsigned char c) { return (c & 0xC0) != 0x80; }));
}

std::string cut(const std::string& s, std::size_t width) {
  if (width_of(s) <= width) return s;
  if (width == 0) return "";
  std::string out;
  std::size_t n = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if ((c & 0xC0) != 0x80 && ++n > width - 1) break;
    out += s[i];
  }
  return out + "\u2026";
}

std::string pad(const std::string& s, std::size_t width, bool right) {
  std::string space(width > width_of(s) ? width - width_of(s) : 0, ' ');
  return right ? space + s : s + space;
}

void print_table(std::ostream& out, const std::vector<Column>& columns, const std::vector<json>& rows) {
  std::vector<std::vector<std::string>> cells;
  std::vector<std::size_t> widths;
  std::vector<std::string> titles;
  for (const auto& c : columns) titles.push_back(displayable(c.title));
  for (const auto& t : titles) widths.push_back(width_of(t));
  for (const auto& row : rows) {
    std::vector<std::string> line;
    for (std::size_t i = 0; i < columns.size(); ++i) {
      auto it = row.find(columns[i].key);
      line.push_back(it == row.end() ? "" : displayable(cell_text(*it)));
      widths[i] = std::max(widths[i], width_of(line.back()));
    }
    cells.push_back(std::move(line));
  }
  // Too wide: the widest text columns give way first, down to 8 characters.
  const int columns_wide = terminal_width();
  const std::size_t available = columns_wide > 0 ? static_cast<std::size_t>(columns_wide) : SIZE_MAX;
  auto total = [&] {
    std::size_t t = 0;
    for (auto w : widths) t += w + 2;
    return t;
  };
  while (total() > available) {
    std::size_t widest = columns.size();
    for (std::size_t i = 0; i < columns.size(); ++i)
      if (!columns[i].number && widths[i] > 8 && (widest == columns.size() || widths[i] > widths[widest])) widest = i;
    if (widest == columns.size()) break;
    --widths[widest];
  }
  const bool bold = use_colour();
  std::string header;
  for (std::size_t i = 0; i < columns.size(); ++i)
    header += pad(cut(titles[i], widths[i]), widths[i], columns[i].number) + (i + 1 < columns.size() ? "  " : "");
  while (!header.empty() && header.back() == ' ') header.pop_back();
  out << (bold ? "\033[1m" + header + "\033[0m" : header) << "\n";
  for (const auto& line : cells) {
    std::string text;
    for (std::size_t i = 0; i < columns.size(); ++i)
      text += pad(cut(line[i], widths[i]), widths[i], columns[i].number) + (i + 1 < columns.size() ? "  " : "");
    while (!text.empty() && text.back() == ' ') text.pop_back();
    out << text << "\n";
  }
}

json select(const json& row, const std::vector<Column>& columns) {
  json out = json::object();
  for (const auto& c : columns) out[c.key] = row.contains(c.key) ? row.at(c.key) : json(nullptr);
  return out;
}

}  // namespace

std::optional<Format> parse_format(const std::string& name) {
  if (name == "table") return Format::table;
  if (name == "json") return Format::json;
  if (name == "ndjson") return Format::ndjson;
  if (name == "csv") return Format::csv;
  if (name == "html") return Format::html;
  return std::nullopt;
}

int terminal_width() {
  winsize ws{};
  if (::isatty(STDOUT_FILENO) && ::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  if (const char* c = std::getenv("COLUMNS")) {
    int n = std::atoi(c);
    if (n > 0) return n;
  }
  return 0;  // not a terminal: lines as long as they need
}

bool use_colour() { return ::isatty(STDOUT_FILENO) && !std::getenv("NO_COLOR"); }

void print_rows(std::ostream& out, Format format, const std::vector<Column>& columns, const std::vector<json>& rows) {
  switch (format) {
    case Format::table:
      print_table(out, columns, rows);
      return;
    case Format::json: {
      json all = json::array();
      for (const auto& r : rows) all.push_back(select(r, columns));
      out << all.dump(2) << "\n";
      return;
    }
    case Format::ndjson:
      for (const auto& r : rows) out << select(r, columns).dump() << "\n";
      return;
    case Format::csv: {
      std::string line;
      for (const auto& c : columns) line += (line.empty() ? "" : ",") + csv_field(c.key);
      out << line << "\r\n";
      for (const auto& r : rows) {
        line.clear();
        for (std::size_t i = 0; i < columns.size(); ++i) {
          auto it = r.find(columns[i].key);
          line += (i ? "," : "") + csv_field(it == r.end() ? "" : cell_text(*it));
        }
        out << line << "\r\n";
      }
      return;
    }
    case Format::html:
      break;
  }
  throw std::logic_error("print_rows: HTML is written by focusctl report alone");
}

void print_object(std::ostream& out, Format format, const json& object) {
  if (format == Format::html) throw std::logic_error("print_object: HTML is written by focusctl report alone");
  if (format == Format::json) {
    out << object.dump(2) << "\n";
    return;
  }
  if (format == Format::ndjson) {
    out << object.dump() << "\n";
    return;
  }
  std::vector<Column> columns;
  for (const auto& [k, v] : object.items()) columns.push_back({k, k, v.is_number()});
  if (format == Format::csv) {
    print_rows(out, format, columns, {object});
    return;
  }
  std::size_t w = 0;
  for (const auto& [k, v] : object.items()) w = std::max(w, width_of(displayable(k)));
  for (const auto& [k, v] : object.items())
    out << pad(displayable(k) + ":", w + 1, false) << " " << displayable(v.is_object() ? v.dump() : cell_text(v)) << "\n";
}

}  // namespace focus::cli
