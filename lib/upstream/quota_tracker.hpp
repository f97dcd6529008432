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

#include "model/project.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>

namespace focus::upstream {

class QuotaTracker {
 public:
  using Clock = std::chrono::steady_clock;

  struct Snapshot {
    std::optional<std::int64_t> remaining;   // unknown until an answer says
    std::optional<Clock::time_point> resets_at;
    std::optional<Clock::time_point> blocked_until;  // no request before this
    bool exhausted = false;  // blocked by the quota rather than by a 429
    // The window's size as far as answers tell (remaining + what we sent in
    // this window); others' use of the same quota makes it an underestimate.
    // Kept across resets: a new window starts with the whole of it.
    std::optional<std::int64_t> limit_estimate;
    std::int64_t sent_in_window = 0;  // since the last known reset
  };

  // When a request to `organization` may go again; nullopt: now.
  std::optional<Clock::time_point> blocked_until(model::Id organization, Clock::time_point now);
  bool blocked_by_quota(model::Id organization, Clock::time_point now);

  void on_sent(model::Id organization);  // counts down the last known figure
  // Reads the quota headers, if present, of an answer from `organization`.
  void on_headers(model::Id organization, std::optional<std::int64_t> remaining,
                  std::optional<std::int64_t> resets_in_seconds, Clock::time_point now);
  void on_quota_exhausted(model::Id organization, std::chrono::seconds resets_in, Clock::time_point now);
  void on_rate_limited(model::Id organization, std::chrono::seconds retry_after, Clock::time_point now);

  Snapshot snapshot(model::Id organization, Clock::time_point now);

 private:
  struct State {
    std::optional<std::int64_t> remaining;
    std::optional<Clock::time_point> resets_at;
    std::optional<Clock::time_point> exhausted_until;
    std::optional<Clock::time_point> rate_limited_until;
    std::int64_t sent_in_window = 0;
    std::optional<std::int64_t> limit_estimate;
  };
  State& fresh(model::Id organization, Clock::time_point now);  // forgets a window that has reset
  std::map<model::Id, State> states_;
};

}  // namespace focus::upstream
