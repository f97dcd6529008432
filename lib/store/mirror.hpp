#pragma once
// The mirror of the server's projects, and what it records of their changes.
//
// A full listing is staged page by page (stage), then reconcile() applies it
// in ONE transaction, and empties the staging after it: rows whose content
// hash differs are upserted and each change is logged with the fields that
// changed. A project missing from the listing is never deleted there: it is
// returned as a candidate, to be confirmed by confirm_deleted() (after a
// 404) or refreshed by upsert_one() (when the server still has it). An
// interrupted listing leaves the mirror as it was. The change log's
// sequence only goes up.
//
// Borrows the Database. Throws SQLite::Exception on I/O failure (the caller
// reports it); io_context thread only.

#include "core/time.hpp"
#include "model/change_kind.hpp"
#include "model/edit.hpp"
#include "model/project.hpp"
#include "model/workspace.hpp"
#include "store/database.hpp"

#include <SQLiteCpp/Statement.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace focus::store {

using model::Id;

using model::WorkspaceKey;

// One project as fetched: its decoded form (for the indexed columns) and its
// canonical JSON and hash, computed once.
struct FetchedProject {
  model::Project project;
  std::string body;
  std::string hash;
  std::string listing_digest;  // upstream::ProjectPage::digests; empty: unknown (stored as NULL)
};
FetchedProject fetched(model::Project project, std::string listing_digest = {});

// The listing digests the mirror holds for a workspace's live projects, by
// id: a listed project with the same digest is as the mirror has it, so a
// listing need not decode it. 40 bytes a project; kept for one listing.
class KnownDigests {
 public:
  static constexpr std::size_t kDigestSize = 32;  // model::listing_digest's hex text
  void reserve(std::size_t count);
  void add(Id id, std::string_view digest);  // in ascending id order
  // The digest held for `id`; nullopt for a project the mirror does not
  // hold live, or holds without a digest of ours.
  std::optional<std::string_view> digest_of(Id id) const;
  std::size_t size() const { return ids_.size(); }

 private:
  std::vector<Id> ids_;
  std::string digests_;  // kDigestSize bytes each, in the order of ids_
};

struct ReconcileOutcome {
  std::int64_t inserted = 0, updated = 0, restored = 0;
  std::int64_t live_before = 0;  // live projects in the mirror before
  std::vector<Id> missing;       // live in the mirror, absent from the listing
};

struct Change {
  std::int64_t seq = 0;
  WorkspaceKey workspace;
  Id project_id = 0;
  model::ChangeKind kind = model::ChangeKind::update;
  std::vector<std::string> fields;
  Timestamp at;
  std::optional<std::string> detail;  // for ChangeKind::edit: what happened to it (JSON object)
  bool initial = false;  // an insert of the workspace's first mirroring: first seen, not created
};

// One stored project: its canonical JSON and whether the server deleted it.
struct StoredProject {
  std::string body;
  bool deleted = false;
};

// What sync_state holds of one workspace. Its times are wall times, stored
// as microseconds since the epoch like every time in the cache.
struct SyncState {
  std::optional<Timestamp> last_attempt_at, last_success_at, last_full_listing_at;
  std::optional<std::string> last_error;
  std::optional<std::int64_t> project_count, per_page_cap;
  std::optional<Timestamp> newest_updated_at;
  std::optional<std::string> suspect;
  std::optional<std::int64_t> held_missing;
  std::optional<std::int64_t> quota_remaining;
  std::optional<Timestamp> quota_resets_at;
  std::optional<std::string> probe_note;
  std::int64_t requests_spent = 0;
};

class Mirror {
 public:
  // Creates the staging table for this connection, in a private database
  // of its own attached as kStagingSchema: ATTACH '' makes a temporary file
  // that SQLite deletes when it is detached or the connection closes. A
  // listing that did not finish is started again, so the staging never
  // needs to outlive the process, and it keeps the cache file free of its
  // churn.
  explicit Mirror(Database& db);
  ~Mirror();
  static constexpr const char* kStagingSchema = "listing";

  // Empties the staging of `ws`. When it holds rows of `ws` and of no other
  // workspace, its database is detached and a new one attached: deleting
  // the rows read every page back (7 % of a first sync of 100,000
  // projects); detaching drops the file. That only outside a transaction;
  // inside one, or beside another workspace's paused listing, the rows of
  // `ws` are deleted.
  void clear_staging(WorkspaceKey ws);
  void stage(WorkspaceKey ws, const std::vector<FetchedProject>& page);  // one transaction
  KnownDigests listing_digests(WorkspaceKey ws);
  // Applies the staged listing in one transaction, then empties the
  // staging of `ws`. `listed_unchanged`: the ids the listing showed with a
  // known digest (KnownDigests), seen and left as they are, so never
  // missing; the caller keeps them, not a table.
  ReconcileOutcome reconcile(WorkspaceKey ws, Timestamp now, std::vector<Id> listed_unchanged = {});
  // A candidate the server answered 404 for: marked deleted, change logged.
  // False when it was not live in the mirror.
  bool confirm_deleted(WorkspaceKey ws, Id id, Timestamp now);
  // The server's current version of one project; logs a change if it differs.
  // Returns the change kind, or nullopt when nothing changed.
  std::optional<model::ChangeKind> upsert_one(WorkspaceKey ws, const FetchedProject& project, Timestamp now);

