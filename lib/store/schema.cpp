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
  };
  return all;
}

}  // namespace focus::store
