// The text enums and the schema agree: each CHECK list of a freshly migrated
// cache is exactly what store::check_in renders from the enum's table, so a
// value added to an enum without its migration fails here, saying which
// migration to write. Also: the tables round-trip, and SQL gets the values
// as bound parameters.
#include "store/database.hpp"
#include "store/enum_sql.hpp"
#include "support/sim_process.hpp"

#include <SQLiteCpp/Statement.h>
#include <doctest/doctest.h>

#include <set>

using namespace focus;
using namespace focus::store;

using test::TempDir;

namespace {

std::string collapse_spaces(const std::string& text) {
  std::string out;
  for (char c : text) {
    bool space = c == ' ' || c == '\n' || c == '\t' || c == '\r';
    if (space && (out.empty() || out.back() == ' ' || out.back() == '(')) continue;
    if (c == ')' && !out.empty() && out.back() == ' ') out.pop_back();
    out += space ? ' ' : c;
  }
  return out;
}

// "column IN (...)" as the CHECK of `table` in `db` states it, or "" when
// the table has no such CHECK.
std::string stored_check(Database& db, const std::string& table, const std::string& column) {
  SQLite::Statement st(db.sql(), "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?");
  st.bind(1, table);
  if (!st.executeStep()) return "";
  const std::string sql = collapse_spaces(st.getColumn(0).getString());
  const std::string start = "CHECK (" + column + " IN (";
  auto at = sql.find(start);
  if (at == std::string::npos) return "";
  auto end = sql.find(')', at + start.size());
  return sql.substr(at + 7, end + 1 - (at + 7));
}

template <typename Table>
void check_schema_lists(Database& db, const std::string& table, const std::string& column, const Table& texts,
                        const std::string& enum_name) {
  const std::string wanted = check_in(column, texts);
  const std::string stored = stored_check(db, table, column);
  CHECK_MESSAGE(stored == wanted, table << "." << column << ": the schema's CHECK is (" << stored << ") but "
                                        << enum_name << " lists (" << wanted << "). Add a migration to "
                                        << "lib/store/schema.cpp that rebuilds `" << table << "` with CHECK ("
                                        << wanted << ") (see docs/architecture.md, \"Adding an edit state\")");
}

template <TextEnum E>
void check_round_trip() {
  std::set<std::string_view> seen;
  for (const auto& [value, text] : all_texts<E>()) {
    CHECK_MESSAGE(seen.insert(text).second, "text '" << text << "' is listed twice");
    CHECK(to_text(value) == text);
    CHECK(from_text<E>(text) == value);
  }
  CHECK_FALSE(from_text<E>("no such value").has_value());
}

}  // namespace

TEST_CASE("each CHECK of the schema lists exactly the texts of its enum") {
  TempDir dir;
  Database db(dir.path + "/cache.db");
  check_schema_lists(db, "edits", "state", all_texts<model::EditState>(), "model::EditState");
  check_schema_lists(db, "edits", "op", all_texts<model::EditOp>(), "model::EditOp");
  check_schema_lists(db, "changes", "kind", all_texts<model::ChangeKind>(), "model::ChangeKind");
}

TEST_CASE("check_in renders a CHECK list in the table's order") {
  CHECK(check_in("kind", all_texts<model::ChangeKind>()) == "kind IN ('insert', 'update', 'delete', 'restore', 'edit')");
}

TEST_CASE("every enum's texts are distinct and round-trip") {
  check_round_trip<model::EditState>();
  check_round_trip<model::EditOp>();
  check_round_trip<model::ChangeKind>();
}

TEST_CASE("statements get enum values as bound parameters") {
  using model::EditState;
  CHECK(sql_value(EditState::in_flight) == ":in_flight");
  CHECK(sql_in(model::kSettledStates) == "(:done, :failed)");
  SQLite::Database raw(":memory:");
  SQLite::Statement st(raw, "SELECT ?1, " + sql_value(EditState::unknown_outcome) + ", " +
                                sql_value(model::EditOp::remove) + ", " + sql_value(model::ChangeKind::edit) + ", :other");
  st.bind(1, 7);
  bind_enum_values(st);
  REQUIRE(st.executeStep());
  CHECK(st.getColumn(0).getInt() == 7);
  CHECK(st.getColumn(1).getString() == "unknown_outcome");
  CHECK(st.getColumn(2).getString() == "delete");
  CHECK(st.getColumn(3).getString() == "edit");
  CHECK(st.getColumn(4).isNull());  // not an enum's text: left alone
}
