#pragma once
// The rows of the `edits` table, as values: reading, inserting and changing
// the state of one edit. No rules live here (see EditQueue); every function
// runs one statement, inside the caller's transaction when there is one.
// Texts (last_error, note) are stored as valid UTF-8 of bounded length
// whatever they quote. Throws SQLite::Exception on I/O failure. io_context
// thread only.

#include "core/time.hpp"
#include "model/edit.hpp"
#include "store/database.hpp"
#include "store/mirror.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace focus::store {

using model::EditState;  // its text and the active states: model/edit.hpp

using EditId = std::int64_t;

struct EditRecord {
  EditId id = 0;
  WorkspaceKey workspace;
  Id project_id = 0;  // negative: the temporary id of a queued create
  model::EditOp op = model::EditOp::patch;
  nlohmann::json body;                // null for the flag operations
  std::optional<nlohmann::json> base;  // the project as the edit saw it; none for a create
  EditState state = EditState::pending;
  std::int64_t attempts = 0;
  std::optional<std::string> last_error, note;
  Timestamp created_at;
  Timestamp next_attempt_at;
  std::optional<Timestamp> sent_at, settled_at;
  std::optional<Id> result_id;  // a create's real id
  // A lost create's read-back found several projects it may have made (or
  // only one that no longer carries its values): their ids, until the user
  // settles it with resolve (created_as / send_again). Such an edit is not
  // tried again by itself.
  std::vector<Id> candidates;
  bool awaits_user() const { return state == EditState::unknown_outcome && !candidates.empty(); }

  nlohmann::json to_json() const;  // for the socket and the CLI
};

class EditStore {
 public:
  explicit EditStore(Database& db) : db_(db) {}

  EditId insert(const EditRecord& edit);  // id and state as given are ignored: a new pending edit
  std::optional<EditRecord> get(EditId id);
  // Edits in `states` (all when empty), oldest first, at most `limit`.
  // Edits in `states` (all when empty) with ids above `after`, oldest first.
  std::vector<EditRecord> list(const std::vector<EditState>& states, std::int64_t limit, EditId after = 0);
  // Active edits of one project, oldest first.
  std::vector<EditRecord> active_for(WorkspaceKey ws, Id project_id);
  // Projects (ids) of one workspace with active edits.
  std::vector<Id> projects_with_active_edits(WorkspaceKey ws);
  // Every edit whose state is pending or unknown_outcome and whose project
  // has no older active edit, oldest first.
  std::vector<EditRecord> heads(WorkspaceKey ws);

  void set_state(EditId id, EditState state, std::optional<std::string> last_error, std::optional<std::string> note);
  void set_in_flight(EditId id, Timestamp now);
  void set_retry(EditId id, std::string error, Timestamp next_attempt, bool count_attempt);
  void set_settled(EditId id, EditState state, std::optional<std::string> last_error, std::optional<std::string> note,
                   std::optional<Id> result_id, Timestamp now);
  void set_body(EditId id, const nlohmann::json& body, const std::optional<nlohmann::json>& base);
  void set_project(EditId id, Id project_id);
  void set_candidates(EditId id, const std::vector<Id>& candidates);
  void remove(EditId id);

 private:
  Database& db_;
};

}  // namespace focus::store
