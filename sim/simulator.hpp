#pragma once
// focus-sim's request pipeline: the one http::Server handler. Control routes
// (/_sim/...) are served directly. An API request then meets, in order, the
// network (offline: the connection is dropped), auth (401), the quota (402,
// with X-Toggl-Quota-* headers on every answer once a quota is set), the
// faults that stop a request (500/503, 429) and, once it has been applied,
// the faults that spoil its answer (drop, truncate, garbage, oversize), and
// the configured latency. Every API answer carries a Date header from the
// server's clock (skewed by --clock-skew, as write times are). Owns the whole simulated world; single-threaded.

#include "http/message.hpp"
#include "sim/api_routes.hpp"
#include "sim/authenticator.hpp"
#include "sim/control_routes.hpp"
#include "sim/faults.hpp"
#include "sim/quota.hpp"
#include "sim/seeder.hpp"
#include "sim/sim_state.hpp"
#include "sim/stats.hpp"

#include <cstdint>
#include <vector>

namespace focus::sim {

struct SimOptions {
  std::vector<WorkspaceKey> workspaces{{1, 1}};
  std::int64_t projects_per_workspace = 100;
  std::uint64_t seed = 1;
  Id first_project_id = 1000;
  std::int64_t max_per_page = 200;
  QuotaSettings quota;
  FaultSettings faults;
  std::chrono::seconds clock_skew{0};  // the server's clock runs this far ahead (negative: behind)
};

class Simulator {
 public:
  Simulator(const SimOptions& options, Authenticator auth);
  http::Response handle(const http::Request& request);
  Stats& stats() { return stats_; }

 private:
  http::Response handle_api(const http::Request& request, const http::Target& target);
  void spoil(http::Response& response, Fault fault);
  bool broken_text(bool write);

  SimState state_;
  Seeder seeder_;
  FaultSettings faults_;
  FaultDice dice_;
  QuotaBook quota_;
  Stats stats_;
  Authenticator auth_;
  ApiRoutes api_;
  ControlRoutes control_;
};

}  // namespace focus::sim
