#pragma once
// The one name of a workspace: its organization and workspace ids, as the
// Focus API's paths give them. Used as a key by the mirror, the upstream
// client, the configuration and focus-sim alike. A value; any thread.

#include <compare>
#include <cstdint>

namespace focus::model {

struct WorkspaceKey {
  std::int64_t organization_id = 0;
  std::int64_t workspace_id = 0;
  auto operator<=>(const WorkspaceKey&) const = default;
};

}  // namespace focus::model

namespace focus {
// Every layer says WorkspaceKey for it, unqualified.
using model::WorkspaceKey;
}  // namespace focus
