#pragma once
// The scheduler's decisions that hang only on the time, the quota and the
// settings: what the quota lets sync spend (keeping reserve_share of the
// window for replaying edits), when a workspace's next probe is due, how
// long it backs off after a failure (exponential with full jitter, capped at
// the probe interval, at least 2 s), and how far apart the requests a window
// still allows are spread. No mirror, no network and no timers: the
// Scheduler asks, then acts, so these are tested on a ManualClock.
//
// Time: every deadline kept here (a Track's backoff and last sync, quota
// windows) is on the Clock's steady time; the wall time (Clock::now) only
// meets times stored in the cache: the last full listing's age, and an
// edit's next attempt, turned into a wait.
//
// Owned by the Scheduler; borrows the QuotaTracker, the settings and the
// Clock; io_context thread only.

#include "config/config.hpp"
#include "core/clock.hpp"
#include "upstream/quota_tracker.hpp"
#include "upstream/retry_policy.hpp"

#include <cstdint>
#include <limits>
#include <optional>
#include <random>
#include <string>

namespace focus::sync {

using Duration = SteadyTime::duration;

// What the scheduler keeps of one workspace between passes.
struct Track {
  bool needs_full = true;
  // A probe the server did not order by updated_at is not trusted: full
  // listings until then, and a probe is tried again after (a proxy's odd
  // answer once must not cost every listing's pages for good).
  std::optional<SteadyTime> probes_off_until;
  bool unauthorized = false;
  int failures = 0;
  SteadyTime not_before{};                 // backing off until then
  std::optional<SteadyTime> last_synced;   // last probe or listing that succeeded
  std::optional<std::string> error;        // see Scheduler::workspace_error()
};

class Pacing {
 public:
  // Requests are not counted while no answer told the quota.
  static constexpr std::int64_t kUnlimited = std::numeric_limits<std::int64_t>::max();
  // A quota window whose reset no answer has told yet: the Focus API's
  // quotas are hourly.
  static constexpr Duration kAssumedWindow = upstream::QuotaTracker::kQuotaPeriod;

  Pacing(upstream::QuotaTracker& quota, const config::Sync& settings, const Clock& clock,
         std::uint64_t seed = std::random_device{}());

  const Clock& clock() const { return clock_; }

  // Requests sync may still spend in this window: what is left, less the
  // reserve kept for replaying edits.
  std::int64_t usable_requests(model::Id organization);
  // Requests left in this window, the reserve included (replay may spend it).
  std::int64_t remaining_requests(model::Id organization);
  // What sync may spend in a whole window: the limit less the reserve.
  std::int64_t window_budget(model::Id organization);
  // A listing of `pages` requests costs this much at a time: one window's
  // worth at most (a longer one is done in parts).
  std::int64_t listing_cost(model::Id organization, std::int64_t pages);
  // What members may spend now, at most `batch`: half of what is usable,
  // and never what the window must keep for the listings due (`committed`)
  // and for a probe of each of `workspaces` (the organization's) every
  // `interval` until its reset (kAssumedWindow when no answer told it).
  // Members wanted for a whole workspace can outlast many windows of a small
  // quota; they take what the probes leave, not the probes' turn.
  std::int64_t members_budget(model::Id organization, std::size_t workspaces, std::int64_t committed,
                              std::int64_t batch);

  // How long the workspace must wait before it may send anything: backing
  // off after a failure, or the organization held back by its quota or a
  // 429. nullopt: it may send now.
  std::optional<Duration> held_back(const Track& track, model::Id organization);
  // The rest of the workspace's backoff; nullopt when it is not backing off.
  std::optional<Duration> backoff_left(const Track& track) const;
  // How far apart the organization's probes are, each workspace's own:
  // with [sync] spend = "all", what the window has left after the reserve
  // and `committed` (the listings due and not yet paid) spread evenly over
  // the time to the reset, shared by `workspaces` (the organization's, which
  // share its quota; not every configured one): never closer than
  // min_interval (nor than interval, when that is shorter), and no further
  // apart than interval unless the budget itself is thinner (then the even
  // spread, so the window is never left blind at its end); nothing left:
  // the reset. The window reset (or due to) and no answer since: min_interval,
  // so the new window's first request goes without delay and its answer
  // tells the plan. With "interval", or the quota not yet seen: interval.
  // Replanned at every call, so a 402 or an early reset starts the plan over.
  Duration probe_gap(model::Id organization, std::size_t workspaces, std::int64_t committed);
  // Until the next probe is due, `gap` after the last sync that succeeded;
  // nullopt: due now.
  std::optional<Duration> until_probe(const Track& track, Duration gap) const;
  // Until the organization's quota window resets, when an answer said.
  std::optional<Duration> until_reset(model::Id organization);
  // How long a workspace that cannot pay for `need` requests waits: until
  // the reset; with no reset known, zero if the window has just reset and
  // can pay now (the reset may pass between two reads of one pass, and must
  // not cost a whole interval), else the interval.
  Duration until_budget(model::Id organization, std::int64_t need);
  // Whether the last full listing (a stored wall time) is older than
  // full_listing_max_age, or there was none.
  bool listing_stale(std::optional<Timestamp> last_full_listing_at) const;
  // The wait until a stored wall time (an edit's next attempt); never negative.
  Duration until(Timestamp due) const;
  // With spend = "interval": `wait` stretched so that what the window still
  // allows is spread over the time it has left, shared by the organization's
  // `workspaces`. With "all", `wait` as it is: probe_gap has planned it.
  Duration spread(model::Id organization, std::size_t workspaces, Duration wait);

  // A sync of the workspace succeeded: the next probe is due `interval` on.
  void succeeded(Track& track);
  // A sync of the workspace failed (or a step threw): it backs off.
  void back_off(Track& track);

 private:
  std::int64_t reserve(std::int64_t limit) const;

  upstream::QuotaTracker& quota_;
  const config::Sync& settings_;
  const Clock& clock_;
  upstream::Backoff backoff_;
};

}  // namespace focus::sync
