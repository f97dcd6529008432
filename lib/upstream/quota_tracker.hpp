#pragma once
// What focussync knows of its Focus request quota, per organization (the
// quota is per user and organization, so every workspace of an organization
// shares it). Fed by every answer's X-Toggl-Quota-Remaining /
// X-Toggl-Quota-Resets-In, by 402 (spent until the reset) and by 429
// (Retry-After). It says when a request may not be sent, so that no request is
// spent just to learn the quota is gone. A wait an answer asks for is capped
// at two hours (twice the quota window), so a broken header cannot silence
// focussync. Shared by the FocusApi and the scheduler; single-threaded
// (io_context thread).
//
// Time: the borrowed Clock's steady time only. Windows, resets and waits are
// intervals that must not move when the wall clock is set; who needs a reset
// as a wall time converts it (Clock::wall_time_of).

#include "core/clock.hpp"
#include "model/project.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>

namespace focus::upstream {

class QuotaTracker {
 public:
  explicit QuotaTracker(const Clock& clock = SystemClock::instance()) : clock_(clock) {}

  // The clock its times are on: who compares with them reads this one.
  const Clock& clock() const { return clock_; }

  struct Snapshot {
    std::optional<std::int64_t> remaining;   // unknown until an answer says
    std::optional<SteadyTime> resets_at;
    std::optional<SteadyTime> blocked_until;  // no request before this
    bool exhausted = false;  // blocked by the quota rather than by a 429
    // The window's size as far as answers tell (remaining + what we sent in
    // this window); others' use of the same quota makes it an underestimate.
    // Kept across resets: a new window starts with the whole of it.
    std::optional<std::int64_t> limit_estimate;
    std::int64_t sent_in_window = 0;  // since the last known reset
    // The window has reset and no answer has told the new one yet: a new
    // window begins, with nothing known of its end.
    bool window_untold = false;
  };

  // When a request to `organization` may go again; nullopt: now.
  std::optional<SteadyTime> blocked_until(model::Id organization);
  bool blocked_by_quota(model::Id organization);

  // Counts a request about to go, and down the last known figure; whether
  // it counted that down, for on_unsent.
  bool on_sent(model::Id organization);
  // Gives back what on_sent counted for a request that never reached the
  // server (the connection refused): it cost no quota, and a daemon whose
  // network was down must not find its window spent when it comes back.
  void on_unsent(model::Id organization, bool counted_down);
  // Reads the quota headers, if present, of an answer from `organization`.
  // The reset is told in whole seconds, rounded up, so each answer bounds it
  // from above and the window's tightest bound is kept: a plan that waits
  // for the reset then starts within a request's time of it, not up to a
  // second late. A bound more than kNewWindowSlack past it is a new window
  // (one that reset early).
  void on_headers(model::Id organization, std::optional<std::int64_t> remaining,
                  std::optional<std::int64_t> resets_in_seconds);
  void on_quota_exhausted(model::Id organization, std::chrono::seconds resets_in);
  void on_rate_limited(model::Id organization, std::chrono::seconds retry_after);

  static constexpr std::chrono::seconds kNewWindowSlack{2};
  // The quota's period. A window no answer has told (the headers stopped
  // coming) is taken to last this long from its start, and then another
  // begins with nothing sent: else the requests counted against a limit
  // estimate would stay counted for good, and a server that once said it
  // was spent and then stopped saying anything would stop focussync until
  // a restart.
  static constexpr std::chrono::hours kQuotaPeriod{1};

  Snapshot snapshot(model::Id organization);

 private:
  struct State {
    std::optional<std::int64_t> remaining;
    std::optional<SteadyTime> resets_at;
    std::optional<SteadyTime> exhausted_until;
    std::optional<SteadyTime> rate_limited_until;
    std::int64_t sent_in_window = 0;
    std::optional<std::int64_t> limit_estimate;
    bool window_untold = false;
    std::optional<SteadyTime> untold_since;  // when the untold window began
  };
  State& fresh(model::Id organization, SteadyTime now);  // forgets a window that has reset
  std::optional<SteadyTime> blocked_until(const State& s) const;
  bool blocked_by_quota(const State& s) const;
  const Clock& clock_;
  std::map<model::Id, State> states_;
};

}  // namespace focus::upstream
