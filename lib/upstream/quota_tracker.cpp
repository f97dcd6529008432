#include "upstream/quota_tracker.hpp"

#include <algorithm>

namespace focus::upstream {
namespace {

// The quota window is an hour; a header claiming much longer is wrong, and
// believing it would silence focussync (or overflow the clock). Waits read
// from answers are kept within [0, two windows]; counts within a billion.
constexpr std::int64_t kLongestWaitSeconds = 2 * 3600;
constexpr std::int64_t kLargestCount = 1'000'000'000;

std::chrono::seconds sane_wait(std::int64_t seconds) {
  return std::chrono::seconds(std::clamp<std::int64_t>(seconds, 0, kLongestWaitSeconds));
}

}  // namespace

QuotaTracker::State& QuotaTracker::fresh(model::Id organization, SteadyTime now) {
  State& s = states_[organization];
  if (s.resets_at && now >= *s.resets_at) {
    s.untold_since = *s.resets_at;
    s.remaining.reset();
    s.resets_at.reset();
    s.sent_in_window = 0;
    s.window_untold = true;
  }
  if (s.window_untold && s.untold_since && now >= *s.untold_since + kQuotaPeriod) {
    const auto periods = (now - *s.untold_since) / kQuotaPeriod;  // whole periods gone by
    s.untold_since = *s.untold_since + periods * kQuotaPeriod;
    s.sent_in_window = 0;
  }
  if (s.exhausted_until && now >= *s.exhausted_until) s.exhausted_until.reset();
  if (s.rate_limited_until && now >= *s.rate_limited_until) s.rate_limited_until.reset();
  return s;
}

bool QuotaTracker::blocked_by_quota(const State& s) const {
  return s.exhausted_until || (s.remaining && *s.remaining <= 0 && s.resets_at);
}

std::optional<SteadyTime> QuotaTracker::blocked_until(const State& s) const {
  std::optional<SteadyTime> until;
  auto later = [&](std::optional<SteadyTime> t) {
    if (t && (!until || *t > *until)) until = t;
  };
  later(s.exhausted_until);
  later(s.rate_limited_until);
  if (s.remaining && *s.remaining <= 0) later(s.resets_at);
  return until;
}

bool QuotaTracker::blocked_by_quota(model::Id organization) {
  return blocked_by_quota(fresh(organization, clock_.steady_now()));
}

std::optional<SteadyTime> QuotaTracker::blocked_until(model::Id organization) {
  return blocked_until(fresh(organization, clock_.steady_now()));
}

bool QuotaTracker::on_sent(model::Id organization) {
  State& s = states_[organization];
  ++s.sent_in_window;
  if (!s.remaining || *s.remaining <= 0) return false;
  --*s.remaining;
  return true;
}

void QuotaTracker::on_unsent(model::Id organization, bool counted_down) {
  State& s = states_[organization];
  if (s.sent_in_window == 0) return;  // the window it was counted in has reset since
  --s.sent_in_window;
  if (counted_down && s.remaining) ++*s.remaining;
}

void QuotaTracker::on_headers(model::Id organization, std::optional<std::int64_t> remaining,
                              std::optional<std::int64_t> resets_in_seconds) {
  State& s = states_[organization];
  if (remaining) {
    s.remaining = std::clamp<std::int64_t>(*remaining, 0, kLargestCount);
    s.limit_estimate = std::max(s.limit_estimate.value_or(0), *s.remaining + s.sent_in_window);
  }
  if (!resets_in_seconds) return;
  const SteadyTime bound = clock_.steady_now() + sane_wait(*resets_in_seconds);
  if (!s.resets_at || bound < *s.resets_at || bound > *s.resets_at + kNewWindowSlack) s.resets_at = bound;
  s.window_untold = false;
  s.untold_since.reset();
}

void QuotaTracker::on_quota_exhausted(model::Id organization, std::chrono::seconds resets_in) {
  State& s = states_[organization];
  s.remaining = 0;
  s.resets_at = clock_.steady_now() + sane_wait(resets_in.count());
  s.exhausted_until = s.resets_at;
  s.window_untold = false;
  s.untold_since.reset();
}

void QuotaTracker::on_rate_limited(model::Id organization, std::chrono::seconds retry_after) {
  states_[organization].rate_limited_until = clock_.steady_now() + sane_wait(retry_after.count());
}

QuotaTracker::Snapshot QuotaTracker::snapshot(model::Id organization) {
  const State& s = fresh(organization, clock_.steady_now());
  return Snapshot{s.remaining, s.resets_at, blocked_until(s), blocked_by_quota(s), s.limit_estimate, s.sent_in_window,
                  s.window_untold};
}

}  // namespace focus::upstream
