#include "store/project_reads.hpp"

#include "store/blank_rate.hpp"
#include "store/enum_sql.hpp"
#include "store/project_columns.hpp"
#include "store/sql_util.hpp"
#include "core/text.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <set>
#include <unordered_map>
#include <unordered_set>

namespace focus::store {

using namespace detail;

namespace {

// What reads select of a row, alike from projects and overlay.
const std::string& visible_columns() {
  static const std::string sql = "id, body, " + column_names();
  return sql;
}

// What reads see, stated once for the socket's reads and the SQL views:
// the mirror's live rows (of workspace ?1, ?2, or of every workspace)...
std::string live_mirror_rows(const std::string& columns, bool one_workspace) {
  return "SELECT " + columns + " FROM main.projects p WHERE " +
         (one_workspace ? "p.organization_id = ?1 AND p.workspace_id = ?2 AND " : "") + "p.deleted = 0";
}

// ... with pending edits applied: a mirror row whose id the overlay holds
// gives way to the overlay's row, and an overlay row marked deleted hides it.
std::string with_pending_edits(const std::string& mirror_columns, const std::string& overlay_columns,
                               bool one_workspace) {
  const std::string overlay_scope = one_workspace ? "o.organization_id = ?1 AND o.workspace_id = ?2"
                                                  : "o.organization_id = p.organization_id AND o.workspace_id = p.workspace_id";
  return "(" + live_mirror_rows(mirror_columns, one_workspace) + " AND NOT EXISTS (SELECT 1 FROM main.overlay o WHERE " +
         overlay_scope + " AND o.id = p.id) UNION ALL SELECT " + overlay_columns + " FROM main.overlay o WHERE " +
         (one_workspace ? "o.organization_id = ?1 AND o.workspace_id = ?2 AND " : "") + "o.deleted = 0)";
}

// Every live project of workspace (?1, ?2) as reads see it. Without pending
// edits this is the projects table alone, so its indexes serve the query.
// Built once: a read by id is asked for thousands of times a second.
const std::string& visible_source(bool with_overlay) {
  static const std::string alone = "(" + live_mirror_rows(visible_columns() + ", NULL AS tag_ids", true) + ")";
  static const std::string with_edits =
      with_pending_edits(visible_columns() + ", NULL AS tag_ids", visible_columns() + ", tag_ids", true);
  return with_overlay ? with_edits : alone;
}

}  // namespace

// The same rule over every workspace, for the SQL views (sql_reader.hpp),
// with `pending` saying which rows are a pending edit's.
const std::string& visible_everywhere() {
  static const std::string sql =
      with_pending_edits("p.organization_id, p.workspace_id, p.id, p.body, 0 AS pending",
                         "o.organization_id, o.workspace_id, o.id, o.body, 1", false);
  return sql;
}

namespace {

std::string id_list(const std::vector<Id>& ids) {
  std::string out;
  for (Id id : ids) out += (out.empty() ? "" : ",") + std::to_string(id);
  return out;
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

}  // namespace

// Asked again only after a commit: only this daemon writes the overlay.
// Inside a transaction the answer is not kept: a rollback would undo it
// without a commit to say so.
bool ProjectReads::has_overlay(WorkspaceKey ws) {
  const bool in_transaction = db_.transaction_open();
  auto it = overlay_known_.find(ws);
  if (!in_transaction && it != overlay_known_.end() && it->second.first == db_.commits()) return it->second.second;
  auto& st = db_.cached("SELECT 1 FROM overlay WHERE organization_id = ? AND workspace_id = ? LIMIT 1");
  st.bind(1, ws.organization_id);
  st.bind(2, ws.workspace_id);
  const bool found = st.executeStep();
  st.reset();
  if (!in_transaction) overlay_known_[ws] = {db_.commits(), found};
  return found;
}

BodyPage ProjectReads::list(WorkspaceKey ws, const model::ListQuery& q) {
  const auto source = visible_source(has_overlay(ws)) + " AS v" + conditions(q);
  BodyPage page;
  // Kept prepared: a tool paging through one filter asks the same SQL again
  // (the page is a parameter), and preparing it was a sixth of a page's CPU.
  {
    auto& count = db_.cached("SELECT count(*) FROM " + source);
    bind_query(count, ws, q);
    count.executeStep();
    page.total = count.getColumn(0).getInt64();
    count.reset();
  }
  // The page's ids first, then their bodies: sorting ids and not bodies
  // (nor blanking the rate of rows that are not on the page) keeps a
  // filtered page in proportion to the page, not to the matches.
  std::vector<Id> ids;
  {
    auto& st = db_.cached("SELECT id FROM " + source + order_by(q.paging.order) + " LIMIT ?6 OFFSET ?7");
    bind_query(st, ws, q);
    st.bind(6, q.paging.per_page);
    st.bind(7, q.paging.offset());
    while (st.executeStep()) ids.push_back(st.getColumn(0).getInt64());
  }
  for (Id id : ids) {
    auto text = body(ws, id, q.include_rates ? Rate::as_stored : Rate::blanked);
    if (text) page.bodies.push_back(std::move(*text));
  }
  return page;
}

// Rates are part of what the mirror keeps; a list that did not ask for them
// shows "rate": null, as the Focus API does. The one member is edited and
// every other byte of the stored body kept: by blank_rate, and by SQLite's
// json_replace for a body blank_rate leaves to it.
std::optional<std::string> ProjectReads::body(WorkspaceKey ws, Id id, Rate rate) {
  auto text = stored_body(ws, id, Rate::as_stored);
  if (!text || rate == Rate::as_stored) return text;
  if (auto blanked = blank_rate(*text)) return blanked;
  return stored_body(ws, id, Rate::blanked);  // a body simdjson does not read: json_replace's word
}

std::optional<std::string> ProjectReads::stored_body(WorkspaceKey ws, Id id, Rate rate) {
  auto select = [](Rate r, bool with_overlay) {
    const char* column = r == Rate::as_stored ? "body" : "json_replace(body, '$.rate', NULL)";
    return KeptSql(std::string("SELECT ") + column + " FROM " + visible_source(with_overlay) + " AS v WHERE id = ?3");
  };
  static const KeptSql kSelect[2][2] = {{select(Rate::as_stored, false), select(Rate::as_stored, true)},
                                        {select(Rate::blanked, false), select(Rate::blanked, true)}};
  auto& one = db_.cached(kSelect[rate == Rate::as_stored ? 0 : 1][has_overlay(ws) ? 1 : 0]);
  one.bind(1, ws.organization_id);
  one.bind(2, ws.workspace_id);
  one.bind(3, id);
  if (!one.executeStep()) return std::nullopt;
  auto text = one.getColumn(0).getString();
  one.reset();
  return text;
}

std::optional<std::string> ProjectReads::get(WorkspaceKey ws, Id id) { return body(ws, id, Rate::as_stored); }

// ---------------------------------------------------------------------------
// Trees

namespace {

// The parent links of one workspace as reads show them, for one request:
// the overlay's rows are loaded once (their count is the queue's, not the
// mirror's); the mirror's are looked up by index, id by id.
class VisibleLinks {
 public:
  VisibleLinks(Database& db, WorkspaceKey ws) : db_(db), ws_(ws) {
    auto st = for_workspace(db.sql(), "SELECT id, parent_id, deleted FROM overlay WHERE organization_id = ? "
                                      "AND workspace_id = ?", ws);
    while (st.executeStep()) {
      Link link{optional_int(st, 1), st.getColumn(2).getInt() != 0};
      Id id = st.getColumn(0).getInt64();
      if (!link.deleted && link.parent) overlay_children_[*link.parent].push_back(id);
      overlay_.emplace(id, link);
    }
  }

