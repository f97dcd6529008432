#pragma once
// The offline edit queue and its overlay: what local tools change while the
// server may be out of reach, kept durably until the server has it.
//
// submit() validates an edit against the model and against what reads show
// (the mirror with pending edits applied), then stores it with that view as
// its base, and updates the overlay, in ONE transaction: an edit is either
// queued and visible, or rejected with the field that is wrong and nothing
// stored. A parent that would make a cycle is such a field: the chain above
// the new parent is walked (visited set, depth bound) over the overlay and
// the mirror, deleted rows included, since a restore brings them back. A create gets a negative temporary id (-edit id); once the server
// names the real id, it replaces the temporary one everywhere (queued edits,
// parent references, the overlay) in the same transaction that records the
// create as done, and later requests naming the temporary id are mapped.
//
// The replayer drives the rest of an edit's life through the settle_*
// functions; each is one transaction that also writes the change log, so an
// edit settles and its overlay dissolves into the mirror atomically (no
// moment where a read sees neither, or both).
//
// Borrows the Database and Mirror. Throws EditRejected for a bad request and
// SQLite::Exception on I/O failure. io_context thread only.

#include "model/compaction.hpp"
#include "model/edit.hpp"
#include "store/edit_store.hpp"
#include "store/mirror.hpp"

#include <nlohmann/json.hpp>

#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace focus::store {

// A request the queue refuses: `status` is the HTTP status the Focus API
// would answer (400 bad body, 404 no such project or edit, 409 not now).
class EditRejected : public std::runtime_error {
 public:
  EditRejected(int status, std::string field, const std::string& message)
      : std::runtime_error(message), status_(status), field_(std::move(field)) {}
  int status() const { return status_; }
  const std::string& field() const { return field_; }

 private:
  int status_;
  std::string field_;
};

// What reads show of one project: the overlay's version if edits are
// pending for it, else the mirror's.
struct ProjectView {
  std::string body;
  bool deleted = false;
  bool from_overlay = false;
};

struct Submitted {
  EditRecord edit;
  std::optional<std::string> project;  // the project as reads now show it (none after a delete)
};

struct EditCounts {
  std::int64_t pending = 0, in_flight = 0, unknown_outcome = 0, conflict = 0, failed = 0, done = 0;
  std::int64_t& of(EditState state);
  // Every state's count by its text, for the socket and the metrics.
  std::map<std::string, std::int64_t> by_text() const;
};

// How a user settles a conflict (local, remote, body), or an edit whose
// outcome the read-back could not prove (created_as: the create made that
// project; send_again: it was not applied, send it again).
struct Resolution {
  enum class Take { local, remote, body, created_as, send_again };
  Take take = Take::local;
  nlohmann::json body;  // for Take::body: the edit's new body
  Id created_as = 0;    // for Take::created_as: the project the create made
};

class EditQueue {
 public:
  EditQueue(Database& db, Mirror& mirror);

  // --- for local tools ---------------------------------------------------
  Submitted submit(WorkspaceKey ws, model::EditOp op, Id project_id, const nlohmann::json& body, Timestamp now);
  std::optional<ProjectView> view(WorkspaceKey ws, Id id);
  // The real id the server has since named for a temporary id, or the id
  // itself (a real id, or a temporary one whose create has not landed).
  Id real_id_for(WorkspaceKey ws, Id id);

  std::optional<EditRecord> get(EditId id) { return edits_.get(id); }
  std::vector<EditRecord> list(const std::vector<EditState>& states, std::int64_t limit, EditId after = 0) {
    return edits_.list(states, limit, after);
  }
  EditCounts counts();
  // A failed or backing-off edit is tried again at once; a conflict too,
  // unless `conflicts_wait_for_user` ([sync] conflicts = "manual", under
  // which the replayer would put it straight back) and the server still
  // holds other values for its fields: then 409.
  EditRecord retry(EditId id, Timestamp now, bool conflicts_wait_for_user = true);
  // Drops an edit that is not being sent, and its overlay (a discarded
  // create takes the edits that depend on it along).
  void discard(EditId id, Timestamp now);
  // The user's word on an edit (POST /v1/edits/{id}/resolve): settles a
  // conflict (local, remote, body), or (created_as, send_again) an unknown
  // outcome. Throws EditRejected: 404 no such edit, 409 not in a state that
  // form settles, 400 a bad body or id.
  EditRecord settle_by_user(EditId id, const Resolution& how, Timestamp now);

