#include "core/clock.hpp"

#include <stdexcept>

namespace focus {

Timestamp Clock::wall_time_of(SteadyTime t) const {
  return now() + std::chrono::duration_cast<std::chrono::microseconds>(t - steady_now());
}

Timestamp SystemClock::now() const { return now_utc(); }

SteadyTime SystemClock::steady_now() const { return std::chrono::steady_clock::now(); }

const Clock& SystemClock::instance() {
  static const SystemClock clock;
  return clock;
}

ManualClock::ManualClock()
    : ManualClock(Timestamp{std::chrono::sys_days{std::chrono::year{2026} / 1 / 1}}) {}

ManualClock::ManualClock(Timestamp wall) : wall_(wall), steady_(SteadyTime{} + std::chrono::hours(24)) {}

void ManualClock::advance(std::chrono::microseconds d) {
  // Time going back is set(), on the wall clock only: the steady one never does.
  if (d < std::chrono::microseconds::zero()) throw std::invalid_argument("ManualClock::advance: a negative duration");
  wall_ += d;
  steady_ += d;
}

}  // namespace focus
