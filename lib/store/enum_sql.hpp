#pragma once
// How the text enums (model::EditState, model::EditOp, model::ChangeKind)
// reach SQL: never as literals in a statement, always as bound values, and
// the schema's CHECK lists rendered from the same tables.
//
//  - sql_value(EditState::done) is the named parameter ":done", and
//    sql_in(kActiveStates) the list "(:pending, :in_flight, ...)"; a statement
//    built from them is then given bind_enum_values(st), which binds every
//    such parameter to its text. The statement's text names no state itself.
//    SQLite numbers a named parameter one past the largest index seen so
//    far in the text, so a statement that also has ?NNN parameters shows
//    each of those once before the first named one (or names them too).
//  - check_in("state", all_texts<EditState>()) renders
//    "state IN ('pending', 'in_flight', ...)", the list a CHECK constraint of
//    the schema must carry.
//
// Migrations that have shipped are never edited, so an existing cache keeps
// the CHECK it was made with. Adding a value to one of these enums therefore
// needs a migration that rebuilds its table (edits or changes) with the CHECK
// check_in renders, as migration 2 did for changes; store_test compares the
// CHECK of a freshly migrated cache with check_in, and fails until that
// migration exists. See docs/architecture.md, "Adding an edit state".
//
// Header only; any thread (a Statement belongs to its connection's thread).

#include "model/change_kind.hpp"
#include "model/edit.hpp"

#include <SQLiteCpp/Statement.h>

#include <string>
#include <string_view>

namespace focus::store {

// The named parameter that stands for `value` in a statement.
template <TextEnum E>
std::string sql_value(E value) {
  return ":" + std::string(to_text(value));
}

// "(:a, :b)": the parameters of every value in `values` (an IN list).
template <typename Values>
std::string sql_in(const Values& values) {
  std::string out = "(";
  for (auto v : values) out += (out.size() > 1 ? ", " : "") + sql_value(v);
  return out + ")";
}

// Binds each named parameter of `st` that is the text of an edit state, an
// edit op or a change kind to that text (texts shared by two enums, such as
// "update", are the same text). Other parameters are left alone.
template <TextEnum E>
void bind_values_of(SQLite::Statement& st) {
  for (const auto& [value, text] : all_texts<E>()) {
    const std::string name = sql_value(value);
    if (int index = st.getIndex(name.c_str()); index > 0) st.bind(index, std::string(text));
  }
}
inline void bind_enum_values(SQLite::Statement& st) {
  bind_values_of<model::EditState>(st);
  bind_values_of<model::EditOp>(st);
  bind_values_of<model::ChangeKind>(st);
}

// "column IN ('a', 'b')": the CHECK list for a column holding `table`'s texts.
template <typename Table>
std::string check_in(std::string_view column, const Table& table) {
  std::string out = std::string(column) + " IN (";
  bool first = true;
  for (const auto& [value, text] : table) {
    out += (first ? "'" : ", '") + std::string(text) + "'";
    first = false;
  }
  return out + ")";
}

}  // namespace focus::store
