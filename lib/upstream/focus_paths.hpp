#pragma once
// The Focus API's project paths as a server serves them, defined once for
// focus-sim and the socket (which serves the same paths from its cache):
// each operation's method and pattern under /api/organizations/
// {organization_id}/workspaces/{workspace_id}/projects, its metrics label,
// and the segments' messages when a path names no integer. Each server
// builds its http::Routes from this list with its own handlers. The order is
// the order of the methods in a 405's Allow. Constant data; any thread.

#include "http/routes.hpp"
#include "model/edit.hpp"

#include <optional>
#include <vector>

namespace focus::upstream {

// The 17 operations of the Focus Projects API.
enum class FocusOp {
  list, create, get, update, patch, remove, archive, unarchive, restore, pin, unpin,
  children, parents, members, members_add, members_role, members_remove,
};

struct FocusPath {
  FocusOp op;
  http::RouteSpec spec;  // label: "/projects/{id}/archive"
  // The edit the operation is, for a write (what the socket queues).
  std::optional<model::EditOp> edit;
};

const std::vector<FocusPath>& focus_paths();
// {organization_id}, {workspace_id} and {project_id}.
const std::vector<http::IdSegment>& focus_segments();

}  // namespace focus::upstream
