#include "daemon/service.hpp"

#include "core/logging.hpp"

#include <spdlog/sinks/systemd_sink.h>
#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

#include <cstdlib>
#include <stdexcept>

namespace focus::daemon {

void init_logging(std::string_view level) {
  if (!std::getenv("JOURNAL_STREAM")) {
    init_stderr_logging(level, "focussyncd");
    return;
  }
  auto parsed = parse_log_level(level);
  // The journal stamps each entry and keeps the priority: the message alone.
  auto sink = std::make_shared<spdlog::sinks::systemd_sink_mt>("focussyncd");
  auto logger = std::make_shared<spdlog::logger>("focussyncd", std::move(sink));
  logger->set_pattern("%v");
  logger->set_level(parsed);
  spdlog::set_default_logger(std::move(logger));
}

void set_log_level(std::string_view level) {
  spdlog::default_logger()->set_level(parse_log_level(level));
}

ServiceNotifier::ServiceNotifier(boost::asio::io_context& io, std::function<bool()> alive)
    : enabled_(std::getenv("NOTIFY_SOCKET") != nullptr), alive_(std::move(alive)), watchdog_(io) {
  std::uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) interval_ = std::chrono::microseconds(usec / 2);
}

void ServiceNotifier::ready(const std::string& status) {
  if (!enabled_) return;
  sd_notifyf(0, "READY=1\nSTATUS=%s\nMAINPID=%d", status.c_str(), static_cast<int>(getpid()));
  if (interval_.count() > 0) ping();
}

void ServiceNotifier::ping() {
  if (!alive_ || alive_()) {
    if (starving_) spdlog::info("the sync engine makes progress again; the watchdog is fed again");
    starving_ = false;
    sd_notify(0, "WATCHDOG=1");
  } else if (!starving_) {
    starving_ = true;
    spdlog::error("the sync engine has made no progress for longer than it may; the watchdog is no longer fed, so "
                  "systemd restarts focussyncd");
  }
  watchdog_.expires_after(interval_);
  watchdog_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) ping();
  });
}

void ServiceNotifier::status(const std::string& status) {
  if (enabled_) sd_notifyf(0, "STATUS=%s", status.c_str());
}

void ServiceNotifier::reloading() {
  if (!enabled_) return;
  // systemd 253+ wants the monotonic time with RELOADING=1; older ones ignore it.
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%lld", static_cast<long long>(ts.tv_sec) * 1000000LL + ts.tv_nsec / 1000);
}

void ServiceNotifier::reloaded(const std::string& status) {
  if (enabled_) sd_notifyf(0, "READY=1\nSTATUS=%s", status.c_str());
}

void ServiceNotifier::stopping() {
  watchdog_.cancel();
  if (enabled_) sd_notify(0, "STOPPING=1\nSTATUS=stopping");
}

}  // namespace focus::daemon
