#pragma once
// The test-only routes under /_sim/, which bypass auth, quota and faults:
//   GET    /_sim/stats     API request counts      DELETE /_sim/stats   reset them
//   GET    /_sim/state     every project (deleted too) and all members
//   POST   /_sim/mutate    other users' changes: {"creates": n, "updates": n,
//                          "deletes": n, "archives": n, "unarchives": n,
//                          "restores": n, "pins": n, "cycle": true, "touch_all": true} (+ optional
//                          "organization_id"/"workspace_id"); answers the ids.
//                          "cycle" makes two live projects each other's parent
//                          in the state itself, bypassing validation ("cycled");
//                          "touch_all": true saves every live project again
//                          unchanged, a new updated_at each ("touched": n)
//   GET|PUT /_sim/faults   fault settings (PUT merges the keys given)
//   GET|PUT /_sim/quota    {"limit": n, "window_seconds": s, "windows": [open
//                          windows: principal, organization_id, used,
//                          resets_in]}; PUT sets limit / window and restarts them
// Owned by the Simulator; single-threaded.

#include "http/message.hpp"
#include "http/target.hpp"
#include "sim/faults.hpp"
#include "sim/quota.hpp"
#include "sim/seeder.hpp"
#include "sim/sim_state.hpp"
#include "sim/stats.hpp"

#include <nlohmann/json_fwd.hpp>

namespace focus::sim {

class ControlRoutes {
 public:
  ControlRoutes(SimState& state, Seeder& seeder, FaultSettings& faults, QuotaBook& quota, Stats& stats)
      : state_(state), seeder_(seeder), faults_(faults), quota_(quota), stats_(stats) {}

  static bool is_control_path(const http::Target& target);
  http::Response serve(const http::Request& request, const http::Target& target);

 private:
  http::Response dispatch(const http::Request& request, const std::string& what);
  nlohmann::json state_json();
  nlohmann::json mutate(const nlohmann::json& body);
  nlohmann::json quota_json() const;

  SimState& state_;
  Seeder& seeder_;
  FaultSettings& faults_;
  QuotaBook& quota_;
  Stats& stats_;
};

}  // namespace focus::sim