  // nullopt: the project is not visible; else its parent (none at the top).
  std::optional<std::optional<Id>> parent_of(Id id) {
    if (auto it = overlay_.find(id); it != overlay_.end()) {
      if (it->second.deleted) return std::nullopt;
      return it->second.parent;
    }
    auto& st = db_.cached("SELECT parent_id FROM projects WHERE organization_id = ? AND workspace_id = ? AND id = ? "
                          "AND deleted = 0");
    st.bind(1, ws_.organization_id);
    st.bind(2, ws_.workspace_id);
    st.bind(3, id);
    if (!st.executeStep()) return std::nullopt;
    auto parent = optional_int(st, 0);
    st.reset();
    return parent;
  }

  // The visible children of `id`, by id. Sorted here, not in SQL: with
  // ORDER BY id the planner may walk the workspace by its primary key
  // (when statistics are missing) instead of the parent index.
  std::vector<Id> children_of(Id id) {
    std::vector<Id> out;
    auto& st = db_.cached("SELECT id FROM projects WHERE organization_id = ? AND workspace_id = ? AND parent_id = ? "
                          "AND deleted = 0");
    st.bind(1, ws_.organization_id);
    st.bind(2, ws_.workspace_id);
    st.bind(3, id);
    while (st.executeStep()) {
      Id child = st.getColumn(0).getInt64();
      if (!overlay_.contains(child)) out.push_back(child);  // the overlay's row decides
    }
    if (auto it = overlay_children_.find(id); it != overlay_children_.end())
      out.insert(out.end(), it->second.begin(), it->second.end());
    std::sort(out.begin(), out.end());
    return out;
  }

