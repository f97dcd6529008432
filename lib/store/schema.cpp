// The cache's schema, as migrations. Never edit a migration that has
// shipped: add one. Each runs in its own transaction (see Database::migrate).
#include "store/database.hpp"

namespace focus::store {

const std::vector<const char*>& migrations() {
  static const std::vector<const char*> all = {
      // 1: the mirror, its tags, members, the change log, sync state.
      R"sql(
CREATE TABLE projects (
  organization_id INTEGER NOT NULL,
  workspace_id    INTEGER NOT NULL,
  id              INTEGER NOT NULL,
  body            TEXT NOT NULL,     -- canonical JSON, as served
  hash            TEXT NOT NULL,     -- content hash of body
  name            TEXT NOT NULL,
  archived        INTEGER NOT NULL,
  pinned          INTEGER NOT NULL,
  private         INTEGER NOT NULL,
  client_id       INTEGER,
  parent_id       INTEGER,
  creator_id      INTEGER,
  start_date      TEXT,
  end_date        TEXT,
  created_at      INTEGER,   -- microseconds since the epoch: sorts as time does
  updated_at      INTEGER,
  deleted         INTEGER NOT NULL DEFAULT 0,  -- confirmed gone upstream (kept for restore)
  first_seen_at   INTEGER NOT NULL,  -- microseconds since the epoch, as every time we compare
  changed_at      INTEGER NOT NULL,
  -- A rowid table: rows of about a kilobyte pack badly WITHOUT ROWID.
  UNIQUE (organization_id, workspace_id, id)
);
CREATE INDEX projects_by_name    ON projects (organization_id, workspace_id, name COLLATE NOCASE);
CREATE INDEX projects_by_state   ON projects (organization_id, workspace_id, deleted, archived, pinned, private);
CREATE INDEX projects_by_client  ON projects (organization_id, workspace_id, client_id);
CREATE INDEX projects_by_parent  ON projects (organization_id, workspace_id, parent_id);
CREATE INDEX projects_by_creator ON projects (organization_id, workspace_id, creator_id);
CREATE INDEX projects_by_updated ON projects (organization_id, workspace_id, updated_at);
CREATE INDEX projects_by_created ON projects (organization_id, workspace_id, created_at);
CREATE INDEX projects_by_dates   ON projects (organization_id, workspace_id, start_date, end_date);

CREATE TABLE project_tags (
  organization_id INTEGER NOT NULL,
  workspace_id    INTEGER NOT NULL,
  project_id      INTEGER NOT NULL,
  tag_id          INTEGER NOT NULL,
  PRIMARY KEY (organization_id, workspace_id, project_id, tag_id),
  FOREIGN KEY (organization_id, workspace_id, project_id)
    REFERENCES projects (organization_id, workspace_id, id) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX project_tags_by_tag ON project_tags (organization_id, workspace_id, tag_id);

CREATE TABLE members (
  organization_id INTEGER NOT NULL,
  workspace_id    INTEGER NOT NULL,
  project_id      INTEGER NOT NULL,
  body            TEXT NOT NULL,     -- the members JSON, as served
  fetched_at      INTEGER NOT NULL,
  PRIMARY KEY (organization_id, workspace_id, project_id)
);

CREATE TABLE changes (
  seq             INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused, never goes back
  organization_id INTEGER NOT NULL,
  workspace_id    INTEGER NOT NULL,
  project_id      INTEGER NOT NULL,
  kind            TEXT NOT NULL CHECK (kind IN ('insert', 'update', 'delete', 'restore')),
  fields          TEXT NOT NULL,  -- JSON array of changed top-level field names
  at              INTEGER NOT NULL  -- microseconds since the epoch
);
CREATE INDEX changes_by_time ON changes (at);
CREATE INDEX changes_by_project ON changes (organization_id, workspace_id, project_id);

CREATE TABLE sync_state (
  organization_id     INTEGER NOT NULL,
  workspace_id        INTEGER NOT NULL,
  last_attempt_at     TEXT,
  last_success_at     TEXT,
  last_full_listing_at TEXT,
  last_error          TEXT,
  project_count       INTEGER,
  newest_updated_at   INTEGER,  -- microseconds since the epoch
  requests_spent      INTEGER NOT NULL DEFAULT 0,
  per_page_cap        INTEGER,
  suspect             TEXT,   -- why deletions are being held, or NULL
  held_missing        INTEGER,  -- how many were missing when they were held
  quota_remaining     INTEGER,  -- as the last answer said
  quota_resets_at     TEXT,
  probe_note          TEXT,     -- why probes are not trusted, or NULL
  PRIMARY KEY (organization_id, workspace_id)
) WITHOUT ROWID;
)sql",
      // 2: the edit queue, its overlay, temporary ids; the change log also
      // records what happened to edits (kind 'edit', with a detail object).
      R"sql(
CREATE TABLE edits (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: -id is a create's temporary id
  organization_id INTEGER NOT NULL,
  workspace_id    INTEGER NOT NULL,
  project_id      INTEGER NOT NULL,  -- negative: a queued create's temporary id
  op              TEXT NOT NULL CHECK (op IN ('create', 'update', 'patch', 'delete', 'archive', 'unarchive',
                    'restore', 'pin', 'unpin', 'members_add', 'members_role', 'members_remove')),
  body            TEXT,              -- normalized wire JSON; NULL for the flag operations
  base            TEXT,              -- the project as the edit saw it (NULL for a create)
  state           TEXT NOT NULL CHECK (state IN ('pending', 'in_flight', 'unknown_outcome', 'conflict',
                    'failed', 'done')),
  attempts        INTEGER NOT NULL DEFAULT 0,
  last_error      TEXT,
  note            TEXT,              -- how it was settled (merged, proven applied, ...)
  created_at      INTEGER NOT NULL,  -- microseconds since the epoch
  next_attempt_at INTEGER NOT NULL DEFAULT 0,
  sent_at         INTEGER,           -- when it was last marked in flight
  settled_at      INTEGER,
  result_id       INTEGER            -- a create's real id, once known
);
CREATE INDEX edits_by_state ON edits (state, id);
CREATE INDEX edits_by_project ON edits (organization_id, workspace_id, project_id, id);

-- What pending edits make of a project: reads show this row instead of the
-- mirror's (deleted = 1 hides the project).
CREATE TABLE overlay (
  organization_id INTEGER NOT NULL,
  workspace_id    INTEGER NOT NULL,
  id              INTEGER NOT NULL,
  body            TEXT NOT NULL,
  name            TEXT NOT NULL,
  archived        INTEGER NOT NULL,
  pinned          INTEGER NOT NULL,
  private         INTEGER NOT NULL,
  client_id       INTEGER,
  parent_id       INTEGER,
  creator_id      INTEGER,
  start_date      TEXT,
  end_date        TEXT,
  created_at      INTEGER,
  updated_at      INTEGER,
  tag_ids         TEXT NOT NULL,  -- JSON array
  deleted         INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (organization_id, workspace_id, id)
) WITHOUT ROWID;

CREATE TABLE temporary_ids (
  organization_id INTEGER NOT NULL,
  workspace_id    INTEGER NOT NULL,
  temporary_id    INTEGER NOT NULL,
  real_id         INTEGER NOT NULL,
  PRIMARY KEY (organization_id, workspace_id, temporary_id)
) WITHOUT ROWID;

-- The change log gains kind 'edit' and a detail column; SQLite cannot
-- change a CHECK in place, so the table is rebuilt. The sequence carries
-- over first, so it never goes back even if old rows were pruned.
CREATE TABLE changes_v2 (
  seq             INTEGER PRIMARY KEY AUTOINCREMENT,
  organization_id INTEGER NOT NULL,
  workspace_id    INTEGER NOT NULL,
  project_id      INTEGER NOT NULL,
  kind            TEXT NOT NULL CHECK (kind IN ('insert', 'update', 'delete', 'restore', 'edit')),
  fields          TEXT NOT NULL,
  at              INTEGER NOT NULL,
  detail          TEXT  -- for 'edit': {"edit", "op", "state", ...}
);
INSERT INTO sqlite_sequence (name, seq) SELECT 'changes_v2', seq FROM sqlite_sequence WHERE name = 'changes';
INSERT INTO changes_v2 (seq, organization_id, workspace_id, project_id, kind, fields, at)
  SELECT seq, organization_id, workspace_id, project_id, kind, fields, at FROM changes;
DROP TABLE changes;
ALTER TABLE changes_v2 RENAME TO changes;
CREATE INDEX changes_by_time ON changes (at);
CREATE INDEX changes_by_project ON changes (organization_id, workspace_id, project_id);
)sql",
      // 3: the indexes filtered reads use also carry deleted, archived and id,
      // so a filter's count and its page come from the index alone.
      R"sql(
DROP INDEX projects_by_client;
DROP INDEX projects_by_creator;
DROP INDEX projects_by_parent;
CREATE INDEX projects_by_client  ON projects (organization_id, workspace_id, client_id, deleted, archived, id);
CREATE INDEX projects_by_creator ON projects (organization_id, workspace_id, creator_id, deleted, archived, id);
CREATE INDEX projects_by_parent  ON projects (organization_id, workspace_id, parent_id, deleted, archived, id);
CREATE INDEX projects_live       ON projects (organization_id, workspace_id, deleted, archived, id);
ANALYZE;
)sql",
      // 4: a create whose answer was lost and whose read-back found more than
      // one project it may have made keeps them (a JSON array of ids) until
      // the user says which; and the user id each API key creates as, learned
      // from its own answered creates, so read-backs can tell its projects.
      R"sql(
ALTER TABLE edits ADD COLUMN candidates TEXT;
CREATE TABLE own_users (
  organization_id INTEGER NOT NULL,
  key_id          TEXT NOT NULL,     -- Credentials::key_id(): a digest, never the key
  user_id         INTEGER NOT NULL,
  learned_at      INTEGER NOT NULL,  -- microseconds since the epoch
  PRIMARY KEY (organization_id, key_id)
) WITHOUT ROWID;
)sql",
      // 5: sync_state's times become microseconds since the epoch, as every
      // other time in the cache. SQLite cannot change a column's type, so the
      // table is rebuilt. Each RFC 3339 text ("2026-01-31T09:15:00.123456Z",
      // as format_rfc3339 wrote it; an offset instead of Z is read too) is
      // converted exactly: the whole seconds by strftime, the fraction digit
      // by digit (strftime would keep only milliseconds). A text that is no
      // such time becomes NULL, as it read before: never.
      R"sql(
