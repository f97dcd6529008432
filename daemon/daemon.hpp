#pragma once
// focussyncd's composition root: from a Config it builds the cache, the HTTP
// client, the Focus API client and the puller, and runs sync cycles. Start-up
// failures (config, credentials, cache) throw std::runtime_error with a
// message for the person who started it; a failed cycle is a value in its
// report. Owns everything it builds; main thread (the io_context's) only.

#include "config/config.hpp"
#include "sync/puller.hpp"

#include <boost/asio/awaitable.hpp>
#include <nlohmann/json_fwd.hpp>

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
    upstream::WorkspaceRef ref;
    std::optional<sync::PullReport> pull;  // nullopt when it failed
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

  // One full cycle over every configured workspace.
  boost::asio::awaitable<CycleReport> run_cycle();
  // Lets the scheduler spend the quota (probes and full listings) until stop().
  boost::asio::awaitable<void> run_forever();
  void stop();

 private:
  struct Parts;
  std::unique_ptr<Parts> parts_;
};

}  // namespace focus::daemon
