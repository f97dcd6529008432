#include "store/edit_queue.hpp"

#include "core/utf8.hpp"
#include "model/project_codec.hpp"
#include "store/enum_sql.hpp"
#include "store/project_columns.hpp"
#include "store/project_reads.hpp"
#include "store/sql_util.hpp"

#include <spdlog/spdlog.h>

#include <unordered_set>

namespace focus::store {

using model::EditOp;
using nlohmann::json;
using namespace detail;

namespace {

std::string project_label(Id id) {
  return id < 0 ? "project " + std::to_string(id) + " (created locally)" : "project " + std::to_string(id);
}

bool changes_project(EditOp op) { return !model::is_members_op(op); }

// The most projects above a project that an edit may make: as many levels
// as a tree read walks.
constexpr std::size_t kMaxParentDepth = ProjectReads::kMaxTreeDepth;

}  // namespace

EditQueue::EditQueue(Database& db, Mirror& mirror) : db_(db), mirror_(mirror), edits_(db) {}

// ---------------------------------------------------------------------------
// Reads

Id EditQueue::real_id_for(WorkspaceKey ws, Id id) {
  if (id >= 0) return id;
  auto& st = db_.cached("SELECT real_id FROM temporary_ids WHERE organization_id = ? AND workspace_id = ? AND temporary_id = ?");
  st.bind(1, ws.organization_id);
  st.bind(2, ws.workspace_id);
  st.bind(3, id);
  return st.executeStep() ? st.getColumn(0).getInt64() : id;
}

// Of the edits ready() could answer once due: an edit waiting on another
// (its create's real id, the user's word) has no time of its own, or the
// scheduler would wake for it again and again.
std::optional<Timestamp> EditQueue::next_attempt_at(WorkspaceKey ws) {
  std::optional<Timestamp> earliest;
  for (const auto& e : edits_.heads(ws))
    if (!waits_on_another(e)) earliest = std::min(earliest.value_or(e.next_attempt_at), e.next_attempt_at);
  return earliest;
}

bool EditQueue::is_claimed(WorkspaceKey ws, Id real_id) {
  auto st = for_workspace(db_.sql(),
                          "SELECT 1 FROM temporary_ids WHERE organization_id = ? AND workspace_id = ? AND real_id = ?", ws);
  st.bind(3, real_id);
  return st.executeStep();
}

std::optional<ProjectView> EditQueue::view(WorkspaceKey ws, Id id) {
  auto& st = db_.cached("SELECT body, deleted FROM overlay WHERE organization_id = ? AND workspace_id = ? AND id = ?");
  st.bind(1, ws.organization_id);
  st.bind(2, ws.workspace_id);
  st.bind(3, id);
  if (st.executeStep()) return ProjectView{st.getColumn(0).getString(), st.getColumn(1).getInt() != 0, true};
  auto row = mirror_.row(ws, id);
  if (!row) return std::nullopt;
  return ProjectView{row->body, row->deleted, false};
}

std::int64_t& EditCounts::of(EditState state) {
  switch (state) {
    case EditState::pending: return pending;
    case EditState::in_flight: return in_flight;
    case EditState::unknown_outcome: return unknown_outcome;
    case EditState::conflict: return conflict;
    case EditState::failed: return failed;
    case EditState::done: break;
  }
  return done;
}

std::map<std::string, std::int64_t> EditCounts::by_text() const {
  std::map<std::string, std::int64_t> out;
  EditCounts counts = *this;  // of() hands out a reference
  for (const auto& [state, text] : all_texts<EditState>()) out[std::string(text)] = counts.of(state);
  return out;
}

EditCounts EditQueue::counts() {
  EditCounts c;
  SQLite::Statement st(db_.sql(), "SELECT state, count(*) FROM edits GROUP BY state");
  while (st.executeStep())
    c.of(from_text<EditState>(st.getColumn(0).getString()).value_or(EditState::done)) = st.getColumn(1).getInt64();
  return c;
}

// ---------------------------------------------------------------------------
// Submitting

void EditQueue::check_target(EditOp op, Id id, const std::optional<ProjectView>& current) {
  if (!current) throw EditRejected(404, "", project_label(id) + " does not exist");
  if (op == EditOp::restore) {
    if (!current->deleted) throw EditRejected(400, "", project_label(id) + " is not deleted");
    return;
  }
  if (current->deleted) throw EditRejected(404, "", project_label(id) + " does not exist (it was deleted)");
}

json EditQueue::normalized(WorkspaceKey ws, EditOp op, const json& body) {
  auto result = model::normalize_edit_body(op, body);
  if (auto* problem = std::get_if<model::FieldProblem>(&result))
    throw EditRejected(400, problem->field, problem->message);
  json out = std::get<json>(std::move(result));
  auto parent = model::referenced_parent(op, out);
  if (parent && *parent < 0) {
    Id real = real_id_for(ws, *parent);
    if (real < 0 && edits_.active_for(ws, real).empty())
      throw EditRejected(400, "parent_project_id",
                         "field 'parent_project_id': " + std::to_string(real) + " is not a project created locally");
    out["parent_project_id"] = real;
  }
  return out;
}

// The parent link of a project as the queue knows it: the overlay's row if
// edits are pending for it, else the mirror's, deleted or not (nullopt: no
// such row).
std::optional<std::optional<Id>> EditQueue::stored_parent(WorkspaceKey ws, Id id) {
  for (const char* table : {"overlay", "projects"}) {
    auto& st = db_.cached(std::string("SELECT parent_id FROM ") + table +
                          " WHERE organization_id = ? AND workspace_id = ? AND id = ?");
    st.bind(1, ws.organization_id);
    st.bind(2, ws.workspace_id);
    st.bind(3, id);
    if (st.executeStep()) {
      auto parent = optional_int(st, 0);
      st.reset();
      return parent;
    }
  }
  return std::nullopt;
}

void EditQueue::check_parent_chain(WorkspaceKey ws, EditOp op, Id project, const json& body) {
  auto parent = model::referenced_parent(op, body);
  if (!parent) return;
  auto refuse = [&](const std::string& why) {
    throw EditRejected(400, "parent_project_id",
                       "field 'parent_project_id': " + std::to_string(*parent) + " " + why);
  };
  if (*parent == project) refuse("is the project itself; a project cannot be its own parent");
  // Up from the new parent: meeting `project` would close a cycle. A cycle
  // met above it that does not pass through `project` is the data's own
  // (a server's); this edit neither makes nor lengthens it.
  std::unordered_set<Id> seen;
  std::vector<Id> chain;
  for (std::optional<Id> cur = parent; cur;) {
    if (*cur == project) {
      std::string path = std::to_string(project);
      for (Id id : chain) path += " -> " + std::to_string(id);
      if (chain.size() > 10) path = std::to_string(project) + " -> ... (" + std::to_string(chain.size()) + " projects)";
      refuse("would make a parent cycle (" + path + " -> " + std::to_string(project) + ")");
    }
    if (!seen.insert(*cur).second) return;
    if (chain.size() >= kMaxParentDepth)
      refuse("would put more than " + std::to_string(kMaxParentDepth) + " projects above " + project_label(project) +
             "; focussync refuses deeper trees so that every tree read stays bounded");
    chain.push_back(*cur);
    auto up = stored_parent(ws, *cur);
    if (!up) return;  // unknown here: the server judges it
    cur = *up;
  }
}

Submitted EditQueue::submit(WorkspaceKey ws, EditOp op, Id project_id, const json& body, Timestamp now) {
  return db_.in_transaction([&] {
    EditRecord e;
    e.workspace = ws;
    e.op = op;
    e.created_at = now;
    if (op != EditOp::create) {
      e.project_id = real_id_for(ws, project_id);
      auto current = view(ws, e.project_id);
      check_target(op, e.project_id, current);
      e.base = json::parse(current->body);
    }
    e.body = normalized(ws, op, body);
    check_parent_chain(ws, op, op == EditOp::create ? 0 : e.project_id, e.body);
    EditId id = edits_.insert(e);
    if (op == EditOp::create) edits_.set_project(id, -id);
    auto stored = *edits_.get(id);
    rebuild_overlay(ws, stored.project_id);
    auto shown = view(ws, stored.project_id);
    spdlog::info("edit {} queued: {} {}", id, to_text(op), project_label(stored.project_id));
    return Submitted{stored, shown && !shown->deleted ? std::optional<std::string>(shown->body) : std::nullopt};
  });
}

// ---------------------------------------------------------------------------
// The overlay

void EditQueue::rebuild_overlay(WorkspaceKey ws, Id project_id) {
  auto active = edits_.active_for(ws, project_id);
  std::erase_if(active, [](const EditRecord& e) { return !changes_project(e.op); });
  auto drop = [&] {
    auto st = for_workspace(db_.sql(), "DELETE FROM overlay WHERE organization_id = ? AND workspace_id = ? AND id = ?", ws);
    st.bind(3, project_id);
    st.exec();
  };
  if (active.empty()) return drop();

  model::Project p;
  bool deleted = false;
  if (active.front().op == EditOp::create) {
    const auto& c = active.front();
    p = model::project_from_create(project_id, ws.workspace_id, c.body, c.created_at);
  } else {
    auto row = mirror_.row(ws, project_id);
    if (!row) return drop();
    p = model::decode_project(std::string_view(row->body));
    deleted = row->deleted;
  }
  // Each edit applies at the time it was made, so rebuilding never moves a
  // timestamp a reader has already seen.
  for (const auto& e : active)
    if (e.op != EditOp::create) model::apply_edit(p, deleted, e.op, e.body, e.created_at);

  static const std::string sql = "INSERT OR REPLACE INTO overlay (organization_id, workspace_id, id, body, " +
                                 column_names() + ", tag_ids, deleted) VALUES (:organization_id, :workspace_id, :id, " +
                                 ":body, " + column_parameters() + ", :tag_ids, :deleted)";
  SQLite::Statement st(db_.sql(), sql);
  st.bind(":organization_id", ws.organization_id);
  st.bind(":workspace_id", ws.workspace_id);
  st.bind(":id", project_id);
  st.bind(":body", model::canonical_json(p));
  ColumnBinder(st).bind(p);
  st.bind(":tag_ids", json(p.tag_ids).dump());
  st.bind(":deleted", deleted ? 1 : 0);
  st.exec();
}

void EditQueue::rebuild_overlays(WorkspaceKey ws) {
  db_.in_transaction([&] {
    for (Id id : edits_.projects_with_active_edits(ws)) rebuild_overlay(ws, id);
  });
}

// ---------------------------------------------------------------------------
// Temporary ids

void EditQueue::replace_temporary_id(WorkspaceKey ws, Id temporary, Id real) {
  auto map = for_workspace(db_.sql(), "INSERT OR REPLACE INTO temporary_ids VALUES (?, ?, ?, ?)", ws);
  map.bind(3, temporary);
  map.bind(4, real);
  map.exec();
  auto moved = for_workspace(db_.sql(),
                             "UPDATE edits SET project_id = ?4 WHERE organization_id = ?1 AND workspace_id = ?2 "
                             "AND project_id = ?3 AND state NOT IN " + sql_in(model::kSettledStates),
                             ws);
  moved.bind(3, temporary);
  moved.bind(4, real);
  bind_enum_values(moved);
  moved.exec();
  // Other projects' edits that name it as their parent.
  auto children = for_workspace(db_.sql(),
                                "SELECT id, project_id FROM edits WHERE organization_id = ?1 AND workspace_id = ?2 "
                                "AND json_extract(body, '$.parent_project_id') = ?3 AND state NOT IN " +
                                    sql_in(model::kSettledStates) + " AND op IN " + sql_in(model::kOpsNamingParent),
                                ws);
  children.bind(3, temporary);
  bind_enum_values(children);
  std::vector<std::pair<EditId, Id>> referencing;
  while (children.executeStep()) referencing.emplace_back(children.getColumn(0).getInt64(), children.getColumn(1).getInt64());
  for (auto [edit_id, child] : referencing) {
    auto e = *edits_.get(edit_id);
    e.body["parent_project_id"] = real;
    edits_.set_body(edit_id, e.body, e.base);
    rebuild_overlay(ws, child);
  }
  auto drop = for_workspace(db_.sql(), "DELETE FROM overlay WHERE organization_id = ? AND workspace_id = ? AND id = ?", ws);
  drop.bind(3, temporary);
  drop.exec();
  rebuild_overlay(ws, real);
}

// Edits that can never be sent because the create they depend on will not
// happen: those aimed at its temporary id, and creates or updates naming it
// as their parent (and, in turn, what depends on those).
void EditQueue::fail_dependents(WorkspaceKey ws, Id temporary, const std::string& why, Timestamp now) {
  auto st = for_workspace(db_.sql(),
                          "SELECT id FROM edits WHERE organization_id = ?1 AND workspace_id = ?2 AND (project_id = ?3 OR "
                          "(json_extract(body, '$.parent_project_id') = ?3 AND op IN " + sql_in(model::kOpsNamingParent) +
                              ")) AND state IN " +
                              sql_in(std::array{EditState::pending, EditState::unknown_outcome, EditState::conflict}) +
                              " ORDER BY id",
                          ws);
  st.bind(3, temporary);
  bind_enum_values(st);
  std::vector<EditId> ids;
  while (st.executeStep()) ids.push_back(st.getColumn(0).getInt64());
  for (EditId id : ids) {
    auto e = *edits_.get(id);
    if (e.state == EditState::failed) continue;  // reached twice through a chain
    edits_.set_settled(id, EditState::failed, why, std::nullopt, std::nullopt, now);
    log_edit(e, EditState::failed, why, now);
    rebuild_overlay(ws, e.project_id);
    if (e.op == EditOp::create)
      fail_dependents(ws, e.project_id, "it depends on edit " + std::to_string(id) + ", which will not be sent", now);
  }
}

// ---------------------------------------------------------------------------
// Settling (the replayer)

void EditQueue::log_edit(const EditRecord& e, EditState state, const std::optional<std::string>& error, Timestamp now,
                         std::optional<Id> result_id) {
  json detail = {{"edit", e.id}, {"op", to_text(e.op)}, {"state", to_text(state)}};
  if (error) detail["error"] = valid_utf8(*error);  // the server's words, whatever bytes they came in
  if (e.project_id < 0) detail["temporary_id"] = e.project_id;
  Id project = result_id.value_or(e.project_id);
  mirror_.log_edit(e.workspace, project, detail.dump(-1, ' ', false, json::error_handler_t::replace), now);
}

std::int64_t EditQueue::recover_in_flight() {
  SQLite::Statement st(db_.sql(),
                       "UPDATE edits SET state = " + sql_value(EditState::unknown_outcome) +
                           ", last_error = 'focussyncd stopped while it was being sent; it is read back from the server "
                           "before anything is sent again' WHERE state = " + sql_value(EditState::in_flight));
  bind_enum_values(st);
  return st.exec();
}

bool EditQueue::waits_on_another(const EditRecord& e) {
  if (e.awaits_user()) return true;  // the user says which project it made
  if (e.project_id < 0 && e.op != EditOp::create) return true;  // its create has not landed
  auto parent = model::referenced_parent(e.op, e.body);
  return parent && *parent < 0;  // its parent's create has not landed
}

std::vector<EditRecord> EditQueue::ready(WorkspaceKey ws, Timestamp now) {
  auto heads = edits_.heads(ws);
  std::erase_if(heads, [&](const EditRecord& e) {
    return (e.state == EditState::pending && e.next_attempt_at > now) || waits_on_another(e);
  });
  return heads;
}

void EditQueue::settle_applied(const EditRecord& e, const std::optional<FetchedProject>& server,
                               std::optional<Id> created_id, const std::string& note, Timestamp now) {
  db_.in_transaction([&] {
    if (server) mirror_.upsert_one(e.workspace, *server, now);
    if (e.op == EditOp::create) {
      Id real = server ? server->project.id : created_id.value();
      edits_.set_settled(e.id, EditState::done, std::nullopt, note, real, now);
      log_edit(e, EditState::done, std::nullopt, now, real);
      replace_temporary_id(e.workspace, e.project_id, real);
      return;
    }
    if (!server && changes_project(e.op)) {
      // The server answered without a body: the mirror takes the edit's
      // effect until the next listing brings the server's exact version.
      if (auto row = mirror_.row(e.workspace, e.project_id)) {
        auto p = model::decode_project(std::string_view(row->body));
        bool deleted = row->deleted;
        model::apply_edit(p, deleted, e.op, e.body, now);
        if (deleted) mirror_.confirm_deleted(e.workspace, e.project_id, now);
        else mirror_.apply_prediction(e.workspace, fetched(std::move(p)), e.id, e.op, now);
      }
    }
    if (model::is_members_op(e.op)) mirror_.members_stale(e.workspace, e.project_id);
    edits_.set_settled(e.id, EditState::done, std::nullopt, note, std::nullopt, now);
    log_edit(e, EditState::done, std::nullopt, now);
    rebuild_overlay(e.workspace, e.project_id);
  });
}

void EditQueue::settle_failed(const EditRecord& e, const std::string& error, Timestamp now) {
  db_.in_transaction([&] {
    edits_.set_settled(e.id, EditState::failed, error, std::nullopt, std::nullopt, now);
    log_edit(e, EditState::failed, error, now);
    if (e.op == EditOp::create)
      fail_dependents(e.workspace, e.project_id, "its project's create (edit " + std::to_string(e.id) + ") failed", now);
    rebuild_overlay(e.workspace, e.project_id);
  });
  spdlog::warn("edit {} ({} {}) failed: {}", e.id, to_text(e.op), project_label(e.project_id), valid_utf8(error));
}

void EditQueue::settle_conflict(const EditRecord& e, const std::string& description, Timestamp now) {
  db_.in_transaction([&] {
    edits_.set_state(e.id, EditState::conflict, description, std::nullopt);
    log_edit(e, EditState::conflict, description, now);
  });
  spdlog::warn("edit {} ({} {}) is in conflict: {}", e.id, to_text(e.op), project_label(e.project_id), description);
}

// Single statements, in a transaction all the same: a write is committed
// through in_transaction (see Database::end_reads).
void EditQueue::mark_in_flight(EditId id, Timestamp now) {
  db_.in_transaction([&] { edits_.set_in_flight(id, now); });
}

void EditQueue::settle_unknown(const EditRecord& e, const std::string& error) {
  db_.in_transaction([&] { edits_.set_state(e.id, EditState::unknown_outcome, error, std::nullopt); });
}

void EditQueue::settle_ambiguous(const EditRecord& e, const std::vector<Id>& candidates, const std::string& why,
                                 Timestamp now) {
  db_.in_transaction([&] {
    edits_.set_state(e.id, EditState::unknown_outcome, why, std::nullopt);
    edits_.set_candidates(e.id, candidates);
    log_edit(e, EditState::unknown_outcome, why, now);
  });
  spdlog::warn("edit {} ({} {}): {}", e.id, to_text(e.op), project_label(e.project_id), valid_utf8(why));
}

std::optional<Id> EditQueue::own_user(Id organization, const std::string& key_id) {
  // Not a cached statement: one left on its row would hold a read snapshot.
  SQLite::Statement st(db_.sql(), "SELECT user_id FROM own_users WHERE organization_id = ? AND key_id = ?");
  st.bind(1, organization);
  st.bind(2, key_id);
  return st.executeStep() ? std::optional<Id>(st.getColumn(0).getInt64()) : std::nullopt;
}

void EditQueue::learn_own_user(Id organization, const std::string& key_id, Id user_id, Timestamp now) {
  auto& st = db_.cached(
      "INSERT INTO own_users (organization_id, key_id, user_id, learned_at) VALUES (?, ?, ?, ?) "
      "ON CONFLICT (organization_id, key_id) DO UPDATE SET user_id = excluded.user_id, learned_at = excluded.learned_at "
      "WHERE user_id != excluded.user_id");
  st.bind(1, organization);
  st.bind(2, key_id);
  st.bind(3, user_id);
  st.bind(4, micros(now));
  db_.in_transaction([&] { st.exec(); });
}

void EditQueue::settle_retry(const EditRecord& e, const std::string& error, Timestamp next_attempt, bool count_attempt) {
  db_.in_transaction([&] { edits_.set_retry(e.id, error, next_attempt, count_attempt); });
}

void EditQueue::rewrite(const EditRecord& e, const json& body, const json& base, const std::string& note, Timestamp now) {
  db_.in_transaction([&] {
    if (e.op == EditOp::patch && body.empty()) {
      edits_.set_settled(e.id, EditState::done, std::nullopt, note + "; nothing was left to send", std::nullopt, now);
      log_edit(e, EditState::done, std::nullopt, now);
    } else {
      edits_.set_body(e.id, body, base);
      edits_.set_state(e.id, EditState::pending, std::nullopt, note);
    }
    rebuild_overlay(e.workspace, e.project_id);
  });
}

// ---------------------------------------------------------------------------
// Compaction

std::vector<std::string> EditQueue::compact(WorkspaceKey ws, Timestamp now) {
  std::vector<std::string> log;
  db_.in_transaction([&] {
    for (Id project : edits_.projects_with_active_edits(ws)) {
      for (bool collapsed = true; collapsed;) {
        collapsed = false;
        auto active = edits_.active_for(ws, project);
        for (std::size_t i = 0; i + 1 < active.size() && !collapsed; ++i) {
          const auto& a = active[i];
          const auto& b = active[i + 1];
          if (a.state != EditState::pending || b.state != EditState::pending) continue;
          std::optional<model::Project> before;
          if (a.base) before = model::decode_project(*a.base);
          auto c = model::collapse({a.op, a.body}, {b.op, b.body}, before);
          if (!c) continue;
          collapsed = true;
          std::string line = "edits " + std::to_string(a.id) + " and " + std::to_string(b.id) + " of " +
                             project_label(project) + ": " + c->rule;
          switch (c->kind) {
            case model::Collapse::Kind::merge:
              edits_.set_body(a.id, c->merged.body, a.base);
              edits_.set_settled(b.id, EditState::done, std::nullopt, "merged into edit " + std::to_string(a.id),
                                 std::nullopt, now);
              log_edit(b, EditState::done, std::nullopt, now);
              break;
            case model::Collapse::Kind::keep_second:
              edits_.set_body(b.id, b.body, a.base);  // the older base: what the server last showed
              edits_.set_settled(a.id, EditState::done, std::nullopt, "superseded by edit " + std::to_string(b.id),
                                 std::nullopt, now);
              log_edit(a, EditState::done, std::nullopt, now);
              break;
            case model::Collapse::Kind::cancel_both:
              for (const auto* e : {&a, &b}) {
                edits_.set_settled(e->id, EditState::done, std::nullopt, "cancelled out (" + c->rule + ")", std::nullopt, now);
                log_edit(*e, EditState::done, std::nullopt, now);
              }
              if (a.op == EditOp::create)
                fail_dependents(ws, project, "it names a project that was created and deleted locally", now);
              break;
          }
          log.push_back(line);
        }
      }
      rebuild_overlay(ws, project);
    }
  });
  for (const auto& line : log) spdlog::info("compacted {}", line);
  return log;
}

// ---------------------------------------------------------------------------
// What a user does with edits

EditRecord EditQueue::retry(EditId id, Timestamp now, bool conflicts_wait_for_user) {
  return db_.in_transaction([&] {
    auto e = edits_.get(id);
    if (!e) throw EditRejected(404, "", "edit " + std::to_string(id) + " does not exist");
    if (e->state == EditState::done) throw EditRejected(409, "", "edit " + std::to_string(id) + " is already applied");
    if (e->awaits_user())
      throw EditRejected(409, "", "edit " + std::to_string(id) + " waits for you to say what it made: resolve it with "
                                      "created_as (one of its candidates) or send_again");
    if (e->state == EditState::in_flight || e->state == EditState::unknown_outcome)
      throw EditRejected(409, "", "edit " + std::to_string(id) + " is being settled with the server; retry it later");
    if (e->state == EditState::conflict && conflicts_wait_for_user) refuse_standing_conflict(*e);
    refuse_without_its_create(*e);
    edits_.set_retry(id, e->last_error.value_or(""), now, true);
    rebuild_overlay(e->workspace, e->project_id);
    return *edits_.get(id);
  });
}

// An edit that names a temporary id (as its project, or as a parent) waits
// for that id's create; retried once the create was discarded or failed,
// it would wait for good, pending and never sent.
void EditQueue::refuse_without_its_create(const EditRecord& e) {
  std::optional<Id> temporary;
  if (e.project_id < 0 && e.op != EditOp::create) temporary = e.project_id;
  if (auto parent = model::referenced_parent(e.op, e.body); !temporary && parent && *parent < 0) temporary = parent;
  if (!temporary) return;
  auto create = edits_.get(-*temporary);  // a temporary id is minus its create's edit id
  if (create && create->state != EditState::failed) return;
  throw EditRejected(409, "", "edit " + std::to_string(e.id) + " names project " + std::to_string(*temporary) +
                                  ", whose create (edit " + std::to_string(-*temporary) + ") " +
                                  (create ? "failed: retry that create first, or discard this edit"
                                          : "was discarded: it can never be sent; discard this edit"));
}

// A conflict retried goes back to the replayer, which checks it against the
// mirror before sending: while the server still has other values for the
// edit's fields, it would be back in conflict at once and nothing sent. Say
// so, and how to settle it, rather than that it will be sent.
void EditQueue::refuse_standing_conflict(const EditRecord& e) {
  auto standing = standing_conflict(e);
  if (!standing) return;  // the server came back to the edit's base: it can go
  std::string names;
  for (const auto& f : standing->fields) names += (names.empty() ? "" : ", ") + f;
  throw EditRejected(409, "", "edit " + std::to_string(e.id) + " still conflicts: the server changed " + names +
                                  " since the edit was made, so it would not be sent; settle it with resolve (take "
                                  "local to send it over the server's values, take remote, or a body)");
}

std::optional<EditQueue::StandingConflict> EditQueue::standing_conflict(const EditRecord& e) {
  if ((e.op != EditOp::patch && e.op != EditOp::update) || !e.base) return std::nullopt;
  auto row = mirror_.row(e.workspace, e.project_id);
  if (!row || row->deleted) return std::nullopt;
  json server = json::parse(row->body);
  auto fields = model::conflicting_fields(e.op, e.body, *e.base, server);
  if (fields.empty()) return std::nullopt;
  return StandingConflict{std::move(fields), std::move(server)};
}

void EditQueue::discard(EditId id, Timestamp now) {
  db_.in_transaction([&] {
    auto e = edits_.get(id);
    if (!e) throw EditRejected(404, "", "edit " + std::to_string(id) + " does not exist");
    if (e->state == EditState::done) throw EditRejected(409, "", "edit " + std::to_string(id) + " is already applied");
    if (e->state == EditState::in_flight)
      throw EditRejected(409, "", "edit " + std::to_string(id) + " is being sent; discard it once it settles");
    edits_.remove(id);
    // "discarded" is no EditState: the row is gone, only the change log tells.
    json detail = {{"edit", id}, {"op", to_text(e->op)}, {"state", "discarded"}};
    mirror_.log_edit(e->workspace, e->project_id, detail.dump(), now);
    if (e->op == EditOp::create && e->state != EditState::failed)
      fail_dependents(e->workspace, e->project_id, "its project's create (edit " + std::to_string(id) + ") was discarded", now);
    rebuild_overlay(e->workspace, e->project_id);
  });
  spdlog::info("edit {} discarded", id);
}

EditRecord EditQueue::settle_by_user(EditId id, const Resolution& how, Timestamp now) {
  if (how.take == Resolution::Take::created_as || how.take == Resolution::Take::send_again)
    return settle_outcome_by_user(id, how, now);
  return settle_conflict_by_user(id, how, now);
}

// The user's word on an edit in conflict: which values it sends.
EditRecord EditQueue::settle_conflict_by_user(EditId id, const Resolution& how, Timestamp now) {
  return db_.in_transaction([&] {
    auto e = edits_.get(id);
    if (!e) throw EditRejected(404, "", "edit " + std::to_string(id) + " does not exist");
    if (e->state != EditState::conflict)
      throw EditRejected(409, "", "edit " + std::to_string(id) + " is " + std::string(to_text(e->state)) +
                                      ", not in conflict");
    auto row = mirror_.row(e->workspace, e->project_id);
    if (!row) throw EditRejected(409, "", project_label(e->project_id) + " is no longer known; discard the edit");
    json server = json::parse(row->body);
    switch (how.take) {
      case Resolution::Take::local:
        rewrite(*e, e->body, server, "conflict resolved: local values kept", now);
        break;
      case Resolution::Take::remote: {
        auto fields = model::conflicting_fields(e->op, e->body, e->base.value_or(json::object()), server);
        rewrite(*e, model::yield_fields(e->op, e->body, fields, server), server, "conflict resolved: server values kept",
                now);
        break;
      }
      case Resolution::Take::body: {
        auto body = normalized(e->workspace, e->op, how.body);
        check_parent_chain(e->workspace, e->op, e->project_id, body);
        rewrite(*e, body, server, "conflict resolved with a new body", now);
        break;
      }
      case Resolution::Take::created_as:
      case Resolution::Take::send_again: break;  // settle_outcome_by_user's
    }
    return *edits_.get(id);
  });
}

// The user's word on an edit the read-back could not settle.
EditRecord EditQueue::settle_outcome_by_user(EditId id, const Resolution& how, Timestamp now) {
  return db_.in_transaction([&] {
    auto e = edits_.get(id);
    if (!e) throw EditRejected(404, "", "edit " + std::to_string(id) + " does not exist");
    if (e->state != EditState::unknown_outcome)
      throw EditRejected(409, "", "edit " + std::to_string(id) + " is " + std::string(to_text(e->state)) +
                                      ", not waiting to learn its outcome");
    if (how.take == Resolution::Take::send_again) {
      edits_.set_retry(id, "sent again at the user's word (" + e->last_error.value_or("outcome unknown") + ")", now, true);
      rebuild_overlay(e->workspace, e->project_id);
      return *edits_.get(id);
    }
    if (e->op != EditOp::create)
      throw EditRejected(409, "created_as", "edit " + std::to_string(id) + " is a " + std::string(to_text(e->op)) +
                                                ", not a create; use send_again, or retry it after reading the project");
    const Id real = how.created_as;
    if (real <= 0) throw EditRejected(400, "created_as", "created_as must be a project id (a positive integer)");
    if (is_claimed(e->workspace, real))
      throw EditRejected(409, "created_as", "project " + std::to_string(real) + " is already another local create's result");
    std::optional<FetchedProject> server;
    if (auto row = mirror_.row(e->workspace, real); row && !row->deleted)
      server = fetched(model::decode_project(std::string_view(row->body)));
    settle_applied(*e, server, real, "settled by the user: created as project " + std::to_string(real), now);
    return *edits_.get(id);
  });
}

}  // namespace focus::store
