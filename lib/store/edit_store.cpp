#include "store/edit_store.hpp"

#include "core/utf8.hpp"
#include "store/enum_sql.hpp"
#include "store/sql_util.hpp"

#include <array>

namespace focus::store {

using nlohmann::json;
using namespace detail;

namespace {

constexpr const char* kColumns =
    "id, organization_id, workspace_id, project_id, op, body, base, state, attempts, last_error, note, created_at, "
    "next_attempt_at, sent_at, settled_at, result_id, candidates";

const std::string kActive = sql_in(model::kActiveStates);

std::optional<Timestamp> optional_time(SQLite::Statement& st, int column) {
  auto us = optional_int(st, column);
  if (!us) return std::nullopt;
  return from_micros(*us);
}

// Only a cache changed by hand (or damaged) holds an edit row focussync did
// not write; naming the row beats a bad_optional_access.
[[noreturn]] void unreadable_edit(std::int64_t id, const std::string& what) {
  throw StoreError("edit " + std::to_string(id) + " in the cache is unreadable (" + what +
                   "): the cache was changed by hand or is damaged");
}

json parse_column(std::int64_t id, const char* column, const std::string& text) {
  json value = json::parse(text, nullptr, false);
  if (value.is_discarded()) unreadable_edit(id, std::string(column) + " is not JSON");
  return value;
}

EditRecord read_edit(SQLite::Statement& st) {
  EditRecord e;
  e.id = st.getColumn(0).getInt64();
  e.workspace = {st.getColumn(1).getInt64(), st.getColumn(2).getInt64()};
  e.project_id = st.getColumn(3).getInt64();
  auto op = from_text<model::EditOp>(st.getColumn(4).getString());
  if (!op) unreadable_edit(e.id, "unknown op '" + st.getColumn(4).getString() + "'");
  e.op = *op;
  auto body = optional_text(st, 5);
  e.body = body ? parse_column(e.id, "body", *body) : json(nullptr);
  if (auto base = optional_text(st, 6)) e.base = parse_column(e.id, "base", *base);
  auto state = from_text<EditState>(st.getColumn(7).getString());
  if (!state) unreadable_edit(e.id, "unknown state '" + st.getColumn(7).getString() + "'");
  e.state = *state;
  e.attempts = st.getColumn(8).getInt64();
  e.last_error = optional_text(st, 9);
  e.note = optional_text(st, 10);
  e.created_at = from_micros(st.getColumn(11).getInt64());
  e.next_attempt_at = from_micros(st.getColumn(12).getInt64());
  e.sent_at = optional_time(st, 13);
  e.settled_at = optional_time(st, 14);
  e.result_id = optional_int(st, 15);
  if (auto c = optional_text(st, 16)) {
    json ids = parse_column(e.id, "candidates", *c);
    if (!ids.is_array()) unreadable_edit(e.id, "candidates is not an array");
    for (const auto& id : ids) {
      if (!id.is_number_integer()) unreadable_edit(e.id, "candidates holds a non-integer");
      e.candidates.push_back(id.get<Id>());
    }
  }
  return e;
}

std::vector<EditRecord> read_all(SQLite::Statement& st) {
  std::vector<EditRecord> out;
  while (st.executeStep()) out.push_back(read_edit(st));
  return out;
}

json optional_json(const std::optional<std::string>& v) { return v ? json(*v) : json(nullptr); }

// What an edit's texts quote (the server's words, a local client's) is kept
// as valid UTF-8, and bounded: an error is a line, not a page.
constexpr std::size_t kMaxText = 2000;
std::optional<std::string> stored_text(const std::optional<std::string>& v) {
  if (!v) return v;
  return std::string(cut_utf8(valid_utf8(*v), kMaxText));
}

json time_json(const std::optional<Timestamp>& t) { return t ? json(format_rfc3339(*t)) : json(nullptr); }

}  // namespace

json EditRecord::to_json() const {
  return {{"id", id},
          {"organization_id", workspace.organization_id},
          {"workspace_id", workspace.workspace_id},
          {"project_id", project_id},
          {"op", to_text(op)},
          {"body", body},
          {"state", to_text(state)},
          {"attempts", attempts},
          {"last_error", optional_json(last_error)},
          {"note", optional_json(note)},
          {"created_at", format_rfc3339(created_at)},
          // A pending edit not backing off (0 in the row) goes as soon as it can: null, not 1970.
          {"next_attempt_at", state == EditState::pending && next_attempt_at > Timestamp{} ? time_json(next_attempt_at)
                                                                                          : json(nullptr)},
          {"sent_at", time_json(sent_at)},
          {"settled_at", time_json(settled_at)},
          {"result_id", result_id ? json(*result_id) : json(nullptr)},
          {"candidates", candidates}};
}

EditId EditStore::insert(const EditRecord& e) {
  SQLite::Statement st(db_.sql(),
                       "INSERT INTO edits (organization_id, workspace_id, project_id, op, body, base, created_at, state, "
                       "next_attempt_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, " + sql_value(EditState::pending) + ", 0)");
  bind_enum_values(st);
  st.bind(1, e.workspace.organization_id);
  st.bind(2, e.workspace.workspace_id);
  st.bind(3, e.project_id);
  st.bind(4, std::string(to_text(e.op)));
  if (e.body.is_null()) st.bind(5);
  else st.bind(5, e.body.dump());
  if (e.base) st.bind(6, e.base->dump());
  else st.bind(6);
  st.bind(7, micros(e.created_at));
  st.exec();
  return db_.sql().getLastInsertRowid();
}

std::optional<EditRecord> EditStore::get(EditId id) {
  SQLite::Statement st(db_.sql(), std::string("SELECT ") + kColumns + " FROM edits WHERE id = ?");
  st.bind(1, id);
  if (!st.executeStep()) return std::nullopt;
  return read_edit(st);
}

std::vector<EditRecord> EditStore::list(const std::vector<EditState>& states, std::int64_t limit, EditId after) {
  SQLite::Statement st(db_.sql(), std::string("SELECT ") + kColumns + " FROM edits WHERE id > :after" +
                                      (states.empty() ? "" : " AND state IN " + sql_in(states)) + " ORDER BY id LIMIT :limit");
  st.bind(":after", after);
  st.bind(":limit", limit);
  bind_enum_values(st);
  return read_all(st);
}

std::vector<EditRecord> EditStore::active_for(WorkspaceKey ws, Id project_id) {
  auto st = for_workspace(db_.sql(),
                          std::string("SELECT ") + kColumns +
                              " FROM edits WHERE organization_id = ? AND workspace_id = ? AND project_id = ? AND state IN " +
                              kActive + " ORDER BY id",
                          ws);
  st.bind(3, project_id);
  bind_enum_values(st);
  return read_all(st);
}

std::vector<Id> EditStore::projects_with_active_edits(WorkspaceKey ws) {
  auto st = for_workspace(db_.sql(),
                          std::string("SELECT DISTINCT project_id FROM edits WHERE organization_id = ? AND workspace_id = ? "
                                      "AND state IN ") + kActive + " ORDER BY project_id",
                          ws);
  bind_enum_values(st);
  std::vector<Id> out;
  while (st.executeStep()) out.push_back(st.getColumn(0).getInt64());
  return out;
}

std::vector<EditRecord> EditStore::heads(WorkspaceKey ws) {
  auto st = for_workspace(
      db_.sql(),
      std::string("SELECT ") + kColumns +
          " FROM edits e WHERE organization_id = ?1 AND workspace_id = ?2 AND state IN " +
          sql_in(std::array{EditState::pending, EditState::unknown_outcome}) +
          " AND NOT EXISTS (SELECT 1 FROM edits f WHERE f.organization_id = ?1 AND f.workspace_id = ?2 "
          "AND f.project_id = e.project_id AND f.id < e.id AND f.state IN " + kActive + ") ORDER BY id",
      ws);
  bind_enum_values(st);
  return read_all(st);
}

void EditStore::set_state(EditId id, EditState state, std::optional<std::string> last_error,
                          std::optional<std::string> note) {
  SQLite::Statement st(db_.sql(), "UPDATE edits SET state = ?, last_error = ?, note = COALESCE(?, note), candidates = NULL WHERE id = ?");
  st.bind(1, std::string(to_text(state)));
  bind_optional_text(st, 2, stored_text(last_error));
  bind_optional_text(st, 3, stored_text(note));
  st.bind(4, id);
  st.exec();
}

void EditStore::set_in_flight(EditId id, Timestamp now) {
  SQLite::Statement st(db_.sql(), "UPDATE edits SET state = " + sql_value(EditState::in_flight) +
                                      ", sent_at = :sent_at, attempts = attempts + 1 WHERE id = :id");
  st.bind(":sent_at", micros(now));
  st.bind(":id", id);
  bind_enum_values(st);
  st.exec();
}

void EditStore::set_retry(EditId id, std::string error, Timestamp next_attempt, bool count_attempt) {
  // An attempt that never left (quota, offline) is not counted: it was not an attempt.
  SQLite::Statement st(db_.sql(),
                       "UPDATE edits SET state = " + sql_value(EditState::pending) +
                           ", last_error = :error, next_attempt_at = :next, candidates = NULL, "
                           "attempts = attempts - (CASE WHEN :counted THEN 0 ELSE 1 END) WHERE id = :id");
  st.bind(":error", *stored_text(error));
  st.bind(":next", micros(next_attempt));
  st.bind(":counted", count_attempt ? 1 : 0);
  st.bind(":id", id);
  bind_enum_values(st);
  st.exec();
}

void EditStore::set_settled(EditId id, EditState state, std::optional<std::string> last_error,
                            std::optional<std::string> note, std::optional<Id> result_id, Timestamp now) {
  SQLite::Statement st(db_.sql(),
                       "UPDATE edits SET state = ?, last_error = ?, note = COALESCE(?, note), result_id = ?, "
                       "settled_at = ?, candidates = NULL WHERE id = ?");
  st.bind(1, std::string(to_text(state)));
  bind_optional_text(st, 2, stored_text(last_error));
  bind_optional_text(st, 3, stored_text(note));
  bind_optional(st, 4, result_id);
  st.bind(5, micros(now));
  st.bind(6, id);
  st.exec();
}

void EditStore::set_body(EditId id, const json& body, const std::optional<json>& base) {
  SQLite::Statement st(db_.sql(), "UPDATE edits SET body = ?, base = ? WHERE id = ?");
  if (body.is_null()) st.bind(1);
  else st.bind(1, body.dump());
  if (base) st.bind(2, base->dump());
  else st.bind(2);
  st.bind(3, id);
  st.exec();
}

void EditStore::set_project(EditId id, Id project_id) {
  SQLite::Statement st(db_.sql(), "UPDATE edits SET project_id = ? WHERE id = ?");
  st.bind(1, project_id);
  st.bind(2, id);
  st.exec();
}

void EditStore::set_candidates(EditId id, const std::vector<Id>& candidates) {
  SQLite::Statement st(db_.sql(), "UPDATE edits SET candidates = ? WHERE id = ?");
  if (candidates.empty()) st.bind(1);
  else st.bind(1, json(candidates).dump());
  st.bind(2, id);
  st.exec();
}

void EditStore::remove(EditId id) {
  SQLite::Statement st(db_.sql(), "DELETE FROM edits WHERE id = ?");
  st.bind(1, id);
  st.exec();
}

}  // namespace focus::store