CREATE TEMP TABLE v5_times AS
  WITH spelled(text) AS (
    SELECT last_attempt_at FROM sync_state UNION SELECT last_success_at FROM sync_state
    UNION SELECT last_full_listing_at FROM sync_state UNION SELECT quota_resets_at FROM sync_state),
  tails(text, tail) AS (
    SELECT text, substr(text, 20) FROM spelled
    WHERE text GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9][Tt ][0-9][0-9]:[0-9][0-9]:[0-9][0-9]*'),
  -- The fraction's digits ('' if none) and the zone after them.
  parts(text, dotted, digits, zone) AS (
    SELECT text, tail LIKE '.%',
      CASE WHEN tail LIKE '.%' THEN substr(tail, 2, length(tail) - 1 - length(ltrim(substr(tail, 2), '0123456789')))
           ELSE '' END,
      upper(CASE WHEN tail LIKE '.%' THEN ltrim(substr(tail, 2), '0123456789') ELSE tail END)
    FROM tails)
  SELECT text,
    CAST(strftime('%s', substr(text, 1, 10) || 'T' || substr(text, 12, 8) || zone) AS INTEGER) * 1000000
      + CAST(substr(digits || '000000', 1, 6) AS INTEGER) AS us
  FROM parts
  WHERE (zone = 'Z' OR zone GLOB '[+-][0-9][0-9]:[0-9][0-9]') AND (digits <> '' OR NOT dotted);

