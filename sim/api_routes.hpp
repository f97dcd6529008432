#pragma once
// The 17 Focus Projects operations under /api/organizations/{o}/workspaces/{w}
// /projects..., mapped onto SimState: a handler for each of the paths in
// upstream::focus_paths() (whose route table answers 400, 404, and 405 with
// Allow), request decoding (400 naming the field or parameter), and the
// reference's answer shapes and statuses. Auth,
// quota and faults are the Simulator's business, not this class's.
// Owned by the Simulator; single-threaded.

#include "http/message.hpp"
#include "http/routes.hpp"
#include "http/target.hpp"
#include "sim/faults.hpp"
#include "sim/seeder.hpp"
#include "sim/sim_state.hpp"

#include <nlohmann/json_fwd.hpp>

#include <optional>
#include <string>
#include <utility>

namespace focus::sim {

// Which operation a request addresses, resolved before it is served, so that
// stats, quota and faults can name it even when it then fails.
struct ApiRoute {
  std::string name;  // "GET /projects/{id}", ... ; "unknown" when no path matched
  std::optional<WorkspaceKey> workspace;  // when the path named both ids, even if it then failed
  http::PathMatch match;  // the route table's word: the route taken, or 400/404/405
};

class ApiRoutes {
 public:
  ApiRoutes(SimState& state, Seeder& seeder, const FaultSettings& faults, std::int64_t max_per_page)
      : state_(state), seeder_(seeder), faults_(faults), max_per_page_(max_per_page) {
    routes();  // built now, so that an operation without a handler fails at start-up
  }

  static ApiRoute resolve(const std::string& method, const http::Target& target);

  // Serves a resolved route; every failure becomes a JSON error response.
  http::Response serve(const http::Request& request, const http::Target& target, const ApiRoute& route);

 private:
  // What a handler is given: the request and the ids its path names.
  struct Call {
    const http::Request& request;
    const http::Target& target;
    WorkspaceKey ws;
    Id id;  // 0 on /projects
  };
  using Handler = http::Response (*)(ApiRoutes&, const Call&);
  static const http::Routes<Handler>& routes();

  http::Response list(const http::Target& target, WorkspaceKey ws);
  http::Response tree(const http::Target& target, const std::vector<const model::Project*>& projects);
  void drift(WorkspaceKey ws);
  // A project as answered: with the cycle fault on, the pair's parents crossed.
  nlohmann::json answer_json(const model::Project& p, bool include_rates) const;

  SimState& state_;
  Seeder& seeder_;
  const FaultSettings& faults_;
  std::int64_t max_per_page_;
  // The two lowest live ids of the workspace served, while the cycle fault is on.
  std::optional<std::pair<Id, Id>> cycle_;
};

// {"error": message} with `status`.
http::Response json_error(int status, const std::string& message);

}  // namespace focus::sim
