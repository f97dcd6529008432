#pragma once
// Internal to lib/store: small helpers for binding and reading the columns
// the mirror and the overlay share. Not part of the store's interface.

#include "core/time.hpp"
#include "model/project.hpp"

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

inline std::optional<std::int64_t> micros(const std::optional<Timestamp>& t) {
  if (!t) return std::nullopt;
  return t->time_since_epoch().count();
}

inline std::int64_t micros(Timestamp t) { return t.time_since_epoch().count(); }

inline Timestamp from_micros(std::int64_t us) { return Timestamp(std::chrono::microseconds(us)); }

inline std::optional<std::string> date_text(const std::optional<Date>& d) {
  if (!d) return std::nullopt;
  return format_date(*d);
}

// Binds the eleven indexed columns shared by projects and overlay (name,
// archived, pinned, private, client_id, parent_id, creator_id, start_date,
// end_date, created_at, updated_at), from parameter `first`.
inline void bind_indexed_columns(SQLite::Statement& st, int first, const model::Project& p) {
  st.bind(first, p.name);
  st.bind(first + 1, p.archived_at.has_value() ? 1 : 0);
  st.bind(first + 2, p.pinned ? 1 : 0);
  st.bind(first + 3, p.is_private ? 1 : 0);
  bind_optional(st, first + 4, p.client_id);
  bind_optional(st, first + 5, p.parent_project_id);
  bind_optional(st, first + 6, p.toggl_user_id);
  bind_optional_text(st, first + 7, date_text(p.start_date));
  bind_optional_text(st, first + 8, date_text(p.end_date));
  bind_optional(st, first + 9, micros(p.created_at));
  bind_optional(st, first + 10, micros(p.updated_at));
}

}  // namespace focus::store::detail
