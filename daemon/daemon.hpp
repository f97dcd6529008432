#pragma once
// focussyncd's composition root: from a Config it builds the cache, the HTTP
// client, the Focus API client, the puller, the edit queue, the replayer and
// the scheduler, serves the socket, and runs the engine's loop (scheduler
// passes and syncs asked for through the socket) or one cycle (--once). Start-up
// failures (config, credentials, cache) throw std::runtime_error with a
// message for the person who started it; a failed cycle is a value in its
// report. Owns everything it builds; main thread (the io_context's) only.

#include "model/workspace.hpp"
#include "config/config.hpp"
#include "sync/puller.hpp"
#include "sync/replayer.hpp"

#include <boost/asio/awaitable.hpp>
#include <nlohmann/json_fwd.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace boost::asio {
class io_context;
}

namespace focus::daemon {

struct CycleReport {
  struct Workspace {
    WorkspaceKey ref;
    std::optional<sync::PullReport> pull;  // nullopt when it failed
    std::optional<sync::ReplayReport> replay;  // after a pull that succeeded
    std::optional<std::string> error;
  };
  std::vector<Workspace> workspaces;
  bool ok() const;
  nlohmann::json to_json() const;  // the --once line
};

class Daemon {
 public:
  Daemon(boost::asio::io_context& io, config::Config config);
  ~Daemon();

  // One full cycle over every configured workspace: a full listing, then the
  // queued edits. `progress` hears each step (for POST /v1/sync). Unless
  // `spend_reserve`, a listing stops at the quota reserve kept for edits.
  boost::asio::awaitable<CycleReport> run_cycle(std::function<void(const nlohmann::json&)> progress = {},
                                                bool spend_reserve = true);
  // Serves the socket and lets the scheduler spend the quota (probes, full
  // listings, replays) until stop(). Throws when the socket cannot be made;
  // whatever a pass throws is logged and the loop goes on.
  boost::asio::awaitable<void> run_forever();
  // Ends run_forever: the pass in progress stops at its next request
  // boundary, a request in flight is abandoned, the socket closes, long
  // polls and event streams end.
  void stop();
  // Whether the sync engine makes progress or waits on purpose (see
  // EngineWatch): what the systemd watchdog is fed on.
  bool engine_alive();
  // For the watchdog test: the engine hangs after `passes` passes.
  void wedge_after_passes(int passes);

  // Applies a re-read configuration (SIGHUP): log level, [sync] settings and
  // credentials take effect at once; a changed workspace list, cache or
  // socket needs a restart (answered as notes, and the old ones kept).
  // Throws std::runtime_error (the credentials cannot be read) with nothing
  // changed.
  std::vector<std::string> reload(const config::Config& fresh);
  // "synced 1,234 projects 2 min ago, 3 edits pending", for systemd's STATUS.
  std::string status_line();
  // Called once the socket listens (ready), and after every scheduler pass.
  void on_ready(std::function<void()> hook);
  void on_pass(std::function<void()> hook);
  // Called at every durable step of a sync or of replaying an edit (see
  // Puller::on_step and Replayer::on_step), in the order they happen.
  void on_step(const std::function<void(std::string_view)>& hook);

  struct Parts;  // daemon/parts.hpp

 private:
  boost::asio::awaitable<void> run_requested_syncs();
  void check_cache_file();
  void serve_socket();
  void start_notices();
  void tell_the_desktop();
  std::unique_ptr<Parts> parts_;
};

}  // namespace focus::daemon
