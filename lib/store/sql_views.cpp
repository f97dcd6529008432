// The views of SQL version 1 (docs/sql.md shows this table): each column's
// name, type, meaning, and the expression that makes it from the cache.
// Adding a column is compatible; renaming, removing or changing one's
// meaning makes a new version (v2) beside this one.
#include "store/project_reads.hpp"
#include "store/sql_reader.hpp"

namespace focus::store {

namespace {

std::string projects_source() { return visible_everywhere() + " AS v"; }
std::string tags_source() { return visible_everywhere() + " AS v, json_each(v.body, '$.tags') AS t"; }
std::string members_source() {
  return "(SELECT m.organization_id, m.workspace_id, m.project_id, 'user' AS kind, "
         "json_extract(e.value, '$.user_id') AS member_id, json_extract(e.value, '$.manager') AS manager "
         "FROM main.members m, json_each(m.body, '$.user_ids') e UNION ALL "
         "SELECT m.organization_id, m.workspace_id, m.project_id, 'group', json_extract(e.value, '$.group_id'), "
         "json_extract(e.value, '$.manager') FROM main.members m, json_each(m.body, '$.group_ids') e) AS v";
}
std::string changes_source() { return "main.changes AS v"; }
std::string edits_source() { return "main.edits AS v"; }

#define FOCUS_WORKSPACE {"workspace", "TEXT", "the workspace, as \"ORG/WS\" (focusctl --workspace)", \
                         "v.organization_id || '/' || v.workspace_id"}

constexpr SqlColumn kProjects[] = {
    FOCUS_WORKSPACE,
    {"id", "INTEGER", "the project's id (negative: a create not yet sent)", "v.id"},
    {"name", "TEXT", "its name", "json_extract(v.body, '$.name')"},
    {"client_id", "INTEGER", "its client's id, NULL for none", "json_extract(v.body, '$.client_id')"},
    {"client", "TEXT", "its client's name, NULL for none", "json_extract(v.body, '$.client.name')"},
    {"parent_project_id", "INTEGER", "the parent project's id, NULL at the top level",
     "json_extract(v.body, '$.parent_project_id')"},
    {"color", "TEXT", "\"#rrggbb\"", "json_extract(v.body, '$.color')"},
    {"billable", "INTEGER", "1 if billable, else 0", "json_extract(v.body, '$.billable')"},
    {"active", "INTEGER", "1 if active, else 0", "json_extract(v.body, '$.active')"},
    {"archived_at", "TEXT", "when it was archived (RFC 3339), NULL if it is not",
     "json_extract(v.body, '$.archived_at')"},
    {"pinned", "INTEGER", "1 if pinned, else 0", "json_extract(v.body, '$.pinned')"},
    {"private", "INTEGER", "1 if private, else 0", "json_extract(v.body, '$.private')"},
    {"estimated_mins", "INTEGER", "the estimate in minutes, NULL for none", "json_extract(v.body, '$.estimated_mins')"},
    {"total_tracked_time", "INTEGER", "seconds tracked", "json_extract(v.body, '$.total_tracked_time')"},
    {"fixed_fee", "REAL", "the fixed fee's amount, NULL for none", "json_extract(v.body, '$.fixed_fee.amount')"},
    {"rate", "REAL", "the hourly rate, NULL for none", "json_extract(v.body, '$.rate.hourly_rate')"},
    {"currency", "TEXT", "the fixed fee's currency, else the rate's, else NULL",
     "coalesce(json_extract(v.body, '$.fixed_fee.currency'), json_extract(v.body, '$.rate.currency'))"},
    {"start_date", "TEXT", "\"YYYY-MM-DD\", NULL for none", "json_extract(v.body, '$.start_date')"},
    {"end_date", "TEXT", "\"YYYY-MM-DD\", NULL for none", "json_extract(v.body, '$.end_date')"},
    {"creator_id", "INTEGER", "the id of the user who created it", "json_extract(v.body, '$.toggl_user_id')"},
    {"created_at", "TEXT", "when it was created (RFC 3339)", "json_extract(v.body, '$.created_at')"},
    {"updated_at", "TEXT", "when it was last changed (RFC 3339)", "json_extract(v.body, '$.updated_at')"},
    {"pending", "INTEGER", "1 while a local edit of it waits to be sent or confirmed, else 0", "v.pending"},
};

constexpr SqlColumn kTags[] = {
    FOCUS_WORKSPACE,
    {"project_id", "INTEGER", "the project (projects.id)", "v.id"},
    {"tag_id", "INTEGER", "the tag's id", "json_extract(t.value, '$.id')"},
    {"name", "TEXT", "the tag's name", "json_extract(t.value, '$.name')"},
};

constexpr SqlColumn kMembers[] = {
    FOCUS_WORKSPACE,
    {"project_id", "INTEGER", "the project (projects.id)", "v.project_id"},
    {"kind", "TEXT", "\"user\" or \"group\"", "v.kind"},
    {"member_id", "INTEGER", "the user's or the group's id", "v.member_id"},
    {"manager", "INTEGER", "1 if a manager of the project, else 0 (NULL: not said)", "v.manager"},
};

constexpr SqlColumn kChanges[] = {
    {"seq", "INTEGER", "the change's number (GET /v1/changes?since=); never reused", "v.seq"},
    FOCUS_WORKSPACE,
    {"project_id", "INTEGER", "the project changed", "v.project_id"},
    {"kind", "TEXT", "insert, update, delete, restore or edit (what became of a local edit)", "v.kind"},
    {"fields", "TEXT", "a JSON array of the top-level fields that changed", "v.fields"},
    {"at", "TEXT", "when the mirror saw it (RFC 3339)", "focus_time(v.at)"},
    {"initial", "INTEGER", "1 for what a workspace's first mirroring saw (not a creation), else 0", "v.initial"},
    {"detail", "TEXT", "for kind edit: a JSON object (edit, op, state ...); else NULL", "v.detail"},
};

constexpr SqlColumn kEdits[] = {
    {"id", "INTEGER", "the edit's number (focusctl edits show ID)", "v.id"},
    FOCUS_WORKSPACE,
    {"project_id", "INTEGER", "the project (negative: a create's temporary id)", "v.project_id"},
    {"op", "TEXT", "create, update, patch, delete, archive, unarchive, restore, pin, unpin, members_add, "
                   "members_role or members_remove", "v.op"},
    {"state", "TEXT", "pending, in_flight, unknown_outcome, conflict, failed or done", "v.state"},
    {"attempts", "INTEGER", "how many times it was sent", "v.attempts"},
    {"error", "TEXT", "the last error, NULL for none", "v.last_error"},
    {"created_at", "TEXT", "when it was queued (RFC 3339)", "focus_time(v.created_at)"},
    {"settled_at", "TEXT", "when it was done, failed or discarded (RFC 3339), NULL before", "focus_time(v.settled_at)"},
    {"result_id", "INTEGER", "a create's real id, once known", "v.result_id"},
};

#undef FOCUS_WORKSPACE

const SqlView kViews[] = {
    {"projects", "every live project, with pending edits applied (as the socket's reads show them)", kProjects,
     &projects_source},
    {"project_tags", "a row per tag of each project in projects", kTags, &tags_source},
    {"members", "a row per member (user or group) of each project whose members were fetched", kMembers,
     &members_source},
    {"changes", "the change log (GET /v1/changes), oldest first by seq", kChanges, &changes_source},
    {"edits", "the queue of local edits, settled ones included", kEdits, &edits_source},
};

}  // namespace

std::span<const SqlView> sql_views() { return kViews; }

}  // namespace focus::store
