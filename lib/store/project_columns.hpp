#pragma once
// Internal to lib/store: the one table of the indexed project columns, the
// columns that projects, overlay and the staging table each hold beside the
// body so that reads can filter and sort on them. Each entry says the
// column's name, its SQL type and nullability, and how its value comes from
// a model::Project. The SQL that writes these columns (the column lists, the
// upsert's SET list, the staging table, the named parameters) and the binds
// are made from this table; the migrations state the schema explicitly and
// tests/unit/store/project_columns_test.cpp checks them against it.
// docs/architecture.md ("Adding a column") shows how to add one.
//
// The table and the SQL made from it are immutable statics, built on first
// use: any thread may read them. A ColumnBinder belongs to the thread of its
// statement (the io_context thread).

#include "model/project.hpp"

#include <SQLiteCpp/Statement.h>

#include <cstdint>
#include <span>
#include <string>
#include <variant>
#include <vector>

namespace focus::store::detail {

// What a column holds for one project: NULL, an integer or text.
using ColumnValue = std::variant<std::monostate, std::int64_t, std::string>;

struct ProjectColumn {
  const char* name;  // the column's name; its parameter is ":" + name
  const char* type;  // the declared SQL type: "INTEGER" or "TEXT"
  bool not_null;
  ColumnValue (*value)(const model::Project& p);
};

// Every indexed column, in the order the generated SQL lists them.
std::span<const ProjectColumn> project_columns();

// SQL made from the table, built once. Each lists every column, in order:
const std::string& column_names();        // "name, archived, ..."
const std::string& column_parameters();   // ":name, :archived, ..."
const std::string& column_updates();      // "name = excluded.name, ..." (an upsert's SET list)
const std::string& column_definitions();  // "name TEXT NOT NULL, ..." (a CREATE TABLE's)

// ":" + name: the named parameter's index in `st`. Throws SQLite::Exception
// when the statement has no such parameter, so a statement that lost one
// fails when it is prepared, not with a silent NULL.
int parameter_index(const SQLite::Statement& st, const std::string& name);

// Binds the table's columns of one project to their named parameters in one
// statement. The indexes are looked up once, when it is made, so binding a
// row costs what positional binds did. Borrows the statement.
class ColumnBinder {
 public:
  explicit ColumnBinder(SQLite::Statement& st);  // throws as parameter_index
  void bind(const model::Project& p);

 private:
  SQLite::Statement& st_;
  std::vector<int> indexes_;  // one a column, as project_columns()
};

}  // namespace focus::store::detail
