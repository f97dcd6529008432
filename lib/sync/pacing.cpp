#include "sync/pacing.hpp"

#include <algorithm>
#include <cmath>

namespace focus::sync {
namespace {

upstream::RetryPolicy error_backoff(const config::Sync& s) {
  upstream::RetryPolicy p;
  p.base = std::chrono::seconds(2);
  p.cap = std::max<std::chrono::milliseconds>(s.interval, std::chrono::seconds(2));
  return p;
}

}  // namespace

Pacing::Pacing(upstream::QuotaTracker& quota, const config::Sync& settings, const Clock& clock, std::uint64_t seed)
    : quota_(quota), settings_(settings), clock_(clock), backoff_(error_backoff(settings), seed) {}

std::int64_t Pacing::reserve(std::int64_t limit) const {
  return static_cast<std::int64_t>(std::ceil(settings_.reserve_share * static_cast<double>(limit)));
}

std::int64_t Pacing::usable_requests(model::Id organization) {
  auto snap = quota_.snapshot(organization);
  if (!snap.remaining && !snap.limit_estimate) return kUnlimited;  // no quota seen yet
  auto limit = snap.limit_estimate.value_or(*snap.remaining);
  // Remaining unknown after a reset: the new window started with the limit.
  auto remaining = snap.remaining.value_or(limit - snap.sent_in_window);
  return std::max<std::int64_t>(remaining - reserve(limit), 0);
}

std::int64_t Pacing::remaining_requests(model::Id organization) {
  auto snap = quota_.snapshot(organization);
  if (!snap.remaining && !snap.limit_estimate) return kUnlimited;
  auto limit = snap.limit_estimate.value_or(*snap.remaining);
  return snap.remaining.value_or(limit - snap.sent_in_window);
}

std::int64_t Pacing::window_budget(model::Id organization) {
  auto snap = quota_.snapshot(organization);
  if (!snap.limit_estimate) return kUnlimited;
  return *snap.limit_estimate - reserve(*snap.limit_estimate);
}

std::int64_t Pacing::listing_cost(model::Id organization, std::int64_t pages) {
  return std::min(pages, std::max<std::int64_t>(window_budget(organization), 1));
}

std::int64_t Pacing::members_budget(model::Id organization, std::size_t workspaces, std::int64_t committed,
                                    std::int64_t batch) {
  const auto usable = usable_requests(organization);
  if (usable == kUnlimited) return batch;
  auto spare = usable - committed;
  const Duration interval = settings_.interval;
  // Until an answer of this window tells its reset (a window just opened, an
  // upstream that does not say), the window is taken as whole: an hour, the
  // quota's own period.
  const Duration left = std::max(until_reset(organization).value_or(kAssumedWindow), Duration::zero());
  if (interval > Duration::zero()) {
    const auto probes_each = (left + interval - Duration(1)) / interval;  // rounded up: the last one counts
    spare -= probes_each * static_cast<std::int64_t>(std::max<std::size_t>(workspaces, 1));
  }
  return std::clamp<std::int64_t>(std::min(spare, usable / 2), 0, batch);
}

std::optional<Duration> Pacing::backoff_left(const Track& track) const {
  auto now = clock_.steady_now();
  if (now < track.not_before) return track.not_before - now;
  return std::nullopt;
}

std::optional<Duration> Pacing::held_back(const Track& track, model::Id organization) {
  if (auto left = backoff_left(track)) return left;
  if (auto until = quota_.blocked_until(organization)) return *until - clock_.steady_now();
  return std::nullopt;
}

Duration Pacing::probe_gap(model::Id organization, std::size_t workspaces, std::int64_t committed) {
  const Duration slowest = settings_.interval;
  if (settings_.spend == config::SpendPolicy::interval) return slowest;
  const auto left = until_reset(organization);
  const auto usable = usable_requests(organization);
  const Duration fastest = std::min<Duration>(settings_.min_interval, slowest);
  // The window has reset, or is due to: the first request of the new one
  // goes at once, and its answer tells the plan. Waiting would leave the
  // window's start unspent (and, where the upstream starts a window at its
  // first request, stretch every window by the wait).
  if ((!left && quota_.snapshot(organization).window_untold) || (left && *left <= Duration::zero())) return fastest;
  if (!left || usable == kUnlimited) return slowest;  // no quota seen yet: as configured
  const auto probes = usable - committed;
  if (probes <= 0) return std::max<Duration>(*left, fastest);  // nothing to spend before the reset
  // Planned to end a second early: the reset is told in whole seconds, and a
  // plan that ends after the real reset leaves its last request unspent.
  const Duration plan_over = *left - std::min<Duration>(*left / 2, std::chrono::seconds(1));
  const Duration even = plan_over * static_cast<std::int64_t>(std::max<std::size_t>(workspaces, 1)) / probes;
  // A budget too small for one probe an interval decides alone: probing at
  // the interval would spend it early and leave the rest of the window blind.
  if (even > slowest) return even;
  return std::max(even, fastest);
}

std::optional<Duration> Pacing::until_probe(const Track& track, Duration gap) const {
  auto now = clock_.steady_now();
  if (track.last_synced && now - *track.last_synced < gap) return *track.last_synced + gap - now;
  return std::nullopt;
}

std::optional<Duration> Pacing::until_reset(model::Id organization) {
  auto snap = quota_.snapshot(organization);
  if (!snap.resets_at) return std::nullopt;
  return *snap.resets_at - clock_.steady_now();
}

Duration Pacing::until_budget(model::Id organization, std::int64_t need) {
  if (auto left = until_reset(organization)) return std::max(*left, Duration::zero());
  return usable_requests(organization) >= need ? Duration::zero() : Duration(settings_.interval);
}

bool Pacing::listing_stale(std::optional<Timestamp> last_full_listing_at) const {
  return !last_full_listing_at || clock_.now() - *last_full_listing_at >= settings_.full_listing_max_age;
}

Duration Pacing::until(Timestamp due) const {
  return std::max(std::chrono::duration_cast<Duration>(due - clock_.now()), Duration::zero());
}

Duration Pacing::spread(model::Id organization, std::size_t workspaces, Duration wait) {
  if (settings_.spend == config::SpendPolicy::all) return wait;  // probe_gap plans the window
  auto snap = quota_.snapshot(organization);
  auto usable = usable_requests(organization);
  if (!snap.resets_at || usable == kUnlimited) return wait;
  auto left = *snap.resets_at - clock_.steady_now();
  auto spacing = usable > 0 ? left * static_cast<std::int64_t>(workspaces) / usable : left;
  if (wait > Duration::zero() || usable == 0) return std::max(wait, spacing);
  return wait;
}

void Pacing::succeeded(Track& track) {
  track.failures = 0;
  track.last_synced = clock_.steady_now();
}

void Pacing::back_off(Track& track) {
  ++track.failures;
  track.not_before = clock_.steady_now() + backoff_.delay(track.failures);
}

}  // namespace focus::sync
