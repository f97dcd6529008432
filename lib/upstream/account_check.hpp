#pragma once
// Checking an account before relying on it: one list request (per_page=1)
// per workspace proves the key and each organization / workspace id, and
// the answers' quota headers tell what is left. For `focussyncd
// --check-config --online` and `focusctl setup`, which both show the
// outcome to a person: each failure is said in words (401: the key is
// refused; 404: no such organization or workspace for this key), never as a
// bare status. Nothing is retried, so the cost is exactly one request per
// workspace (fewer if the quota is known to be spent). Runs its own
// io_context and blocks until done; call it from a thread with no other
// io_context running. The credentials never appear in what it answers.

#include "model/workspace.hpp"
#include "config/config.hpp"
#include "upstream/credentials.hpp"
#include "upstream/focus_api.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace focus::upstream {

struct WorkspaceVerdict {
  WorkspaceKey workspace;
  bool ok = false;
  std::optional<std::int64_t> active_projects;  // the list's total, when ok
  std::string problem;                          // in words, when not ok
  // A problem no retry fixes (the key refused, an id unknown, access
  // denied): the configuration cannot work as it is.
  bool lasting = false;
};

struct AccountCheck {
  std::vector<WorkspaceVerdict> workspaces;
  std::int64_t requests = 0;  // that reached the server
  std::map<model::Id, std::int64_t> quota_left;  // per organization, when an answer said
  bool ok() const;
  bool lasting_problem() const;
};

AccountCheck check_account(const config::Upstream& upstream, Credentials credentials,
                           const std::vector<WorkspaceKey>& workspaces);

// One line per workspace and the cost, for people.
std::string describe(const AccountCheck& check);

}  // namespace focus::upstream
