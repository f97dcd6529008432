#include "store/mirror.hpp"

#include "model/project_codec.hpp"
#include "store/project_columns.hpp"
#include "store/sql_util.hpp"

#include <SQLiteCpp/Statement.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <functional>
#include <iterator>
#include <limits>
#include <set>

namespace focus::store {
namespace {

using model::ChangeKind;
using nlohmann::json;
using detail::bind_optional;
using detail::bind_optional_text;
using detail::for_workspace;
using detail::optional_int;
using detail::optional_text;

// The listing's staging table, named with its database: a table of
// another database named staging never stands in for it.
const std::string kStaging = std::string(Mirror::kStagingSchema) + ".staging";

// A mirror row's key and content columns; the indexed columns
// (project_columns.hpp) follow them.
constexpr const char* kKeyColumns[] = {"organization_id", "workspace_id", "id", "body", "hash", "listing_digest"};

std::string key_columns(const char* prefix) {
  std::string out;
  for (const char* c : kKeyColumns) out += (out.empty() ? "" : ", ") + (prefix + std::string(c));
  return out;
}

// "organization_id, ..., hash, name, ...": every column a mirror row writes.
const std::string& row_columns() {
  static const std::string sql = key_columns("") + ", " + detail::column_names();
  return sql;
}

// ":organization_id, ...": the parameters of row_columns(), in order.
const std::string& row_parameters() {
  static const std::string sql = key_columns(":") + ", " + detail::column_parameters();
  return sql;
}

// What a newer version of a row replaces; a deleted row comes back to life.
// A row rewritten only for its listing digest (the server reordered its
// keys, say) keeps its changed_at: nothing the mirror serves changed.
const std::string& upsert_clause() {
  static const std::string sql = "ON CONFLICT (organization_id, workspace_id, id) DO UPDATE SET "
                                 "body = excluded.body, hash = excluded.hash, listing_digest = excluded.listing_digest, " +
                                 detail::column_updates() +
                                 ", deleted = 0, changed_at = CASE WHEN projects.hash != excluded.hash OR "
                                 "projects.deleted = 1 THEN excluded.changed_at ELSE projects.changed_at END";
  return sql;
}

// Binds the parameters of row_columns() in one statement, looked up once.
class RowBinder {
 public:
  explicit RowBinder(SQLite::Statement& st) : st_(st), columns_(st) {
    for (std::size_t i = 0; i < std::size(kKeyColumns); ++i) keys_[i] = detail::parameter_index(st, kKeyColumns[i]);
  }
  void bind(WorkspaceKey ws, const FetchedProject& f) {
    st_.bind(keys_[0], ws.organization_id);
    st_.bind(keys_[1], ws.workspace_id);
    st_.bind(keys_[2], f.project.id);
    st_.bind(keys_[3], f.body);
    st_.bind(keys_[4], f.hash);
    if (f.listing_digest.empty()) st_.bind(keys_[5]);
    else st_.bind(keys_[5], f.listing_digest);
    columns_.bind(f.project);
  }

