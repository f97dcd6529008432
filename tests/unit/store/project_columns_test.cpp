// The indexed project columns (store/project_columns.hpp) against the schema
// the migrations make: a column added to the table but to no migration, or
// with another type or nullability, fails here with its name. And each
// column's value, as every writer binds it, agrees with the row's body.
#include "model/project_codec.hpp"
#include "store/database.hpp"
#include "store/edit_queue.hpp"
#include "store/mirror.hpp"
#include "store/project_columns.hpp"
#include "support/sim_process.hpp"

#include <SQLiteCpp/Statement.h>
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>

using namespace focus;
using namespace focus::store;
using detail::ColumnValue;
using detail::project_columns;

namespace {

const WorkspaceKey kWs{1, 1};

struct TempDir {
  std::string path = test::make_temp_dir("focus-columns-");
  ~TempDir() { std::filesystem::remove_all(path); }
};

struct Declared {
  std::string type;
  bool not_null = false;
};

// PRAGMA table_info of `schema`.`table`, by column name.
std::map<std::string, Declared> table_info(Database& db, const std::string& schema, const std::string& table) {
  SQLite::Statement st(db.sql(), "SELECT name, type, \"notnull\" FROM pragma_table_info(?, ?)");
  st.bind(1, table);
  st.bind(2, schema);
  std::map<std::string, Declared> out;
  while (st.executeStep()) out[st.getColumn(0).getString()] = {st.getColumn(1).getString(), st.getColumn(2).getInt() != 0};
  return out;
}

// Every field an indexed column comes from, set.
model::Project full_project(model::Id id) {
  model::Project p;
  p.id = id;
  p.workspace_id = kWs.workspace_id;
  p.name = "Full " + std::to_string(id);
  p.archived_at = parse_rfc3339("2025-03-01T10:00:00.123456Z");
  p.pinned = true;
  p.is_private = true;
  p.client_id = 7;
  p.parent_project_id = 3;
  p.toggl_user_id = 11;
  p.start_date = parse_date("2025-01-02");
  p.end_date = parse_date("2025-12-31");
  p.created_at = parse_rfc3339("2024-05-06T07:08:09.000001Z");
  p.updated_at = parse_rfc3339("2025-02-03T04:05:06Z");
  return p;
}

// None of them set that may be unset.
model::Project bare_project(model::Id id) {
  model::Project p;
  p.id = id;
  p.workspace_id = kWs.workspace_id;
  p.name = "Bare " + std::to_string(id);
  return p;
}

bool holds_declared_type(const ColumnValue& v, const std::string& type) {
  if (type == "INTEGER") return std::holds_alternative<std::int64_t>(v);
  if (type == "TEXT") return std::holds_alternative<std::string>(v);
  return false;
}

std::string shown(const ColumnValue& v) {
  if (auto* i = std::get_if<std::int64_t>(&v)) return std::to_string(*i);
  if (auto* s = std::get_if<std::string>(&v)) return "'" + *s + "'";
  return "NULL";
}

ColumnValue stored(SQLite::Column c) {
  if (c.isNull()) return {};
  if (c.isInteger()) return c.getInt64();
  return c.getString();
}

// The indexed columns of row `id` of `table` are what its body says.
void check_row_matches_body(Database& db, const std::string& table, model::Id id) {
  SQLite::Statement st(db.sql(), "SELECT body, " + detail::column_names() + " FROM " + table +
                                     " WHERE organization_id = ? AND workspace_id = ? AND id = ?");
  st.bind(1, kWs.organization_id);
  st.bind(2, kWs.workspace_id);
  st.bind(3, id);
  REQUIRE_MESSAGE(st.executeStep(), table, " has no row ", id);
  auto from_body = model::decode_project(std::string_view(st.getColumn(0).getString()));
  int i = 1;
  for (const auto& c : project_columns()) {
    auto want = c.value(from_body), got = stored(st.getColumn(i++));
    CHECK_MESSAGE(got == want, table, ".", std::string(c.name), " of ", id, " is ", shown(got), ", its body says ", shown(want));
  }
}

}  // namespace

TEST_CASE("every indexed column is in projects, overlay and staging, with its declared type and nullability") {
  TempDir dir;
  Database db(dir.path + "/cache.db");  // every migration applied
  Mirror mirror(db);                    // makes the staging table
  REQUIRE(project_columns().size() > 0);
  for (const auto& [schema, table] : {std::pair<std::string, std::string>{"main", "projects"},
                                      {"main", "overlay"}, {Mirror::kStagingSchema, "staging"}}) {
    auto columns = table_info(db, schema, table);
    REQUIRE_MESSAGE(!columns.empty(), "no table ", schema, ".", table);
    for (const auto& c : project_columns()) {
      const std::string name = c.name, type = c.type;
      auto found = columns.find(name);
      if (found == columns.end()) {
        FAIL_CHECK("column '", name, "' of project_columns.cpp is missing from ", table,
                   ": add it to projects and overlay in a new migration (schema.cpp)");
        continue;
      }
      CHECK_MESSAGE(found->second.type == type, table, ".", name, " is declared ", found->second.type,
                    " in the migrations, ", type, " in project_columns.cpp");
      CHECK_MESSAGE(found->second.not_null == c.not_null, table, ".", name, " is ",
                    found->second.not_null ? "NOT NULL" : "nullable", " in the migrations, ",
                    c.not_null ? "NOT NULL" : "nullable", " in project_columns.cpp");
    }
  }
}

TEST_CASE("each column's value has its declared type, and only a nullable column is ever NULL") {
  for (const auto& c : project_columns()) {
    const std::string name = c.name, type = c.type;
    auto full = c.value(full_project(1)), bare = c.value(bare_project(1));
    CHECK_MESSAGE(holds_declared_type(full, type), name, " is declared ", type, " but its value is ", shown(full));
    if (c.not_null)
      CHECK_MESSAGE(holds_declared_type(bare, type), name, " is NOT NULL but its value can be ", shown(bare));
    else
      CHECK_MESSAGE(std::holds_alternative<std::monostate>(bare), name, " of a project without it is ", shown(bare));
  }
}

TEST_CASE("the mirror's two writers and the overlay store each column as the row's body says") {
  TempDir dir;
  Database db(dir.path + "/cache.db");
  Mirror mirror(db);
  EditQueue queue(db, mirror);
  // A listing: staged, then reconciled.
  mirror.clear_staging(kWs);
  mirror.stage(kWs, {fetched(full_project(1)), fetched(bare_project(2))});
  mirror.reconcile(kWs, now_utc());
  // One project at a time.
  mirror.upsert_one(kWs, fetched(full_project(3)), now_utc());
  mirror.upsert_one(kWs, fetched(bare_project(4)), now_utc());
  for (model::Id id : {1, 2, 3, 4}) check_row_matches_body(db, "projects", id);
  // What a pending edit makes of a project.
  queue.submit(kWs, model::EditOp::patch, 1, nlohmann::json{{"name", "Renamed"}, {"client_id", nullptr}}, now_utc());
  queue.submit(kWs, model::EditOp::patch, 2, nlohmann::json{{"client_id", 9}}, now_utc());
  check_row_matches_body(db, "overlay", 1);
  check_row_matches_body(db, "overlay", 2);
}
