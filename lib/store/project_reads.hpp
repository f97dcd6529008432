#pragma once
// What local readers see: the mirror with pending edits applied (the overlay
// replaces a mirror row; an overlay marked deleted hides it), queried with
// the Focus list's own filters, order and paging, in SQL on the indexed
// columns. Bodies come back as stored JSON text, never re-parsed (only the
// top-level `rate` is blanked, by a scan of the text, when the caller did
// not ask for rates).
//
// Tree reads (children, parents) never trust the parent links to form a
// tree: a server can send a cycle (1000 -> 1001 -> 1000), and the overlay
// can make one when another user's change meets a queued edit. They walk
// ids only, with a visited set and bounds on depth and rows, then sort and
// page ids in SQL and load the bodies of the page alone, so a request costs
// memory in proportion to its page and time in proportion to the tree. A
// cycle met is logged once (per cycle, not per request) and listed by
// tree_problems(), which /v1/status shows.
//
// Borrows the Database; keeps what it last found of each workspace's trees.
// Throws SQLite::Exception on I/O failure. io_context thread only.

#include "model/list_query.hpp"
#include "store/database.hpp"
#include "store/mirror.hpp"

#include <cstdint>
#include <map>
#include <set>
#include <optional>
#include <string>
#include <vector>

namespace focus::store {

// Every live project of every workspace as reads see them, as a FROM
// source (organization_id, workspace_id, id, body, pending): the rule of
// ProjectReads, stated once, for the SQL views.
const std::string& visible_everywhere();

struct BodyPage {
  std::vector<std::string> bodies;
  std::int64_t total = 0;
};

class ProjectReads {
 public:
  // A tree read stops here whatever the data: depth (levels below or above
  // the project) and rows (the project and its descendants or ancestors).
  static constexpr std::size_t kMaxTreeDepth = 10'000;
  static constexpr std::size_t kMaxTreeRows = 100'000;

  explicit ProjectReads(Database& db) : db_(db) {}

  BodyPage list(WorkspaceKey ws, const model::ListQuery& query);
  // A live project (nullopt: unknown or deleted).
  std::optional<std::string> get(WorkspaceKey ws, Id id);
  // The project, then its live descendants breadth first (children) or its
  // ancestors nearest first (parents), in the given order after the first,
  // and paged, as the Focus API answers them. nullopt: no such project.
  std::optional<std::vector<std::string>> children(WorkspaceKey ws, Id id, const model::Paging& paging);
  std::optional<std::vector<std::string>> parents(WorkspaceKey ws, Id id, const model::Paging& paging);
  // Edits waiting to be sent for this workspace (pending, in flight, unknown, conflict).
  std::int64_t pending_edits(WorkspaceKey ws);
  // What is wrong with the workspace's trees as reads show them, one line
  // each ("parent cycle through projects 1000, 1001"); empty when nothing
  // is. Scans the parent links (ids only, O(projects)) when the cache
  // changed since the last call, else answers what it found then. A cycle
  // not seen before is logged as a warning.
  std::vector<std::string> tree_problems(WorkspaceKey ws);

 private:
  struct TreeState {
    std::int64_t fingerprint = -1;   // of the cache when last scanned
    std::vector<std::string> lines;  // what the scan found
    std::set<std::string> cycles;    // cycles already logged, as their lines
    std::set<std::pair<Id, bool>> cut_logged;  // (project, children?) cut at a bound, logged once
  };
  enum class Rate { as_stored, blanked };
  std::optional<std::string> body(WorkspaceKey ws, Id id, Rate rate);
  std::optional<std::string> stored_body(WorkspaceKey ws, Id id, Rate rate);  // blanked by json_replace
  std::vector<std::string> tree_page(WorkspaceKey ws, const std::vector<Id>& ids, const model::Paging& paging);
  void note_cut(WorkspaceKey ws, Id id, bool children, std::size_t rows);
  std::int64_t fingerprint();
  bool has_overlay(WorkspaceKey ws);
  Database& db_;
  std::map<WorkspaceKey, TreeState> trees_;
  std::map<WorkspaceKey, std::pair<std::uint64_t, bool>> overlay_known_;  // Database::commits() then, and the answer
};

}  // namespace focus::store
