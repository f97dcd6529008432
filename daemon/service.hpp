#pragma once
// focussyncd under systemd: readiness (Type=notify), STATUS lines, watchdog
// pings sent only while the sync engine is alive (so a stuck io thread or a
// wedged engine gets the service restarted),
// and logging to the journal with mapped levels when systemd started us.
// Every call is a no-op when focussyncd was not started by systemd.
// io_context thread only.

#include <boost/asio/steady_timer.hpp>

#include <functional>
#include <string>
#include <string_view>

namespace focus::daemon {

// Logs to the journal when stderr is connected to it (JOURNAL_STREAM), to
// stderr otherwise. Throws std::invalid_argument for an unknown level.
void init_logging(std::string_view level);
// Changes the level of the logger init_logging made (SIGHUP reloads).
void set_log_level(std::string_view level);

class ServiceNotifier {
 public:
  // `alive` is asked before each watchdog ping; a no skips it (logged once
  // per stall).
  ServiceNotifier(boost::asio::io_context& io, std::function<bool()> alive);
  void ready(const std::string& status);
  void status(const std::string& status);
  void reloading();
  void reloaded(const std::string& status);
  void stopping();

 private:
  void ping();
  bool enabled_;
  std::function<bool()> alive_;
  bool starving_ = false;  // pings withheld since the engine stalled
  boost::asio::steady_timer watchdog_;
  std::chrono::microseconds interval_{0};
};

}  // namespace focus::daemon
