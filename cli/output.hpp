#pragma once
// focusctl's output: rows of named columns, written as a table for people
// (fitted to the terminal's width, long cells cut with an ellipsis, bold
// headers only on a terminal and without NO_COLOR), or as JSON, NDJSON or CSV
// (RFC 4180, a header row, the columns in a stable order) for scripts.
// Asked to print HTML, they throw std::logic_error.
// Plain functions; one thread.

#include <nlohmann/json.hpp>

#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

namespace focus::cli {

// html is focusctl report's alone (report.hpp writes it); main refuses it
// for any other command before the command runs.
enum class Format { table, json, ndjson, csv, html };
std::optional<Format> parse_format(const std::string& name);

struct Column {
  std::string key;     // in JSON objects and the CSV header
  std::string title;   // in tables
  bool number = false;  // right-aligned in tables
};

// Each row is a JSON object; a column's cell is row[key] (missing: empty).
void print_rows(std::ostream& out, Format format, const std::vector<Column>& columns,
                const std::vector<nlohmann::json>& rows);

// How a cell reads in a table, CSV or a report's HTML table: "" for null,
// yes/no, numbers with a fraction to two decimals, lists comma-separated.
std::string cell_text(const nlohmann::json& value);

// A text as a terminal may show it: each control character (C0, DEL and
// C1) written as an escape, \n, \t, \r or \xHH / \u00HH, so that a name
// can neither break a table's lines nor send the terminal a command (an
// ESC sequence that retitles the window, moves the cursor, hides text).
// Tables and `key: value` lines pass every text through it; JSON and CSV
// carry the text as it is.
std::string displayable(const std::string& text);

// One object: `key: value` lines for a table, the object itself otherwise.
void print_object(std::ostream& out, Format format, const nlohmann::json& object);

// The terminal's width (COLUMNS when set; 0, meaning unlimited, when stdout
// is not a terminal).
int terminal_width();
bool use_colour();

}  // namespace focus::cli
