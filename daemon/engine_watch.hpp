#pragma once
// Whether focussyncd's sync engine is alive: the loop that probes, lists,
// replays and fetches members. It is alive while it makes progress (a pass
// begins or ends, a durable step of a sync or replay happens, an upstream
// request is sent) or while it waits on purpose (the scheduler's timer);
// it is stalled when none of that happened for `stall_after`, which is
// longer than any legitimate step (two upstream timeouts and two retry
// pauses). The systemd watchdog is fed only while the engine is alive, and
// /v1/status and focusctl status say when it is stalled. Owned by the
// daemon's parts; io_context thread only.

#include "core/time.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace focus::daemon {

class EngineWatch {
 public:
  using Clock = std::chrono::steady_clock;

  explicit EngineWatch(std::chrono::milliseconds stall_after) : stall_after_(stall_after) { beat(); }

  void beat() {
    last_progress_ = Clock::now();
    last_progress_wall_ = now_utc();
  }
  // The engine waits on purpose (true) or goes back to work (false).
  void waiting(bool on) {
    waiting_ = on;
    beat();
  }
  // Upstream requests sent so far: a change is progress.
  void requests_sent(std::int64_t sent) {
    if (sent != requests_seen_) {
      requests_seen_ = sent;
      beat();
    }
  }

  bool stalled() const { return !waiting_ && Clock::now() - last_progress_ > stall_after_; }
  // "waiting", "working" or "stalled".
  std::string state() const { return waiting_ ? "waiting" : stalled() ? "stalled" : "working"; }
  Timestamp last_progress_at() const { return last_progress_wall_; }
  std::chrono::seconds since_progress() const {
    return std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - last_progress_);
  }
  std::chrono::milliseconds stall_after() const { return stall_after_; }

 private:
  std::chrono::milliseconds stall_after_;
  Clock::time_point last_progress_{};
  Timestamp last_progress_wall_{};
  bool waiting_ = false;
  std::int64_t requests_seen_ = -1;
};

}  // namespace focus::daemon