  // What keeps a patch or a PUT from going as it is: the fields the server
  // changed since the edit was made, and the server's project as the mirror
  // holds it. nullopt when nothing does (another op, no base, the project
  // gone: the server's answer then speaks). The replayer's check before
  // sending, and retry's.
  struct StandingConflict {
    std::vector<std::string> fields;
    nlohmann::json server;
  };
  std::optional<StandingConflict> standing_conflict(const EditRecord& edit);

  // --- for the replayer --------------------------------------------------
  // After a restart: an edit left in flight may or may not have reached the
  // server; it becomes unknown_outcome. Answers how many.
  std::int64_t recover_in_flight();
  // Collapses consecutive pending edits of one project (see compaction.hpp);
  // answers one line per collapse, for the log.
  std::vector<std::string> compact(WorkspaceKey ws, Timestamp now);
  // Edits that may be sent now, oldest first: the first active edit of its
  // project, pending or unknown_outcome (not one awaiting the user), due,
  // and naming no temporary id that is still unknown.
  std::vector<EditRecord> ready(WorkspaceKey ws, Timestamp now);
  // When the earliest edit of `ws` that ready() could answer may be sent
  // (nullopt: none; edits waiting on a create or on the user do not count).
  std::optional<Timestamp> next_attempt_at(WorkspaceKey ws);
  // Whether a local create already settled as this project.
  bool is_claimed(WorkspaceKey ws, Id real_id);

  void mark_in_flight(EditId id, Timestamp now);
  // The server applied it. `server` is its version of the project, when it
  // answered one (else the edit's effect is applied to the mirror's copy, and
  // the next listing brings the server's exact version). For a create,
  // `server` (or `created_id`) carries the real id.
  void settle_applied(const EditRecord& edit, const std::optional<FetchedProject>& server, std::optional<Id> created_id,
                      const std::string& note, Timestamp now);
  void settle_failed(const EditRecord& edit, const std::string& error, Timestamp now);
  void settle_conflict(const EditRecord& edit, const std::string& description, Timestamp now);
  void settle_unknown(const EditRecord& edit, const std::string& error);
  // The read-back could not tell which of `candidates` (if any) the create
  // made: it stays unknown_outcome, not tried again by itself, until the
  // user resolves it (see Resolution).
  void settle_ambiguous(const EditRecord& edit, const std::vector<Id>& candidates, const std::string& why, Timestamp now);

  // The user id an API key (Credentials::key_id) creates projects as in an
  // organization, learned from its own answered creates.
  std::optional<Id> own_user(Id organization, const std::string& key_id);
  void learn_own_user(Id organization, const std::string& key_id, Id user_id, Timestamp now);
  // Not sent, or proven not applied: pending again, after `next_attempt`.
  void settle_retry(const EditRecord& edit, const std::string& error, Timestamp next_attempt, bool count_attempt);
  // The edit's body and base are replaced (remote_wins drops the fields in
  // conflict); an empty patch is settled as done.
  void rewrite(const EditRecord& edit, const nlohmann::json& body, const nlohmann::json& base, const std::string& note,
               Timestamp now);

  // The overlays of a workspace after the mirror changed under them.
  void rebuild_overlays(WorkspaceKey ws);

 private:
  EditRecord settle_conflict_by_user(EditId id, const Resolution& how, Timestamp now);
  // Throws EditRejected (409) when `edit`, a conflict, still conflicts with the mirror.
  void refuse_standing_conflict(const EditRecord& edit);
  void refuse_without_its_create(const EditRecord& edit);
  EditRecord settle_outcome_by_user(EditId id, const Resolution& how, Timestamp now);
  static bool waits_on_another(const EditRecord& edit);
  void check_target(model::EditOp op, Id project_id, const std::optional<ProjectView>& current);
  nlohmann::json normalized(WorkspaceKey ws, model::EditOp op, const nlohmann::json& body);
  // Refuses (400, parent_project_id) a body that would make `project` its
  // own ancestor, or hang it below a chain deeper than the tree bound.
  void check_parent_chain(WorkspaceKey ws, model::EditOp op, Id project, const nlohmann::json& body);
  std::optional<std::optional<Id>> stored_parent(WorkspaceKey ws, Id id);
  void rebuild_overlay(WorkspaceKey ws, Id project_id);
  void replace_temporary_id(WorkspaceKey ws, Id temporary, Id real);
  void fail_dependents(WorkspaceKey ws, Id temporary, const std::string& why, Timestamp now);
  void log_edit(const EditRecord& edit, EditState state, const std::optional<std::string>& error, Timestamp now,
                std::optional<Id> result_id = std::nullopt);

  Database& db_;
  Mirror& mirror_;
  EditStore edits_;
};

}  // namespace focus::store