  // A replayed edit answered without a body: the mirror takes `predicted`
  // (the stored project with the edit applied) and logs the change once,
  // for the edit: its detail is {"edit": ID, "op": OP}. The fields it predicted are remembered, so the listing
  // that brings the server's own values for them logs nothing more for them.
  void apply_prediction(WorkspaceKey ws, const FetchedProject& predicted, std::int64_t edit_id, model::EditOp op,
                        Timestamp now);

  // Logs what happened to a local edit (`detail`: a JSON object).
  void log_edit(WorkspaceKey ws, Id project_id, const std::string& detail, Timestamp now);

  std::optional<StoredProject> row(WorkspaceKey ws, Id id);
  // Live projects named exactly `name`, created at or after `since`.
  std::vector<std::string> bodies_named(WorkspaceKey ws, const std::string& name, Timestamp since);
  std::int64_t live_count(WorkspaceKey ws);
  std::vector<std::string> live_bodies(WorkspaceKey ws);  // by id
  std::vector<Id> deleted_ids(WorkspaceKey ws);

  // Live projects whose members should be fetched, most recently changed
  // first: none stored, or stored before the project last changed, or (when
  // `older_than` is given) stored before that time.
  std::vector<Id> members_wanted(WorkspaceKey ws, std::optional<Timestamp> older_than, std::int64_t limit);
  void save_members(WorkspaceKey ws, Id project_id, const std::string& body, Timestamp now);
  std::optional<std::string> members(WorkspaceKey ws, Id project_id);
  // The stored members are out of date (a local edit changed them): fetch again.
  void members_stale(WorkspaceKey ws, Id project_id);

  std::vector<Change> changes_since(std::int64_t seq, std::int64_t limit);
  std::int64_t last_change_seq();

  SyncState sync_state(WorkspaceKey ws);
  // `quota_remaining` / `quota_resets_at`: what the quota looked like after it.
  void record_attempt(WorkspaceKey ws, Timestamp at, std::int64_t requests, std::optional<std::int64_t> quota_remaining,
                      std::optional<Timestamp> quota_resets_at);
  void record_probe_note(WorkspaceKey ws, std::optional<std::string> note);
  // `held_missing`: how many deletions a suspect listing held (nullopt: none).
  void record_success(WorkspaceKey ws, Timestamp at, bool full_listing, std::optional<std::string> suspect,
                      std::optional<std::int64_t> held_missing);
  void record_error(WorkspaceKey ws, const std::string& error);
  void record_per_page_cap(WorkspaceKey ws, std::int64_t cap);

 private:
  // The parts of reconcile, in its one transaction.
  struct StagedChange {
    Id id;
    model::ChangeKind kind;
    std::vector<std::string> fields;
  };
  ReconcileOutcome apply_staging(WorkspaceKey ws, Timestamp now, std::vector<Id> listed_unchanged);
  void ensure_staging();
  // The staged projects new to the mirror, logged as inserts in one
  // statement; their count. Before the rows are written.
  std::int64_t log_staged_inserts(WorkspaceKey ws, std::int64_t now);
  // The staged projects the mirror holds otherwise (changed, or deleted
  // there), to be logged once written; counted in `out`.
  std::vector<StagedChange> staged_changes(WorkspaceKey ws, ReconcileOutcome& out);
  void write_staged_rows(WorkspaceKey ws, std::int64_t now);
  void untag_changed_rows(WorkspaceKey ws);  // before write_staged_rows
  void tag_staged_rows(WorkspaceKey ws);     // after it
  std::vector<Id> missing_from_listing(WorkspaceKey ws, std::vector<Id> listed_unchanged);
  bool holds_any_row(WorkspaceKey ws);  // deleted ones too
  // The server's version of project `id` after the mirror held a predicted
  // one: drops from `fields` the times the server stamped for what an edit
  // predicted (they are its doing), keeps every other change, and forgets
  // the prediction; `fields` is what is left to log.
  void settle_predictions(WorkspaceKey ws, Id id, const std::string& predicted_body, const std::string& server_body,
                          std::vector<std::string>& fields);
  void forget_staged_predictions(WorkspaceKey ws);
  std::optional<model::ChangeKind> write_one(WorkspaceKey ws, const FetchedProject& f, std::int64_t now,
                                             std::vector<std::string>& fields, std::string& old_body);
  void log_change(WorkspaceKey ws, Id id, model::ChangeKind kind, const std::vector<std::string>& fields, std::int64_t at,
                  const std::optional<std::string>& detail = std::nullopt, bool initial = false);
  // Prepared once: a first sync logs one change per project, and preparing
  // the statement each time was a fifth of the CPU of an ingest.
  std::unique_ptr<SQLite::Statement> log_statement_;
  // UPDATE sync_state SET `assignments` for `ws` (parameters ?1 and ?2 are
  // the workspace; `bind` binds the rest), creating the row if needed.
  void update_state(WorkspaceKey ws, const std::string& assignments,
                    const std::function<void(SQLite::Statement&)>& bind);
  Database& db_;
};

// Top-level fields whose values differ between two JSON objects, sorted.
std::vector<std::string> changed_fields(const std::string& old_body, const std::string& new_body);

}  // namespace focus::store
