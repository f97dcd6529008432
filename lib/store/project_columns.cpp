#include "store/project_columns.hpp"

#include "store/sql_util.hpp"

#include <SQLiteCpp/Exception.h>

#include <functional>

namespace focus::store::detail {
namespace {

using model::Project;

ColumnValue flag(bool b) { return std::int64_t{b ? 1 : 0}; }

ColumnValue id_or_null(const std::optional<model::Id>& id) {
  if (!id) return {};
  return std::int64_t{*id};
}

ColumnValue date_or_null(const std::optional<Date>& d) {
  if (!d) return {};
  return format_date(*d);
}

// Microseconds since the epoch: sorts as time does.
ColumnValue micros_or_null(const std::optional<Timestamp>& t) {
  if (!t) return {};
  return micros(*t);
}

// The table. Adding a column: an entry here and a migration adding it to
// projects and overlay (see docs/architecture.md, "Adding a column").
constexpr ProjectColumn kColumns[] = {
    {"name", "TEXT", true, [](const Project& p) -> ColumnValue { return p.name; }},
    {"archived", "INTEGER", true, [](const Project& p) { return flag(p.archived_at.has_value()); }},
    {"pinned", "INTEGER", true, [](const Project& p) { return flag(p.pinned); }},
    {"private", "INTEGER", true, [](const Project& p) { return flag(p.is_private); }},
    {"client_id", "INTEGER", false, [](const Project& p) { return id_or_null(p.client_id); }},
    {"parent_id", "INTEGER", false, [](const Project& p) { return id_or_null(p.parent_project_id); }},
    {"creator_id", "INTEGER", false, [](const Project& p) { return id_or_null(p.toggl_user_id); }},
    {"start_date", "TEXT", false, [](const Project& p) { return date_or_null(p.start_date); }},
    {"end_date", "TEXT", false, [](const Project& p) { return date_or_null(p.end_date); }},
    {"created_at", "INTEGER", false, [](const Project& p) { return micros_or_null(p.created_at); }},
    {"updated_at", "INTEGER", false, [](const Project& p) { return micros_or_null(p.updated_at); }},
};

std::string joined(const std::function<std::string(const ProjectColumn&)>& each) {
  std::string out;
  for (const auto& c : kColumns) out += (out.empty() ? "" : ", ") + each(c);
  return out;
}

}  // namespace

std::span<const ProjectColumn> project_columns() { return kColumns; }

const std::string& column_names() {
  static const std::string sql = joined([](const ProjectColumn& c) { return std::string(c.name); });
  return sql;
}

const std::string& column_parameters() {
  static const std::string sql = joined([](const ProjectColumn& c) { return ":" + std::string(c.name); });
  return sql;
}

const std::string& column_updates() {
  static const std::string sql =
      joined([](const ProjectColumn& c) { return std::string(c.name) + " = excluded." + c.name; });
  return sql;
}

const std::string& column_definitions() {
  static const std::string sql = joined([](const ProjectColumn& c) {
    return std::string(c.name) + " " + c.type + (c.not_null ? " NOT NULL" : "");
  });
  return sql;
}

int parameter_index(const SQLite::Statement& st, const std::string& name) {
  int index = st.getIndex((":" + name).c_str());
  if (index == 0) throw SQLite::Exception("statement has no parameter :" + name + ": " + st.getQuery());
  return index;
}

ColumnBinder::ColumnBinder(SQLite::Statement& st) : st_(st) {
  indexes_.reserve(std::size(kColumns));
  for (const auto& c : kColumns) indexes_.push_back(parameter_index(st, c.name));
}

void ColumnBinder::bind(const model::Project& p) {
  for (std::size_t i = 0; i < indexes_.size(); ++i) {
    const int index = indexes_[i];
    std::visit(
        [&](const auto& v) {
          if constexpr (std::is_same_v<std::decay_t<decltype(v)>, std::monostate>) st_.bind(index);
          else st_.bind(index, v);
        },
        kColumns[i].value(p));
  }
}

}  // namespace focus::store::detail
