#pragma once
// What local readers see: the mirror with pending edits applied (the overlay
// replaces a mirror row; an overlay marked deleted hides it), queried with
// the Focus list's own filters, order and paging, in SQL on the indexed
// columns. Bodies come back as stored JSON text, never re-parsed (only the
// top-level `rate` is blanked, by a scan of the text, when the caller did
// not ask for rates).
//
// Borrows the Database. Throws SQLite::Exception on I/O failure. io_context
// thread only.

#include "model/list_query.hpp"
#include "store/database.hpp"
#include "store/mirror.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace focus::store {

struct BodyPage {
  std::vector<std::string> bodies;
  std::int64_t total = 0;
};

class ProjectReads {
 public:
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

 private:
  struct Row;
  std::optional<Row> row(WorkspaceKey ws, Id id);
  std::vector<Row> rows_where(WorkspaceKey ws, const std::string& condition, Id value);
  std::vector<std::string> tree_page(std::vector<Row> rows, const model::Paging& paging);
  bool has_overlay(WorkspaceKey ws);
  Database& db_;
};

}  // namespace focus::store
