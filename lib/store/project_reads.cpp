#include "store/project_reads.hpp"

#include "store/sql_util.hpp"

#include <algorithm>
#include <cctype>
#include <deque>

namespace focus::store {

using namespace detail;

namespace {

constexpr const char* kVisibleColumns =
    "id, body, name, archived, pinned, private, client_id, parent_id, creator_id, start_date, end_date, created_at, "
    "updated_at";

// Every live project of workspace (?1, ?2) as reads see it. Without pending
// edits this is the projects table alone, so its indexes serve the query.
std::string visible_source(bool with_overlay) {
  std::string mirror = std::string("SELECT ") + kVisibleColumns +
                       ", NULL AS tag_ids FROM projects p WHERE p.organization_id = ?1 AND p.workspace_id = ?2 "
                       "AND p.deleted = 0";
  if (!with_overlay) return "(" + mirror + ")";
  return "(" + mirror +
         " AND NOT EXISTS (SELECT 1 FROM overlay o WHERE o.organization_id = ?1 AND o.workspace_id = ?2 AND o.id = p.id)"
         " UNION ALL SELECT " + kVisibleColumns +
         ", tag_ids FROM overlay o WHERE o.organization_id = ?1 AND o.workspace_id = ?2 AND o.deleted = 0)";
}

std::string id_list(const std::vector<Id>& ids) {
  std::string out;
  for (Id id : ids) out += (out.empty() ? "" : ",") + std::to_string(id);
  return out;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// The WHERE clause of a list query; ?3 is the name, ?4 / ?5 the date window.
std::string conditions(const model::ListQuery& q) {
  std::vector<std::string> c;
  if (q.archived == model::ArchivedScope::active_only) c.push_back("archived = 0");
  if (q.archived == model::ArchivedScope::archived_only) c.push_back("archived = 1");
  if (q.pinned) c.push_back(std::string("pinned = ") + (*q.pinned ? "1" : "0"));
  if (q.is_private) c.push_back(std::string("private = ") + (*q.is_private ? "1" : "0"));
  if (q.name) c.push_back("instr(lower(name), ?3) > 0");
  if (!q.client_ids.empty()) c.push_back("client_id IN (" + id_list(q.client_ids) + ")");
  if (!q.creator_ids.empty()) c.push_back("creator_id IN (" + id_list(q.creator_ids) + ")");
  if (!q.project_ids.empty()) c.push_back("id IN (" + id_list(q.project_ids) + ")");
  if (!q.tag_ids.empty()) {
    auto tags = id_list(q.tag_ids);
    c.push_back("(CASE WHEN v.tag_ids IS NULL THEN EXISTS (SELECT 1 FROM project_tags t WHERE t.organization_id = ?1 "
                "AND t.workspace_id = ?2 AND t.project_id = v.id AND t.tag_id IN (" + tags + ")) "
                "ELSE EXISTS (SELECT 1 FROM json_each(v.tag_ids) j WHERE j.value IN (" + tags + ")) END)");
  }
  // Overlap: an open start or end on the project reaches to -/+ infinity.
  if (q.end_date) c.push_back("(start_date IS NULL OR start_date <= ?5)");
  if (q.start_date) c.push_back("(end_date IS NULL OR end_date >= ?4)");
  if (!q.user_ids.empty()) {
    auto users = id_list(q.user_ids);
    c.push_back("(private = 0 OR creator_id IN (" + users + ") OR EXISTS (SELECT 1 FROM members m, "
                "json_each(m.body, '$.user_ids') u WHERE m.organization_id = ?1 AND m.workspace_id = ?2 "
                "AND m.project_id = v.id AND json_extract(u.value, '$.user_id') IN (" + users + ")))");
  }
  std::string out;
  for (const auto& part : c) out += (out.empty() ? " WHERE " : " AND ") + part;
  return out;
}

std::string order_by(const std::vector<model::OrderKey>& order) {
  std::string out;
  for (const auto& key : order) {
    const char* column = "id";
    switch (key.field) {
      case model::OrderKey::Field::id: column = "id"; break;
      case model::OrderKey::Field::name: column = "name COLLATE NOCASE"; break;
      case model::OrderKey::Field::created_at: column = "created_at"; break;
      case model::OrderKey::Field::updated_at: column = "updated_at"; break;
    }
    out += std::string(out.empty() ? " ORDER BY " : ", ") + column + (key.descending ? " DESC" : "");
  }
  return out + (out.empty() ? " ORDER BY id" : ", id");
}

void bind_query(SQLite::Statement& st, WorkspaceKey ws, const model::ListQuery& q) {
  st.bind(1, ws.organization_id);
  st.bind(2, ws.workspace_id);
  if (q.name) st.bind(3, *q.name);
  if (q.start_date) st.bind(4, format_date(*q.start_date));
  if (q.end_date) st.bind(5, format_date(*q.end_date));
}

// The end of the JSON value starting at `i` (one past it): strings, objects
// and arrays skipped as wholes, escapes honoured.
std::size_t value_end(const std::string& s, std::size_t i) {
  int depth = 0;
  bool in_string = false;
  for (; i < s.size(); ++i) {
    char c = s[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') {
        in_string = false;
        if (depth == 0) return i + 1;
      }
      continue;
    }
    if (c == '"') in_string = true;
    else if (c == '{' || c == '[') ++depth;
    else if (c == '}' || c == ']') {
      if (depth == 0) return i;  // the end of the enclosing object
      if (--depth == 0) return i + 1;
    } else if (depth == 0 && c == ',') {
      return i;
    }
  }
  return i;
}

// A stored body with its top-level "rate" set to null, without parsing the
// rest: a list that did not ask for rates shows none, as the Focus API does.
std::string without_rate(std::string body) {
  // Walk the top-level object's members: "key":value,...
  std::size_t i = body.find('{');
  if (i == std::string::npos) return body;
  ++i;
  while (i < body.size() && body[i] == '"') {
    std::size_t key_end = value_end(body, i);
    bool is_rate = body.compare(i, key_end - i, "\"rate\"") == 0;
    std::size_t value_start = key_end + 1;  // after ':'
    std::size_t end = value_end(body, value_start);
    if (is_rate) {
      body.replace(value_start, end - value_start, "null");
      return body;
    }
    if (end >= body.size() || body[end] != ',') break;
    i = end + 1;
  }
  return body;
}

}  // namespace

struct ProjectReads::Row {
  Id id = 0;
  std::string body;
  std::string name;
  std::optional<std::int64_t> created_at, updated_at;
};

bool ProjectReads::has_overlay(WorkspaceKey ws) {
  auto& st = db_.cached("SELECT 1 FROM overlay WHERE organization_id = ? AND workspace_id = ? LIMIT 1");
  st.bind(1, ws.organization_id);
  st.bind(2, ws.workspace_id);
  return st.executeStep();
}

BodyPage ProjectReads::list(WorkspaceKey ws, const model::ListQuery& q) {
  const auto source = visible_source(has_overlay(ws)) + " AS v" + conditions(q);
  BodyPage page;
  {
    SQLite::Statement count(db_.sql(), "SELECT count(*) FROM " + source);
    bind_query(count, ws, q);
    count.executeStep();
    page.total = count.getColumn(0).getInt64();
  }
  // The page's ids first, then their bodies: sorting ids and not bodies
  // (nor blanking the rate of rows that are not on the page) keeps a
  // filtered page in proportion to the page, not to the matches.
  std::vector<Id> ids;
  {
    SQLite::Statement st(db_.sql(), "SELECT id FROM " + source + order_by(q.paging.order) + " LIMIT ?6 OFFSET ?7");
    bind_query(st, ws, q);
    st.bind(6, q.paging.per_page);
    st.bind(7, q.paging.offset());
    while (st.executeStep()) ids.push_back(st.getColumn(0).getInt64());
  }
  // Rates are part of what the mirror keeps; a list that did not ask for
  // them shows "rate": null, as the Focus API does.
  auto& one = db_.cached("SELECT body FROM " + visible_source(has_overlay(ws)) + " AS v WHERE id = ?3");
  for (Id id : ids) {
    one.reset();
    one.bind(1, ws.organization_id);
    one.bind(2, ws.workspace_id);
    one.bind(3, id);
    if (!one.executeStep()) continue;
    auto text = one.getColumn(0).getString();
    page.bodies.push_back(q.include_rates ? std::move(text) : without_rate(std::move(text)));
  }
  return page;
}

std::vector<ProjectReads::Row> ProjectReads::rows_where(WorkspaceKey ws, const std::string& condition, Id value) {
  // Few shapes (two sources, two conditions): kept prepared.
  auto& st = db_.cached("SELECT id, body, name, created_at, updated_at FROM " + visible_source(has_overlay(ws)) +
                        " AS v WHERE " + condition + " ORDER BY id");
  st.bind(1, ws.organization_id);
  st.bind(2, ws.workspace_id);
  st.bind(3, value);
  std::vector<Row> out;
  while (st.executeStep())
    out.push_back(Row{st.getColumn(0).getInt64(), st.getColumn(1).getString(), st.getColumn(2).getString(),
                      optional_int(st, 3), optional_int(st, 4)});
  return out;
}

std::optional<ProjectReads::Row> ProjectReads::row(WorkspaceKey ws, Id id) {
  auto rows = rows_where(ws, "id = ?3", id);
  if (rows.empty()) return std::nullopt;
  return std::move(rows.front());
}

std::optional<std::string> ProjectReads::get(WorkspaceKey ws, Id id) {
  auto r = row(ws, id);
  if (!r) return std::nullopt;
  return std::move(r->body);
}

std::vector<std::string> ProjectReads::tree_page(std::vector<Row> rows, const model::Paging& paging) {
  auto compare = [&](const Row& a, const Row& b) {
    for (const auto& key : paging.order) {
      int c = 0;
      auto cmp = [](const auto& x, const auto& y) { return x < y ? -1 : (y < x ? 1 : 0); };
      switch (key.field) {
        case model::OrderKey::Field::id: c = cmp(a.id, b.id); break;
        case model::OrderKey::Field::name: c = cmp(lower(a.name), lower(b.name)); break;
        case model::OrderKey::Field::created_at: c = cmp(a.created_at, b.created_at); break;
        case model::OrderKey::Field::updated_at: c = cmp(a.updated_at, b.updated_at); break;
      }
      if (c != 0) return key.descending ? c > 0 : c < 0;
    }
    return a.id < b.id;
  };
  if (!paging.order.empty()) std::stable_sort(rows.begin() + 1, rows.end(), compare);
  std::vector<std::string> out;
  auto first = static_cast<std::size_t>(paging.offset());
  for (std::size_t i = first; i < rows.size() && i - first < static_cast<std::size_t>(paging.per_page); ++i)
    out.push_back(std::move(rows[i].body));
  return out;
}

std::optional<std::vector<std::string>> ProjectReads::children(WorkspaceKey ws, Id id, const model::Paging& paging) {
  auto top = row(ws, id);
  if (!top) return std::nullopt;
  std::vector<Row> rows{std::move(*top)};
  std::deque<Id> queue{id};
  while (!queue.empty()) {
    for (auto& child : rows_where(ws, "parent_id = ?3", queue.front())) {
      queue.push_back(child.id);
      rows.push_back(std::move(child));
    }
    queue.pop_front();
  }
  return tree_page(std::move(rows), paging);
}

std::optional<std::vector<std::string>> ProjectReads::parents(WorkspaceKey ws, Id id, const model::Paging& paging) {
  auto top = row(ws, id);
  if (!top) return std::nullopt;
  std::vector<Row> rows{std::move(*top)};
  auto parent_of = [&](Id child) -> std::optional<Id> {
    SQLite::Statement st(db_.sql(), "SELECT parent_id FROM " + visible_source(has_overlay(ws)) + " AS v WHERE id = ?3");
    st.bind(1, ws.organization_id);
    st.bind(2, ws.workspace_id);
    st.bind(3, child);
    if (!st.executeStep()) return std::nullopt;
    return optional_int(st, 0);
  };
  // A cycle cannot be made through the API, but a bound keeps a bad row from looping.
  for (auto parent = parent_of(id); parent && rows.size() < 10'000; parent = parent_of(*parent)) {
    auto r = row(ws, *parent);
    if (!r) break;
    rows.push_back(std::move(*r));
  }
  return tree_page(std::move(rows), paging);
}

std::int64_t ProjectReads::pending_edits(WorkspaceKey ws) {
  auto& st = db_.cached("SELECT count(*) FROM edits WHERE organization_id = ? AND workspace_id = ? "
                        "AND state IN ('pending', 'in_flight', 'unknown_outcome', 'conflict')");
  st.bind(1, ws.organization_id);
  st.bind(2, ws.workspace_id);
  st.executeStep();
  return st.getColumn(0).getInt64();
}

}  // namespace focus::store
