#pragma once
// Internal to lib/store: small helpers for binding and reading columns. Not
// part of the store's interface. The indexed project columns and their binds
// are in project_columns.hpp.

#include "core/time.hpp"

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>

#include <cstdint>
#include <optional>
#include <string>

namespace focus::store::detail {

// A statement whose first two parameters are the workspace.
template <class Key>
SQLite::Statement for_workspace(SQLite::Database& db, const std::string& sql, Key ws) {
  SQLite::Statement st(db, sql);
  st.bind(1, ws.organization_id);
  st.bind(2, ws.workspace_id);
  return st;
}

template <class T>
void bind_optional(SQLite::Statement& st, int index, const std::optional<T>& v) {
  if (v) st.bind(index, *v);
  else st.bind(index);
}

inline void bind_optional_text(SQLite::Statement& st, int index, const std::optional<std::string>& v) {
  if (v) st.bind(index, *v);
  else st.bind(index);
}

inline std::optional<std::string> optional_text(SQLite::Statement& st, int column) {
  if (st.getColumn(column).isNull()) return std::nullopt;
  return st.getColumn(column).getString();
}

inline std::optional<std::int64_t> optional_int(SQLite::Statement& st, int column) {
  if (st.getColumn(column).isNull()) return std::nullopt;
  return st.getColumn(column).getInt64();
}

inline std::int64_t micros(Timestamp t) { return t.time_since_epoch().count(); }

inline Timestamp from_micros(std::int64_t us) { return Timestamp(std::chrono::microseconds(us)); }

}  // namespace focus::store::detail
