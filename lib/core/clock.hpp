#pragma once
// The one seam through which focussync's engine reads the time (as leveldb
// reads files and time through its Env). A Clock gives two times:
//  - now(): the wall clock (Timestamp, UTC, microseconds). For times that
//    are stored, shown, or compared with stored or server times: sync_state,
//    the edit queue, the change log, a last full listing's age.
//  - steady_now(): the steady clock. For intervals and deadlines kept in
//    memory: backoff, the probe interval, quota windows and Retry-After,
//    which must not jump when someone sets the wall clock.
// focussyncd passes SystemClock::instance(); tests pass a ManualClock, which
// moves only when told, so quota windows, probe timing and backoff are tested
// without sleeping. The engine's parts borrow the Clock; SystemClock may be
// used from any thread, a ManualClock from its test's thread only.

#include "core/time.hpp"

#include <chrono>

namespace focus {

using SteadyTime = std::chrono::steady_clock::time_point;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual Timestamp now() const = 0;
  virtual SteadyTime steady_now() const = 0;

  // The wall time at which steady time `t` falls (or fell), as the two
  // clocks stand now: to store or show a deadline kept on the steady clock.
  Timestamp wall_time_of(SteadyTime t) const;
};

// The system's clocks: now_utc() and std::chrono::steady_clock.
class SystemClock final : public Clock {
 public:
  // The process's one SystemClock, the default wherever a Clock is borrowed.
  static const Clock& instance();

  Timestamp now() const override;
  SteadyTime steady_now() const override;
};

// A clock for tests: stands still until advanced or set.
class ManualClock final : public Clock {
 public:
  // 2026-01-01T00:00:00Z on the wall, and a steady time a day past its
  // epoch (so that subtracting a day's waits never goes before it).
  ManualClock();
  explicit ManualClock(Timestamp wall);

  Timestamp now() const override { return wall_; }
  SteadyTime steady_now() const override { return steady_; }

  // Time passes: both clocks move forward by `d` (not negative).
  void advance(std::chrono::microseconds d);
  // The wall clock is set, forward or back; the steady clock does not move.
  void set(Timestamp wall) { wall_ = wall; }

 private:
  Timestamp wall_;
  SteadyTime steady_;
};

}  // namespace focus
