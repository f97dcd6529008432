#pragma once
// What the person is told on the desktop, decided after each engine pass:
//  - edits that became `conflict` or `failed`: those found within
//    kGroupWindow of each other make one notification ("3 edits need you");
//  - the key refused (the upstream `unauthorized`): once, until it is `ok`;
//  - a workspace stale past [socket] stale_after while the upstream is
//    `unreachable`: once per stale period.
// Each is told once, restarts included (store::NoticeLog). The words are
// here; DesktopNotifier delivers them off the io thread. Nothing is done
// while [notify] says no (config::notify_enabled, read at each pass).
// Borrows the Database, Mirror and configuration; io_context thread only.

#include "config/config.hpp"
#include "daemon/desktop_notifier.hpp"
#include "store/mirror.hpp"
#include "store/notice_log.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace focus::daemon {

class Notices {
 public:
  static constexpr std::chrono::seconds kGroupWindow{2};

  // `upstream_state` answers /v1/status's word: ok, waiting, unreachable, bad_answers, unauthorized,
  // quota_exhausted.
  Notices(boost::asio::io_context& io, store::Database& db, store::Mirror& mirror, const config::Config& config,
          std::function<std::string()> upstream_state);

  void after_pass();

 private:
  void collect_edits();
  void tell_edits();
  void tell_upstream(const std::string& state);
  void tell_stale(const std::string& state);
  std::vector<std::string> stale_workspaces();
  void send(const std::string& slot, std::string summary, std::string body);

  store::NoticeLog log_;
  store::Mirror& mirror_;
  const config::Config& config_;
  std::function<std::string()> upstream_state_;
  boost::asio::steady_timer group_timer_;
  bool group_armed_ = false;
  std::vector<store::EditNotice> waiting_;  // found, told when the group window ends
  std::set<std::int64_t> waiting_ids_;
  DesktopNotifier notifier_;
};

}  // namespace focus::daemon