CREATE TABLE sync_state_v5 (
  organization_id     INTEGER NOT NULL,
  workspace_id        INTEGER NOT NULL,
  last_attempt_at     INTEGER,  -- microseconds since the epoch, as every time below
  last_success_at     INTEGER,
  last_full_listing_at INTEGER,
  last_error          TEXT,
  project_count       INTEGER,
  newest_updated_at   INTEGER,
  requests_spent      INTEGER NOT NULL DEFAULT 0,
  per_page_cap        INTEGER,
  suspect             TEXT,   -- why deletions are being held, or NULL
  held_missing        INTEGER,  -- how many were missing when they were held
  quota_remaining     INTEGER,  -- as the last answer said
  quota_resets_at     INTEGER,
  probe_note          TEXT,     -- why probes are not trusted, or NULL
  PRIMARY KEY (organization_id, workspace_id)
) WITHOUT ROWID;
INSERT INTO sync_state_v5 (organization_id, workspace_id, last_attempt_at, last_success_at, last_full_listing_at,
    last_error, project_count, newest_updated_at, requests_spent, per_page_cap, suspect, held_missing,
    quota_remaining, quota_resets_at, probe_note)
  SELECT organization_id, workspace_id,
    (SELECT us FROM v5_times WHERE text = s.last_attempt_at),
    (SELECT us FROM v5_times WHERE text = s.last_success_at),
    (SELECT us FROM v5_times WHERE text = s.last_full_listing_at),
    last_error, project_count, newest_updated_at, requests_spent, per_page_cap, suspect, held_missing,
    quota_remaining,
    (SELECT us FROM v5_times WHERE text = s.quota_resets_at),
    probe_note
  FROM sync_state s;