 private:
  SQLite::Statement& st_;
  detail::ColumnBinder columns_;
  int keys_[std::size(kKeyColumns)];  // in the order of kKeyColumns, as bind() uses them
  static_assert(std::size(kKeyColumns) == 6, "bind() binds each key column");
};

// A mirror row `p` and a staged row `s` are the same project.
const std::string kSameProject =
    "p.organization_id = s.organization_id AND p.workspace_id = s.workspace_id AND p.id = s.id";
// The staged rows that differ from the mirror (new there, changed, or
// deleted there), as a join and a WHERE after "FROM <kStaging> s ...";
// parameters ?1 and ?2 are the workspace. True only until the staged rows
// are written.
// Of a staged row `s` and the mirror's row `p` of the same project: the
// project changed, or comes back from deletion.
const std::string kChangedInMirror = "(p.hash != s.hash OR p.deleted = 1)";
const std::string kDiffersFromMirror = "LEFT JOIN projects p ON " + kSameProject +
                                       " WHERE s.organization_id = ?1 AND s.workspace_id = ?2 "
                                       "AND (p.id IS NULL OR " + kChangedInMirror + ")";

// A change log row's columns; the parameters of the same names bind them.
const std::string kChangeColumns = "organization_id, workspace_id, project_id, kind, fields, at, detail, initial";

// Whose rows the staging holds besides `ws`'s: none at all, only `ws`'s,
// or another workspace's too (its listing paused, to be resumed). Its
// first and last keys say it.
enum class StagedRows { none, only_this, others_too };

StagedRows staged_rows(SQLite::Database& db, WorkspaceKey ws) {
  bool any = false;
  for (const char* order : {"", " DESC"}) {
    SQLite::Statement st(db, "SELECT organization_id, workspace_id FROM " + kStaging + " ORDER BY organization_id" +
                                 order + ", workspace_id" + order + " LIMIT 1");
    if (!st.executeStep()) continue;
    any = true;
    if (st.getColumn(0).getInt64() != ws.organization_id || st.getColumn(1).getInt64() != ws.workspace_id)
      return StagedRows::others_too;
  }
  return any ? StagedRows::only_this : StagedRows::none;
}

}  // namespace

Mirror::Mirror(Database& db) : db_(db) { ensure_staging(); }

// Attached and made if missing: at start, and again should an attach or a
// create have failed after the last detach.
void Mirror::ensure_staging() {
  static const std::string create =
      "CREATE TABLE " + kStaging +
      " (organization_id INTEGER NOT NULL, workspace_id INTEGER NOT NULL, "
      "id INTEGER NOT NULL, body TEXT NOT NULL, hash TEXT NOT NULL, listing_digest TEXT, " +
      detail::column_definitions() +
      ", tag_ids TEXT NOT NULL, "  // a JSON array
      "UNIQUE (organization_id, workspace_id, id))";
  // Kept: it is asked before every staged page, not prepared each time.
  auto& made = db_.cached("SELECT (SELECT count(*) FROM pragma_database_list WHERE name = ?1), "
                          "(SELECT count(*) FROM pragma_table_list WHERE schema = ?1 AND name = 'staging')");
  made.bind(1, kStagingSchema);
  made.executeStep();
  const bool attached = made.getColumn(0).getInt() != 0, created = made.getColumn(1).getInt() != 0;
  made.reset();
  if (!attached) db_.attach_scratch(kStagingSchema);
  if (!created) db_.sql().exec(create);
}

void KnownDigests::reserve(std::size_t count) {
  ids_.reserve(count);
  digests_.reserve(count * kDigestSize);
}

void KnownDigests::add(Id id, std::string_view digest) {
  if (digest.size() != kDigestSize) return;  // not one of ours: never matches
  ids_.push_back(id);
  digests_.append(digest);
}

std::optional<std::string_view> KnownDigests::digest_of(Id id) const {
  auto it = std::lower_bound(ids_.begin(), ids_.end(), id);
  if (it == ids_.end() || *it != id) return std::nullopt;
  return std::string_view(digests_).substr(static_cast<std::size_t>(it - ids_.begin()) * kDigestSize, kDigestSize);
}

KnownDigests Mirror::listing_digests(WorkspaceKey ws) {
  KnownDigests known;
  // Grown once, not page by page; the count the last listing left (counting
  // the rows instead cost more than the growing).
  known.reserve(static_cast<std::size_t>(std::max<std::int64_t>(0, sync_state(ws).project_count.value_or(0))));
  auto st = for_workspace(db_.sql(),
                          "SELECT id, listing_digest FROM projects WHERE organization_id = ? AND workspace_id = ? "
                          "AND deleted = 0 AND listing_digest IS NOT NULL ORDER BY id", ws);
  while (st.executeStep()) {
    // Read in place (a string for each would cost a malloc): the text
    // first, then its length, as SQLite asks.
    const auto column = st.getColumn(1);
    const char* digest = column.getText();
    const auto length = static_cast<std::size_t>(column.getBytes());
    known.add(st.getColumn(0).getInt64(), std::string_view(digest, length));
  }
  return known;
}

Mirror::~Mirror() = default;

FetchedProject fetched(model::Project project, std::string listing_digest) {
  FetchedProject f;
  f.body = model::canonical_json(project);
  f.hash = model::content_hash(f.body);
  f.project = std::move(project);
  f.listing_digest = std::move(listing_digest);
  return f;
}

std::vector<std::string> changed_fields(const std::string& old_body, const std::string& new_body) {
  json a = json::parse(old_body, nullptr, false), b = json::parse(new_body, nullptr, false);
  std::set<std::string> keys;
  if (a.is_object())
    for (auto& [k, v] : a.items()) keys.insert(k);
  if (b.is_object())
    for (auto& [k, v] : b.items()) keys.insert(k);
  std::vector<std::string> out;
  for (const auto& k : keys) {
    bool in_a = a.is_object() && a.contains(k), in_b = b.is_object() && b.contains(k);
    if (in_a != in_b || (in_a && a[k] != b[k])) out.push_back(k);
  }
  return out;
}

void Mirror::log_change(WorkspaceKey ws, Id id, ChangeKind kind, const std::vector<std::string>& fields,
                        std::int64_t at, const std::optional<std::string>& detail, bool initial) {
  if (!log_statement_)
    log_statement_ = std::make_unique<SQLite::Statement>(
        db_.sql(), "INSERT INTO changes (" + kChangeColumns + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
  auto& st = *log_statement_;
  st.reset();
  st.bind(1, ws.organization_id);
  st.bind(2, ws.workspace_id);
  st.bind(3, id);
  st.bind(4, std::string(to_text(kind)));
  st.bind(5, json(fields).dump());
  st.bind(6, at);
  bind_optional_text(st, 7, detail);
  st.bind(8, initial ? 1 : 0);
  st.exec();
}

void Mirror::log_edit(WorkspaceKey ws, Id project_id, const std::string& detail, Timestamp now) {
  log_change(ws, project_id, ChangeKind::edit, {}, detail::micros(now), detail);
}

std::optional<StoredProject> Mirror::row(WorkspaceKey ws, Id id) {
  auto& st = db_.cached("SELECT body, deleted FROM projects WHERE organization_id = ? AND workspace_id = ? AND id = ?");
  st.bind(1, ws.organization_id);
  st.bind(2, ws.workspace_id);
  st.bind(3, id);
  if (!st.executeStep()) return std::nullopt;
  return StoredProject{st.getColumn(0).getString(), st.getColumn(1).getInt() != 0};
}

// Staging, sync bookkeeping and members are the listing's bulk writes: not
// synced on commit (a power cut loses at most what the next listing
// rewrites). Everything that reaches the mirror or the change log is synced,
// so the change feed never hands out a change a power cut can take back.
void Mirror::clear_staging(WorkspaceKey ws) {
  ensure_staging();
  const StagedRows rows = staged_rows(db_.sql(), ws);
  if (rows == StagedRows::none) return;
  if (rows == StagedRows::only_this && !db_.transaction_open()) {
    db_.detach(kStagingSchema);
    return ensure_staging();
  }
  db_.in_relaxed_transaction([&] {
    for_workspace(db_.sql(), "DELETE FROM " + kStaging + " WHERE organization_id = ? AND workspace_id = ?", ws).exec();
  });
}

void Mirror::stage(WorkspaceKey ws, const std::vector<FetchedProject>& page) {
  if (page.empty()) return;  // a page listed unchanged: no transaction to open
  ensure_staging();
  db_.in_relaxed_transaction([&] {
    // INSERT OR REPLACE: a project served twice (offset drift) is kept once.
    static const std::string sql =
        "INSERT OR REPLACE INTO " + kStaging + " (" + row_columns() + ", tag_ids) VALUES (" + row_parameters() + ", :tag_ids)";
    auto& st = db_.cached(sql);  // kept: a listing stages a page every request
    RowBinder row(st);
    const int tag_ids = detail::parameter_index(st, "tag_ids");
    for (const auto& f : page) {
      row.bind(ws, f);
      st.bind(tag_ids, json(f.project.tag_ids).dump());
      st.exec();
      st.reset();
    }
  });
}

ReconcileOutcome Mirror::reconcile(WorkspaceKey ws, Timestamp now_time, std::vector<Id> listed_unchanged) {
  auto outcome = db_.with_bulk_page_cache([&] {
    auto applied = apply_staging(ws, now_time, std::move(listed_unchanged));
    // Emptied after the commit (a database is detached only between
    // transactions; should the apply fail, its staging is kept for the next
    // pass), and within the wide cache's scope, whose end hands the
    // staging's freed pages back too.
    try {
      clear_staging(ws);
    } catch (const std::exception& e) {
      // The mirror is applied; the next listing clears the staging as it starts.
      spdlog::warn("workspace {}/{}: cannot empty the staging after the listing: {}", ws.organization_id,
                   ws.workspace_id, e.what());
    }
    return applied;
  });
  db_.refresh_statistics();
  return outcome;
}

ReconcileOutcome Mirror::apply_staging(WorkspaceKey ws, Timestamp now_time, std::vector<Id> listed_unchanged) {
  const std::int64_t now = now_time.time_since_epoch().count();
  return db_.in_transaction([&] {
    ReconcileOutcome out;
    out.live_before = live_count(ws);
    // These three compare the staged rows with the mirror: before the rows are written.
    out.inserted = log_staged_inserts(ws, now);
    const auto changes = staged_changes(ws, out);
    untag_changed_rows(ws);
    write_staged_rows(ws, now);
    tag_staged_rows(ws);  // after: a tag names a row of projects
    for (const auto& c : changes) log_change(ws, c.id, c.kind, c.fields, now);
    forget_staged_predictions(ws);
    out.missing = missing_from_listing(ws, std::move(listed_unchanged));
    return out;
  });
}

// A first sync logs every project as new: one statement for them all, not
// one for each.
std::int64_t Mirror::log_staged_inserts(WorkspaceKey ws, std::int64_t now) {
  // A workspace never listed in full, of which the mirror holds nothing, is
  // being mirrored for the first time: its projects are first seen, not
  // created. (An empty workspace once listed is not: its first project is
  // a real create.)
  const bool first_mirroring = !sync_state(ws).last_full_listing_at && !holds_any_row(ws);
  static const std::string sql = "INSERT INTO changes (" + kChangeColumns +
                                 ") SELECT s.organization_id, s.workspace_id, s.id, :kind, :fields, :at, NULL, :initial "
                                 "FROM " + kStaging + " s WHERE s.organization_id = :organization_id AND "
                                 "s.workspace_id = :workspace_id AND NOT EXISTS (SELECT 1 FROM projects p WHERE " +
                                 kSameProject + ") ORDER BY s.id";
  SQLite::Statement st(db_.sql(), sql);
  st.bind(":organization_id", ws.organization_id);
  st.bind(":workspace_id", ws.workspace_id);
  st.bind(":kind", std::string(to_text(ChangeKind::insert)));
  st.bind(":fields", json::array().dump());
  st.bind(":at", now);
  st.bind(":initial", first_mirroring ? 1 : 0);
  return st.exec();
}

std::vector<Mirror::StagedChange> Mirror::staged_changes(WorkspaceKey ws, ReconcileOutcome& out) {
  std::vector<StagedChange> changes;
  auto st = for_workspace(db_.sql(),
                          "SELECT s.id, s.body, p.body, p.deleted FROM " + kStaging + " s JOIN projects p ON " +
                              kSameProject + " WHERE s.organization_id = ?1 AND s.workspace_id = ?2 AND " +
                              kChangedInMirror + " ORDER BY s.id",
                          ws);
  while (st.executeStep()) {
    const Id id = st.getColumn(0).getInt64();
    const bool restored = st.getColumn(3).getInt() != 0;
    auto fields = changed_fields(st.getColumn(2).getString(), st.getColumn(1).getString());
    if (!restored) {
      settle_predictions(ws, id, st.getColumn(2).getString(), st.getColumn(1).getString(), fields);
      if (fields.empty()) continue;  // only the server's values for what an edit predicted
    }
    changes.push_back({id, restored ? ChangeKind::restore : ChangeKind::update, std::move(fields)});
    ++(restored ? out.restored : out.updated);
  }
  return changes;
}

bool Mirror::holds_any_row(WorkspaceKey ws) {
  return for_workspace(db_.sql(), "SELECT 1 FROM projects WHERE organization_id = ? AND workspace_id = ? LIMIT 1", ws)
      .executeStep();
}

void Mirror::settle_predictions(WorkspaceKey ws, Id id, const std::string& predicted_body,
                                const std::string& server_body, std::vector<std::string>& fields) {
  auto& st = db_.cached(
      "DELETE FROM predicted_fields WHERE organization_id = ? AND workspace_id = ? AND project_id = ? RETURNING fields");
  st.bind(1, ws.organization_id);
  st.bind(2, ws.workspace_id);
  st.bind(3, id);
  if (!st.executeStep()) return;
  const auto predicted = json::parse(st.getColumn(0).getString()).get<std::vector<std::string>>();
  st.reset();  // the row is deleted at the first step; done with the statement
  // Only a time the server stamped where the edit predicted one (both set)
  // is the edit's doing; any other difference in a predicted field is
  // somebody's change (a colleague unarchiving what we archived, say).
  const json before = json::parse(predicted_body, nullptr, false), after = json::parse(server_body, nullptr, false);
  auto set = [](const json& body, const std::string& f) {
    return body.is_object() && body.contains(f) && !body[f].is_null();
  };
  std::erase_if(fields, [&](const std::string& f) {
    const bool was_predicted = std::find(predicted.begin(), predicted.end(), f) != predicted.end();
    return was_predicted && f.ends_with("_at") && set(before, f) && set(after, f);
  });
}

// A listed project's values are the server's: what an edit predicted of it
// is settled, whether or not the listing changed it.
void Mirror::forget_staged_predictions(WorkspaceKey ws) {
  for_workspace(db_.sql(),
                "DELETE FROM predicted_fields WHERE organization_id = ?1 AND workspace_id = ?2 AND project_id IN "
                "(SELECT id FROM " + kStaging + " WHERE organization_id = ?1 AND workspace_id = ?2)",
                ws)
      .exec();
}

void Mirror::write_staged_rows(WorkspaceKey ws, std::int64_t now) {
  // Only rows that differ are written: a listing with no change writes none.
  static const std::string sql =
      "INSERT INTO projects (" + row_columns() + ", deleted, first_seen_at, changed_at) SELECT " + row_columns() +
      ", 0, :now, :now FROM " + kStaging + " WHERE organization_id = :organization_id AND workspace_id = :workspace_id " +
      upsert_clause() +
      " WHERE projects.hash != excluded.hash OR projects.deleted = 1 OR "
      "projects.listing_digest IS NOT excluded.listing_digest";
  SQLite::Statement st(db_.sql(), sql);
  st.bind(":organization_id", ws.organization_id);
  st.bind(":workspace_id", ws.workspace_id);
  st.bind(":now", now);
  st.exec();
}

// The tags of a listing, in one statement each way for the whole listing:
// those of the projects that changed are dropped before the rows are
// written, and every staged project's are added after. A project that did
// not change still has its tags, so OR IGNORE leaves them as they are.
void Mirror::untag_changed_rows(WorkspaceKey ws) {
  for_workspace(db_.sql(),
                "DELETE FROM project_tags WHERE organization_id = ?1 AND workspace_id = ?2 AND project_id IN "
                "(SELECT s.id FROM " + kStaging + " s " + kDiffersFromMirror + ")",
                ws)
      .exec();
}

void Mirror::tag_staged_rows(WorkspaceKey ws) {
  for_workspace(db_.sql(),
                "INSERT OR IGNORE INTO project_tags SELECT s.organization_id, s.workspace_id, s.id, j.value "
                "FROM " + kStaging + " s, json_each(s.tag_ids) j WHERE s.organization_id = ?1 AND s.workspace_id = ?2",
                ws)
      .exec();
}

// Live in the mirror, and neither staged nor listed unchanged. Set
// arithmetic on sorted ids in memory: the live ids come from an index alone
// (projects_live), where asking SQLite to exclude a listing's worth of
// unchanged ids cost a row written per id and a lookup per row.
std::vector<Id> Mirror::missing_from_listing(WorkspaceKey ws, std::vector<Id> listed) {
  auto ids = [&](const std::string& sql) {
    std::vector<Id> out;
    auto st = for_workspace(db_.sql(), sql, ws);
    while (st.executeStep()) out.push_back(st.getColumn(0).getInt64());
    std::sort(out.begin(), out.end());
    return out;
  };
  const auto live = ids("SELECT id FROM projects WHERE organization_id = ? AND workspace_id = ? AND deleted = 0");
  const auto staged = ids("SELECT id FROM " + kStaging + " WHERE organization_id = ? AND workspace_id = ?");
  std::sort(listed.begin(), listed.end());
  std::vector<Id> not_staged, missing;
  std::set_difference(live.begin(), live.end(), staged.begin(), staged.end(), std::back_inserter(not_staged));
  std::set_difference(not_staged.begin(), not_staged.end(), listed.begin(), listed.end(), std::back_inserter(missing));
  return missing;
}

bool Mirror::confirm_deleted(WorkspaceKey ws, Id id, Timestamp now_time) {
  const std::int64_t now = now_time.time_since_epoch().count();
  return db_.in_transaction([&] {
    SQLite::Statement st(db_.sql(),
                         "UPDATE projects SET deleted = 1, changed_at = ? WHERE organization_id = ? AND workspace_id = ? "
                         "AND id = ? AND deleted = 0");
    st.bind(1, now);
    st.bind(2, ws.organization_id);
    st.bind(3, ws.workspace_id);
    st.bind(4, id);
    if (st.exec() == 0) return false;
    log_change(ws, id, ChangeKind::remove, {}, now);
    return true;
  });
}

std::optional<ChangeKind> Mirror::upsert_one(WorkspaceKey ws, const FetchedProject& f, Timestamp now_time) {
  const std::int64_t now = now_time.time_since_epoch().count();
  return db_.in_transaction([&]() -> std::optional<ChangeKind> {
    std::vector<std::string> fields;
    std::string old_body;
    auto kind = write_one(ws, f, now, fields, old_body);
    if (!kind) return std::nullopt;
    if (*kind == ChangeKind::update) {
      settle_predictions(ws, f.project.id, old_body, f.body, fields);
      if (fields.empty()) return std::nullopt;  // only the server's values for what an edit predicted
    }
    log_change(ws, f.project.id, *kind, fields, now);
    return kind;
  });
}

void Mirror::apply_prediction(WorkspaceKey ws, const FetchedProject& predicted, std::int64_t edit_id, model::EditOp op,
                              Timestamp now_time) {
  const std::int64_t now = now_time.time_since_epoch().count();
  db_.in_transaction([&] {
    std::vector<std::string> fields;
    std::string old_body;
    auto kind = write_one(ws, predicted, now, fields, old_body);
    if (!kind) return;
    log_change(ws, predicted.project.id, *kind, fields, now, json{{"edit", edit_id}, {"op", to_text(op)}}.dump());
    // Added to what an earlier edit predicted and no listing has settled yet.
    auto st = for_workspace(db_.sql(),
                            "SELECT fields FROM predicted_fields WHERE organization_id = ? AND workspace_id = ? "
                            "AND project_id = ?",
                            ws);
    st.bind(3, predicted.project.id);
    if (st.executeStep())
      for (auto& f : json::parse(st.getColumn(0).getString()).get<std::vector<std::string>>()) fields.push_back(f);
    std::sort(fields.begin(), fields.end());
    fields.erase(std::unique(fields.begin(), fields.end()), fields.end());
    auto save = for_workspace(db_.sql(), "INSERT OR REPLACE INTO predicted_fields VALUES (?, ?, ?, ?, ?)", ws);
    save.bind(3, predicted.project.id);
    save.bind(4, json(fields).dump());
    save.bind(5, edit_id);
    save.exec();
  });
}

// Writes the server's (or a predicted) version of one project and its tags:
// the change kind and the fields that differ, or nullopt when the stored
// row is the same.
std::optional<ChangeKind> Mirror::write_one(WorkspaceKey ws, const FetchedProject& f, std::int64_t now,
                                            std::vector<std::string>& fields, std::string& old_body) {
  auto old = for_workspace(db_.sql(),
                           "SELECT body, hash, deleted FROM projects WHERE organization_id = ? AND workspace_id = ? AND id = ?",
                           ws);
  old.bind(3, f.project.id);
  ChangeKind kind = ChangeKind::insert;
  if (old.executeStep()) {
    bool deleted = old.getColumn(2).getInt() != 0;
    if (old.getColumn(1).getString() == f.hash && !deleted) return std::nullopt;
    kind = deleted ? ChangeKind::restore : ChangeKind::update;
    old_body = old.getColumn(0).getString();
    fields = changed_fields(old_body, f.body);
  }
  static const std::string sql = "INSERT INTO projects (" + row_columns() +
                                 ", deleted, first_seen_at, changed_at) VALUES (" + row_parameters() +
                                 ", 0, :now, :now) " + upsert_clause();
  auto& write = db_.cached(sql);  // kept: preparing it was most of the cost of one upsert
  RowBinder(write).bind(ws, f);
  write.bind(":now", now);
  write.exec();
  auto drop = for_workspace(db_.sql(), "DELETE FROM project_tags WHERE organization_id = ? AND workspace_id = ? AND project_id = ?", ws);
  drop.bind(3, f.project.id);
  drop.exec();
  SQLite::Statement tag(db_.sql(), "INSERT OR IGNORE INTO project_tags VALUES (?, ?, ?, ?)");
  for (Id t : f.project.tag_ids) {
    tag.bind(1, ws.organization_id);
    tag.bind(2, ws.workspace_id);
    tag.bind(3, f.project.id);
    tag.bind(4, t);
    tag.exec();
    tag.reset();
  }
  return kind;
}

std::vector<std::string> Mirror::bodies_named(WorkspaceKey ws, const std::string& name, Timestamp since) {
  auto st = for_workspace(db_.sql(),
                          "SELECT body FROM projects WHERE organization_id = ? AND workspace_id = ? AND name = ? "
                          "AND created_at >= ? AND deleted = 0 ORDER BY id", ws);
  st.bind(3, name);
  st.bind(4, detail::micros(since));
  std::vector<std::string> out;
  while (st.executeStep()) out.push_back(st.getColumn(0).getString());
  return out;
}

std::int64_t Mirror::live_count(WorkspaceKey ws) {
  auto st = for_workspace(
      db_.sql(), "SELECT count(*) FROM projects WHERE organization_id = ? AND workspace_id = ? AND deleted = 0", ws);
  st.executeStep();
  return st.getColumn(0).getInt64();
}

std::vector<std::string> Mirror::live_bodies(WorkspaceKey ws) {
  auto st = for_workspace(
      db_.sql(), "SELECT body FROM projects WHERE organization_id = ? AND workspace_id = ? AND deleted = 0 ORDER BY id", ws);
  std::vector<std::string> out;
  while (st.executeStep()) out.push_back(st.getColumn(0).getString());
  return out;
}

std::vector<Id> Mirror::deleted_ids(WorkspaceKey ws) {
  auto st = for_workspace(
      db_.sql(), "SELECT id FROM projects WHERE organization_id = ? AND workspace_id = ? AND deleted = 1 ORDER BY id", ws);
  std::vector<Id> out;
  while (st.executeStep()) out.push_back(st.getColumn(0).getInt64());
  return out;
}

std::vector<Id> Mirror::members_wanted(WorkspaceKey ws, std::optional<Timestamp> older_than, std::int64_t limit) {
  auto st = for_workspace(db_.sql(),
                       "SELECT p.id FROM projects p LEFT JOIN members m ON m.organization_id = p.organization_id "
                       "AND m.workspace_id = p.workspace_id AND m.project_id = p.id "
                       "WHERE p.organization_id = ?1 AND p.workspace_id = ?2 AND p.deleted = 0 "
                       "AND (m.project_id IS NULL OR m.fetched_at < p.changed_at OR m.fetched_at < ?3) "
                       "ORDER BY p.changed_at DESC, p.id LIMIT ?4", ws);
  st.bind(3, older_than ? detail::micros(*older_than) : std::numeric_limits<std::int64_t>::min());
  st.bind(4, limit);
  std::vector<Id> out;
  while (st.executeStep()) out.push_back(st.getColumn(0).getInt64());
  return out;
}

void Mirror::save_members(WorkspaceKey ws, Id project_id, const std::string& body, Timestamp now) {
  db_.in_relaxed_transaction([&] {
    auto st = for_workspace(db_.sql(), "INSERT OR REPLACE INTO members VALUES (?, ?, ?, ?, ?)", ws);
    st.bind(3, project_id);
    st.bind(4, body);
    st.bind(5, detail::micros(now));
    st.exec();
  });
}

std::optional<std::string> Mirror::members(WorkspaceKey ws, Id project_id) {
  auto st = for_workspace(
      db_.sql(), "SELECT body FROM members WHERE organization_id = ? AND workspace_id = ? AND project_id = ?", ws);
  st.bind(3, project_id);
  if (!st.executeStep()) return std::nullopt;
  return st.getColumn(0).getString();
}

void Mirror::members_stale(WorkspaceKey ws, Id project_id) {
  auto st = for_workspace(db_.sql(), "UPDATE members SET fetched_at = 0 WHERE organization_id = ? AND workspace_id = ? AND project_id = ?", ws);
  st.bind(3, project_id);
  st.exec();
}

std::vector<Change> Mirror::changes_since(std::int64_t seq, std::int64_t limit) {
  SQLite::Statement st(db_.sql(),
                       "SELECT seq, organization_id, workspace_id, project_id, kind, fields, at, detail, initial FROM changes "
                       "WHERE seq > ? ORDER BY seq LIMIT ?");
  st.bind(1, seq);
  st.bind(2, limit);
  std::vector<Change> out;
  while (st.executeStep()) {
    Change c;
    c.seq = st.getColumn(0).getInt64();
    c.workspace = {st.getColumn(1).getInt64(), st.getColumn(2).getInt64()};
    c.project_id = st.getColumn(3).getInt64();
    auto kind = from_text<ChangeKind>(st.getColumn(4).getString());
    if (!kind)
      throw StoreError("change " + std::to_string(c.seq) + " in the cache has an unknown kind '" +
                       st.getColumn(4).getString() + "': the cache was changed by hand or is damaged");
    c.kind = *kind;
    c.fields = json::parse(st.getColumn(5).getString()).get<std::vector<std::string>>();
    c.at = detail::from_micros(st.getColumn(6).getInt64());
    c.detail = optional_text(st, 7);
    c.initial = st.getColumn(8).getInt() != 0;
    out.push_back(std::move(c));
  }
  return out;
}

std::int64_t Mirror::last_change_seq() {
  return db_.sql().execAndGet("SELECT COALESCE(max(seq), 0) FROM changes").getInt64();
}

namespace {

std::optional<Timestamp> optional_time(SQLite::Statement& st, int column) {
  auto us = optional_int(st, column);
  return us ? std::optional<Timestamp>(detail::from_micros(*us)) : std::nullopt;
}

}  // namespace

SyncState Mirror::sync_state(WorkspaceKey ws) {
  auto& st = db_.cached("SELECT last_attempt_at, last_success_at, last_full_listing_at, last_error, project_count, "
                        "per_page_cap, newest_updated_at, suspect, requests_spent, held_missing, quota_remaining, "
                        "quota_resets_at, probe_note FROM sync_state "
                        "WHERE organization_id = ? AND workspace_id = ?");
  st.bind(1, ws.organization_id);
  st.bind(2, ws.workspace_id);
  SyncState s;
  if (!st.executeStep()) return s;
  s.last_attempt_at = optional_time(st, 0);
  s.last_success_at = optional_time(st, 1);
  s.last_full_listing_at = optional_time(st, 2);
  s.last_error = optional_text(st, 3);
  s.project_count = optional_int(st, 4);
  s.per_page_cap = optional_int(st, 5);
  s.newest_updated_at = optional_time(st, 6);
  s.suspect = optional_text(st, 7);
  s.requests_spent = st.getColumn(8).getInt64();
  s.held_missing = optional_int(st, 9);
  s.quota_remaining = optional_int(st, 10);
  s.quota_resets_at = optional_time(st, 11);
  s.probe_note = optional_text(st, 12);
  return s;
}

namespace {

void ensure_state_row(SQLite::Database& db, WorkspaceKey ws) {
  for_workspace(db, "INSERT OR IGNORE INTO sync_state (organization_id, workspace_id) VALUES (?, ?)", ws).exec();
}

}  // namespace

void Mirror::record_attempt(WorkspaceKey ws, Timestamp at, std::int64_t requests,
                            std::optional<std::int64_t> quota_remaining, std::optional<Timestamp> quota_resets_at) {
  update_state(ws,
               "last_attempt_at = ?3, requests_spent = requests_spent + ?4, quota_remaining = ?5, quota_resets_at = ?6",
               [&](SQLite::Statement& st) {
                 st.bind(3, detail::micros(at));
                 st.bind(4, requests);
                 bind_optional(st, 5, quota_remaining);
                 if (quota_resets_at) st.bind(6, detail::micros(*quota_resets_at));
                 else st.bind(6);
               });
}

void Mirror::record_probe_note(WorkspaceKey ws, std::optional<std::string> note) {
  update_state(ws, "probe_note = ?3", [&](SQLite::Statement& st) { bind_optional_text(st, 3, note); });
}

void Mirror::record_success(WorkspaceKey ws, Timestamp at, bool full_listing, std::optional<std::string> suspect,
                            std::optional<std::int64_t> held_missing) {
  update_state(ws,
               "last_success_at = ?3, last_error = NULL, suspect = ?4, held_missing = ?6, "
               "last_full_listing_at = CASE WHEN ?5 THEN ?3 ELSE last_full_listing_at END, "
               "project_count = (SELECT count(*) FROM projects p WHERE p.organization_id = ?1 "
               "  AND p.workspace_id = ?2 AND p.deleted = 0), "
               "newest_updated_at = (SELECT max(updated_at) FROM projects p WHERE p.organization_id = ?1 "
               "  AND p.workspace_id = ?2 AND p.deleted = 0)",
               [&](SQLite::Statement& st) {
                 st.bind(3, detail::micros(at));
                 bind_optional_text(st, 4, suspect);
                 st.bind(5, full_listing ? 1 : 0);
                 bind_optional(st, 6, held_missing);
               });
}

void Mirror::update_state(WorkspaceKey ws, const std::string& assignments,
                          const std::function<void(SQLite::Statement&)>& bind) {
  db_.in_relaxed_transaction([&] {
    ensure_state_row(db_.sql(), ws);
    auto st = for_workspace(db_.sql(),
                            "UPDATE sync_state SET " + assignments + " WHERE organization_id = ?1 AND workspace_id = ?2", ws);
    bind(st);
    st.exec();
  });
}

void Mirror::record_error(WorkspaceKey ws, const std::string& error) {
  update_state(ws, "last_error = ?3", [&](SQLite::Statement& st) { st.bind(3, error); });
}

void Mirror::record_per_page_cap(WorkspaceKey ws, std::int64_t cap) {
  update_state(ws, "per_page_cap = ?3", [&](SQLite::Statement& st) { st.bind(3, cap); });
}

}  // namespace focus::store
