#pragma once
// Internal to daemon/: the DaemonLink the local API talks to, answering from
// the Daemon's parts (scheduler, quota tracker, Focus API client counters)
// and queueing syncs asked for through the socket. io_context thread only.

#include "daemon/daemon.hpp"
#include "local_api/daemon_link.hpp"

namespace focus::daemon {

class Link final : public local_api::DaemonLink {
 public:
  explicit Link(Daemon::Parts& parts) : parts_(parts) {}

  std::string upstream_state() override;
  std::optional<Timestamp> waiting_since() override;
  nlohmann::json quota() override;
  boost::asio::awaitable<nlohmann::json> sync_now(std::function<void(const nlohmann::json&)> progress,
                                                  bool spend_reserve) override;
  nlohmann::json engine() override;
  std::optional<std::string> workspace_error(std::int64_t organization_id, std::int64_t workspace_id) override;
  bool stopping() override;
  void edits_changed() override;
  std::map<std::string, std::int64_t> upstream_requests() override;
  std::map<std::string, std::int64_t> sync_runs() override;

 private:
  Daemon::Parts& parts_;
};

}  // namespace focus::daemon
