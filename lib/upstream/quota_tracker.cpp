#include "upstream/quota_tracker.hpp"

#include <algorithm>

namespace focus::upstream {

QuotaTracker::State& QuotaTracker::fresh(model::Id organization, Clock::time_point now) {
  State& s = states_[organization];
  if (s.resets_at && now >= *s.resets_at) {
    s.remaining.reset();
    s.resets_at.reset();
    s.sent_in_window = 0;
  }
  if (s.exhausted_until && now >= *s.exhausted_until) s.exhausted_until.reset();
  if (s.rate_limited_until && now >= *s.rate_limited_until) s.rate_limited_until.reset();
  return s;
}

bool QuotaTracker::blocked_by_quota(model::Id organization, Clock::time_point now) {
  State& s = fresh(organization, now);
  return s.exhausted_until || (s.remaining && *s.remaining <= 0 && s.resets_at);
}

std::optional<QuotaTracker::Clock::time_point> QuotaTracker::blocked_until(model::Id organization, Clock::time_point now) {
  State& s = fresh(organization, now);
  std::optional<Clock::time_point> until;
  auto later = [&](std::optional<Clock::time_point> t) {
    if (t && (!until || *t > *until)) until = t;
  };
  later(s.exhausted_until);
  later(s.rate_limited_until);
  if (s.remaining && *s.remaining <= 0) later(s.resets_at);
  return until;
}

void QuotaTracker::on_sent(model::Id organization) {
  State& s = states_[organization];
  if (s.remaining && *s.remaining > 0) --*s.remaining;
  ++s.sent_in_window;
}

void QuotaTracker::on_headers(model::Id organization, std::optional<std::int64_t> remaining,
                              std::optional<std::int64_t> resets_in_seconds, Clock::time_point now) {
  State& s = states_[organization];
  if (remaining) {
    s.remaining = std::max<std::int64_t>(*remaining, 0);
    s.limit_estimate = std::max(s.limit_estimate.value_or(0), *s.remaining + s.sent_in_window);
  }
  if (resets_in_seconds) s.resets_at = now + std::chrono::seconds(std::max<std::int64_t>(*resets_in_seconds, 0));
}

void QuotaTracker::on_quota_exhausted(model::Id organization, std::chrono::seconds resets_in, Clock::time_point now) {
  State& s = states_[organization];
  s.remaining = 0;
  s.resets_at = now + resets_in;
  s.exhausted_until = s.resets_at;
}

void QuotaTracker::on_rate_limited(model::Id organization, std::chrono::seconds retry_after, Clock::time_point now) {
  states_[organization].rate_limited_until = now + retry_after;
}

QuotaTracker::Snapshot QuotaTracker::snapshot(model::Id organization, Clock::time_point now) {
  State& s = fresh(organization, now);
  return Snapshot{s.remaining, s.resets_at, blocked_until(organization, now), blocked_by_quota(organization, now),
                  s.limit_estimate, s.sent_in_window};
}

}  // namespace focus::upstream