DROP TABLE sync_state;
ALTER TABLE sync_state_v5 RENAME TO sync_state;
DROP TABLE v5_times;
)sql",
      // 6: each project's listing digest (upstream::ProjectPage::digests): a
      // listing skips decoding a project whose digest is unchanged. NULL
      // until the next listing shows it.
      R"sql(
ALTER TABLE projects ADD COLUMN listing_digest TEXT;
)sql",
      // 7: the digests a listing compares with, read from an index alone. A
      // listing reads every live project's (id, digest); from the table
      // that was a row lookup per project among kilobyte bodies. (Not a
      // partial index WHERE deleted = 0: SQLite would not see it as covering.)
      R"sql(
CREATE INDEX projects_listing_digests ON projects (organization_id, workspace_id, deleted, id, listing_digest);
)sql",
      // 8: honest change accounting. An insert logged while a workspace was
      // mirrored for the first time is marked `initial`: the mirror first saw
      // the project, nobody created it. Older caches keep their inserts as
      // they were. And the fields the mirror predicted when a replayed edit
      // was answered without a body, so that the next listing's server values
      // for them are the edit's doing, not another user's update.
      R"sql(
ALTER TABLE changes ADD COLUMN initial INTEGER NOT NULL DEFAULT 0;
CREATE TABLE predicted_fields (
  organization_id INTEGER NOT NULL,
  workspace_id    INTEGER NOT NULL,
  project_id      INTEGER NOT NULL,
  fields          TEXT NOT NULL,     -- a JSON array of top-level field names
  edit_id         INTEGER NOT NULL,  -- the last edit that predicted them
  PRIMARY KEY (organization_id, workspace_id, project_id)
) WITHOUT ROWID;
)sql",
      // 9: desktop notifications (issue 20) are said once: an edit records
      // at which attempt its conflict or failure was told, and the daemon's
      // own states (the key refused, the mirror stale) what was told and
      // since when, so that a restart repeats nothing.
      R"sql(
ALTER TABLE edits ADD COLUMN noticed_attempts INTEGER;
CREATE TABLE notices (
  what  TEXT PRIMARY KEY,    -- unauthorized, stale
  since INTEGER NOT NULL     -- microseconds since the epoch
) WITHOUT ROWID;
)sql",
  };
  return all;
}

}  // namespace focus::store
