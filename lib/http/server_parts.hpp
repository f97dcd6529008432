#pragma once
// Internal to lib/http: pieces both servers (TCP and Unix socket) share.
//
// AcceptErrors: what an accept loop does when accept fails (EMFILE, ENFILE,
// ENOBUFS: out of descriptors or memory). Retrying at once
// would spin the io thread at 100 % and flood the log, so each failure
// doubles a pause (1 ms up to 1 s, reset by the next success) and the log
// gets one line per 10 s with how many failures it stands for.
//
// Registration: a connection's entry in its server's list of open ones (what
// stop() closes), removed on every path out of the connection, exceptions
// included.
//
// Each owned by one accept loop or connection; io_context thread only.

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <list>
#include <string>

namespace focus::http::detail {

class AcceptErrors {
 public:
  explicit AcceptErrors(std::string server) : server_(std::move(server)) {}

  // A failure: logs it (at most once per interval) and answers how long the
  // loop pauses before accepting again.
  std::chrono::milliseconds failed(const std::string& error) {
    using Clock = std::chrono::steady_clock;
    ++unreported_;
    const auto now = Clock::now();
    if (now - last_logged_ >= kLogInterval) {
      spdlog::warn("{}: accepting a connection failed {} time(s) since the last report: {}; pausing accepts", server_,
                   unreported_, error);
      unreported_ = 0;
      last_logged_ = now;
    }
    pause_ = std::clamp(pause_ * 2, std::chrono::milliseconds(1), std::chrono::milliseconds(1000));
    return pause_;
  }
  void succeeded() { pause_ = std::chrono::milliseconds(0); }

 private:
  static constexpr std::chrono::seconds kLogInterval{10};
  std::string server_;
  std::chrono::milliseconds pause_{0};
  std::int64_t unreported_ = 0;
  std::chrono::steady_clock::time_point last_logged_{};
};

template <class T>
class Registration {
 public:
  Registration(std::list<T*>& open, T* connection) : open_(open), entry_(open.insert(open.begin(), connection)) {}
  ~Registration() { open_.erase(entry_); }
  Registration(const Registration&) = delete;
  Registration& operator=(const Registration&) = delete;

 private:
  std::list<T*>& open_;
  typename std::list<T*>::iterator entry_;
};

}  // namespace focus::http::detail