  // Every visible project that has a parent, with that parent: the mirror's
  // from the parent index alone, then the overlay's rows in their place.
  std::unordered_map<Id, Id> every_link() {
    std::unordered_map<Id, Id> out;
    auto st = for_workspace(db_.sql(), "SELECT id, parent_id FROM projects WHERE organization_id = ? "
                                       "AND workspace_id = ? AND parent_id IS NOT NULL AND deleted = 0", ws_);
    while (st.executeStep()) out.emplace(st.getColumn(0).getInt64(), st.getColumn(1).getInt64());
    for (const auto& [id, link] : overlay_) {
      out.erase(id);
      if (!link.deleted && link.parent) out.emplace(id, *link.parent);
    }
    return out;
  }

 private:
  struct Link {
    std::optional<Id> parent;
    bool deleted = false;
  };
  Database& db_;
  WorkspaceKey ws_;
  std::unordered_map<Id, Link> overlay_;
  std::unordered_map<Id, std::vector<Id>> overlay_children_;
};

// What a walk found besides its rows.
struct Walk {
  std::vector<Id> ids;  // the project first
  bool met_cycle = false;
  bool cut = false;  // stopped at a bound
};

Walk descendants(VisibleLinks& links, Id top) {
  Walk w{{top}};
  std::unordered_set<Id> seen{top};
  // Breadth first, `ids` doubling as the queue; `level_end` is where the
  // level being expanded ends, `depth` that level's depth.
  std::size_t level_end = 1, depth = 0;
  for (std::size_t head = 0; head < w.ids.size(); ++head) {
    if (head == level_end) {
      level_end = w.ids.size();
      ++depth;
    }
    auto children = links.children_of(w.ids[head]);
    if (depth >= ProjectReads::kMaxTreeDepth && !children.empty()) {
      w.cut = true;
      break;
    }
    for (Id child : children) {
      if (!seen.insert(child).second) {
        w.met_cycle = true;  // each project has one parent: only a cycle leads back
        continue;
      }
      if (w.ids.size() >= ProjectReads::kMaxTreeRows) {
        w.cut = true;
        return w;
      }
      w.ids.push_back(child);
    }
  }
  return w;
}

Walk ancestors(VisibleLinks& links, Id bottom, std::optional<Id> parent) {
  Walk w{{bottom}};
  std::unordered_set<Id> seen{bottom};
  while (parent) {
    if (seen.contains(*parent)) {
      w.met_cycle = true;
      break;
    }
    auto next = links.parent_of(*parent);
    if (!next) break;  // a parent that is gone ends the chain, as on the server
    if (w.ids.size() > ProjectReads::kMaxTreeDepth) {
      w.cut = true;
      break;
    }
    w.ids.push_back(*parent);
    seen.insert(*parent);
    parent = *next;
  }
  return w;
}

}  // namespace

// The project first, then the rest in BFS / chain order or, when an order
// is asked, sorted as list() sorts (names compared case-folded as ASCII,
// like COLLATE NOCASE; ties by id). Sorting reads only the keys the order
// names, one indexed lookup per project of the tree (not a scan of the
// workspace); only the page's bodies are read.
std::vector<std::string> ProjectReads::tree_page(WorkspaceKey ws, const std::vector<Id>& ids,
                                                 const model::Paging& paging) {
  const auto offset = paging.offset();
  std::vector<Id> page;
  auto take = [&](std::size_t count, auto&& at) {
    for (auto i = offset; i < static_cast<std::int64_t>(count) && i - offset < paging.per_page; ++i)
      page.push_back(at(static_cast<std::size_t>(i)));
  };
  if (paging.order.empty() || offset >= static_cast<std::int64_t>(ids.size())) {
    take(ids.size(), [&](std::size_t i) { return ids[i]; });
  } else {
    struct Key {
      Id id = 0;
      std::string name;
      std::optional<std::int64_t> created_at, updated_at;
    };
    const bool by_name = std::any_of(paging.order.begin(), paging.order.end(),
                                     [](const auto& k) { return k.field == model::OrderKey::Field::name; });
    std::vector<Key> keys;
    keys.reserve(ids.size());
    auto& st = db_.cached("SELECT name, created_at, updated_at FROM " + visible_source(has_overlay(ws)) +
                          " AS v WHERE id = ?3");
    for (Id id : ids) {
      st.reset();
      st.bind(1, ws.organization_id);
      st.bind(2, ws.workspace_id);
      st.bind(3, id);
      if (!st.executeStep()) continue;  // cannot happen inside one request; skipped if it does
      keys.push_back(Key{id, by_name ? ascii_lower(st.getColumn(0).getString()) : std::string(), optional_int(st, 1),
                         optional_int(st, 2)});
    }
    st.reset();
    auto before = [&](const Key& a, const Key& b) {
      auto cmp = [](const auto& x, const auto& y) { return x < y ? -1 : (y < x ? 1 : 0); };
      for (const auto& key : paging.order) {
        int c = 0;
        switch (key.field) {
          case model::OrderKey::Field::id: c = cmp(a.id, b.id); break;
          case model::OrderKey::Field::name: c = cmp(a.name, b.name); break;
          case model::OrderKey::Field::created_at: c = cmp(a.created_at, b.created_at); break;
          case model::OrderKey::Field::updated_at: c = cmp(a.updated_at, b.updated_at); break;
        }
        if (c != 0) return key.descending ? c > 0 : c < 0;
      }
      return a.id < b.id;
    };
    // Sorted only as far as the page reaches (offset < size here).
    const auto left = static_cast<std::int64_t>(keys.size()) - offset;
    const auto reach = paging.per_page >= left ? keys.size() : static_cast<std::size_t>(offset + paging.per_page);
    if (reach > 1) std::partial_sort(keys.begin() + 1, keys.begin() + static_cast<std::ptrdiff_t>(reach), keys.end(), before);
    take(keys.size(), [&](std::size_t i) { return keys[i].id; });
  }
  std::vector<std::string> out;
  for (Id id : page)
    if (auto text = body(ws, id, Rate::as_stored)) out.push_back(std::move(*text));
  return out;
}

std::optional<std::vector<std::string>> ProjectReads::children(WorkspaceKey ws, Id id, const model::Paging& paging) {
  VisibleLinks links(db_, ws);
  if (!links.parent_of(id)) return std::nullopt;
  auto walk = descendants(links, id);
  if (walk.met_cycle) tree_problems(ws);  // logs the cycle the first time it is met
  if (walk.cut) note_cut(ws, id, true, walk.ids.size());
  return tree_page(ws, walk.ids, paging);
}

std::optional<std::vector<std::string>> ProjectReads::parents(WorkspaceKey ws, Id id, const model::Paging& paging) {
  VisibleLinks links(db_, ws);
  auto top = links.parent_of(id);
  if (!top) return std::nullopt;
  auto walk = ancestors(links, id, *top);
  if (walk.met_cycle) tree_problems(ws);
  if (walk.cut) note_cut(ws, id, false, walk.ids.size());
  return tree_page(ws, walk.ids, paging);
}

void ProjectReads::note_cut(WorkspaceKey ws, Id id, bool children, std::size_t rows) {
  auto& logged = trees_[ws].cut_logged;
  if (logged.size() >= 1000 || !logged.emplace(id, children).second) return;  // once each, and a bounded record
  spdlog::warn("workspace {}/{}: the {} of project {} stop at {} projects (a tree read reads at most {} levels and "
               "{} projects)",
               ws.organization_id, ws.workspace_id, children ? "children" : "parents", id, rows, kMaxTreeDepth,
               kMaxTreeRows);
}

// Moves whenever this connection or another one wrote to the cache.
std::int64_t ProjectReads::fingerprint() {
  auto version = db_.sql().execAndGet("PRAGMA data_version").getInt64();
  return (version << 32) ^ static_cast<std::uint32_t>(db_.sql().getTotalChanges());
}

std::vector<std::string> ProjectReads::tree_problems(WorkspaceKey ws) {
  auto& state = trees_[ws];
  const auto now = fingerprint();
  if (state.fingerprint == now) return state.lines;
  // Each visible project with a visible parent: one link out of each node,
  // so a cycle is a walk that comes back to a node of the same walk.
  const auto parent = VisibleLinks(db_, ws).every_link();
  enum class Mark : std::uint8_t { on_path, done };
  std::unordered_map<Id, Mark> mark;
  std::vector<std::vector<Id>> cycles;
  std::vector<Id> path;
  for (const auto& [start, ignored] : parent) {
    path.clear();
    Id cur = start;
    // Up while the node has a parent link and is new to every walk.
    while (parent.contains(cur) && !mark.contains(cur)) {
      mark[cur] = Mark::on_path;
      path.push_back(cur);
      cur = parent.at(cur);
    }
    if (auto it = mark.find(cur); it != mark.end() && it->second == Mark::on_path) {
      auto from = std::find(path.begin(), path.end(), cur);
      std::vector<Id> cycle(from, path.end());
      std::rotate(cycle.begin(), std::min_element(cycle.begin(), cycle.end()), cycle.end());
      cycles.push_back(std::move(cycle));
    }
    for (Id id : path) mark[id] = Mark::done;
  }
  std::sort(cycles.begin(), cycles.end());

  constexpr std::size_t kShownCycles = 20, kShownIds = 10;
  std::vector<std::string> lines;
  std::set<std::string> seen;
  for (const auto& cycle : cycles) {
    std::string line = "parent cycle through projects ";
    for (std::size_t i = 0; i < cycle.size() && i < kShownIds; ++i) line += (i ? ", " : "") + std::to_string(cycle[i]);
    if (cycle.size() > kShownIds) line += ", ... (" + std::to_string(cycle.size()) + " projects)";
    if (!state.cycles.contains(line))
      spdlog::warn("workspace {}/{}: {}; children and parents answers stop where they meet it (a parent_project_id "
                   "on the server, or a queued edit meeting another user's change, made it)",
                   ws.organization_id, ws.workspace_id, line);
    seen.insert(line);
    if (lines.size() < kShownCycles) lines.push_back(std::move(line));
  }
  if (cycles.size() > kShownCycles)
    lines.push_back("and " + std::to_string(cycles.size() - kShownCycles) + " more parent cycles (see the log)");
  state.cycles = std::move(seen);
  state.lines = lines;
  state.fingerprint = now;
  return lines;
}

std::int64_t ProjectReads::pending_edits(WorkspaceKey ws) {
  static const std::string sql = "SELECT count(*) FROM edits WHERE organization_id = ? AND workspace_id = ? "
                                 "AND state IN " + sql_in(model::kActiveStates);
  auto& st = db_.cached(sql);
  st.bind(1, ws.organization_id);
  st.bind(2, ws.workspace_id);
  bind_enum_values(st);
  st.executeStep();
  return st.getColumn(0).getInt64();
}

}  // namespace focus::store
