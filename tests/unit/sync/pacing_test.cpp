// The scheduler's decisions on a ManualClock (sync::Pacing): the reserve kept
// for edits, listings in window-sized parts, the members' share, when a
// workspace is held back and when its next probe is due, the backoff after
// failures and its cap, and the spreading of what a window still allows.
// No sleeps, no focus-sim, no cache.
#include "core/clock.hpp"
#include "sync/pacing.hpp"

#include <doctest/doctest.h>

#include <optional>
#include <vector>

using namespace focus;
using namespace focus::sync;
using namespace std::chrono;

namespace {

// A pacing over its own clock and tracker, with the default settings
// (probes every 5 minutes, a listing at most an hour old, 20% reserve).
struct Paced {
  ManualClock clock;
  upstream::QuotaTracker quota{clock};
  config::Sync settings;
  Pacing pacing{quota, settings, clock, 1};
  Track track;

  // An answer said `remaining` of `limit` are left and the window resets in `resets_in`.
  void window(std::int64_t limit, std::int64_t remaining, seconds resets_in = hours(1)) {
    for (std::int64_t i = 0; i < limit - remaining; ++i) quota.on_sent(1);
    quota.on_headers(1, remaining, resets_in.count());
  }
  void spend(std::int64_t n) {
    for (std::int64_t i = 0; i < n; ++i) quota.on_sent(1);
  }
};

}  // namespace

TEST_CASE("before the quota is known, sync is not limited by it") {
  Paced p;
  CHECK(p.pacing.usable_requests(1) == Pacing::kUnlimited);
  CHECK(p.pacing.remaining_requests(1) == Pacing::kUnlimited);
  CHECK(p.pacing.window_budget(1) == Pacing::kUnlimited);
  CHECK(p.pacing.listing_cost(1, 500) == 500);
  CHECK(p.pacing.members_budget(1, 1, 0, 50) == 50);
  CHECK_FALSE(p.pacing.until_reset(1));
  CHECK(p.pacing.spread(1, 1, minutes(5)) == minutes(5));
}

TEST_CASE("the reserve: sync stops a share of the window short, which replaying edits may still spend") {
  Paced p;
  p.window(100, 100);
  CHECK(p.pacing.usable_requests(1) == 80);
  CHECK(p.pacing.remaining_requests(1) == 100);
  CHECK(p.pacing.window_budget(1) == 80);
  p.spend(79);
  CHECK(p.pacing.usable_requests(1) == 1);
  p.spend(1);
  CHECK(p.pacing.usable_requests(1) == 0);
  CHECK(p.pacing.remaining_requests(1) == 20);
  p.spend(20);
  CHECK(p.pacing.usable_requests(1) == 0);
  CHECK(p.pacing.remaining_requests(1) == 0);
}

TEST_CASE("the reserve is rounded up: a request short rather than one into the edits' share") {
  Paced p;
  p.window(31, 31);  // 20% of 31 is 6.2
  CHECK(p.pacing.usable_requests(1) == 24);
  CHECK(p.pacing.window_budget(1) == 24);
  Paced none;
  none.settings.reserve_share = 0;
  none.window(30, 30);
  CHECK(none.pacing.usable_requests(1) == 30);
}

TEST_CASE("after a reset the new window starts with the whole limit, less what was sent since") {
  Paced p;
  p.window(100, 10, seconds(600));
  CHECK(p.pacing.usable_requests(1) == 0);  // 10 left, 20 kept back
  p.clock.advance(seconds(600));
  CHECK(p.pacing.usable_requests(1) == 80);
  CHECK(p.pacing.remaining_requests(1) == 100);
  p.spend(5);  // no answer has told the new window yet
  CHECK(p.pacing.usable_requests(1) == 75);
  CHECK(p.pacing.remaining_requests(1) == 95);
}

TEST_CASE("a listing longer than a window can pay for is done in window-sized parts") {
  Paced p;
  p.window(30, 30);
  CHECK(p.pacing.window_budget(1) == 24);
  CHECK(p.pacing.listing_cost(1, 100) == 24);
  CHECK(p.pacing.listing_cost(1, 10) == 10);
  Paced tiny;
  tiny.settings.reserve_share = 1.0;  // nothing for sync: a part is still one request
  tiny.window(30, 30);
  CHECK(tiny.pacing.listing_cost(1, 100) == 1);
}

TEST_CASE("members get at most half of what sync may still spend, in a bounded batch") {
  Paced p;
  p.window(240, 240);
  // 192 usable; 12 probes (one every 5 minutes for the hour) kept.
  CHECK(p.pacing.members_budget(1, 1, 0, 50) == 50);
  p.spend(240 - 48 - 30);  // 30 usable beyond the reserve of 48
  CHECK(p.pacing.members_budget(1, 1, 0, 50) == 15);
  p.spend(29);
  CHECK(p.pacing.members_budget(1, 1, 0, 50) == 0);
}

TEST_CASE("members never take the probes' turn: a free plan keeps a probe every interval to the reset") {
  Paced p;
  // The free plan after its hourly listing of 5 pages: 25 left of 30, 6 kept
  // for edits, so 19 usable; the hour still needs 12 probes.
  p.window(30, 25);
  CHECK(p.pacing.members_budget(1, 1, 0, 50) == 7);
  p.spend(7);
  // What the members took, the probes did not lose: none left for members,
  // and the probes still go every interval.
  CHECK(p.pacing.members_budget(1, 1, 0, 50) == 0);
  CHECK(p.pacing.probe_gap(1, 1, 0) <= p.settings.interval);
  // Half an hour later, six probes spent: six needed to the reset, none spare.
  p.clock.advance(minutes(30));
  p.spend(6);
  CHECK(p.pacing.members_budget(1, 1, 0, 50) == 0);
  // Two workspaces share the window: each needs its probes.
  Paced two;
  two.window(30, 25);
  CHECK(two.pacing.members_budget(1, 2, 0, 50) == 0);
  // Before any answer of the window told its reset, the window is taken as
  // a whole hour: the same 12 probes are kept.
  Paced untold;
  untold.window(30, 25);
  untold.clock.advance(hours(2));  // past the reset told: the new window's is not known yet
  CHECK_FALSE(untold.pacing.until_reset(1).has_value());
  CHECK(untold.pacing.members_budget(1, 1, 0, 50) <= 24 - 12);
  // A listing due is paid before members too.
  Paced due;
  due.window(30, 30);  // 24 usable, 12 probes kept: 12 spare, a listing of 5 due
  CHECK(due.pacing.members_budget(1, 1, 0, 50) == 12);
  CHECK(due.pacing.members_budget(1, 1, 5, 50) == 7);
}

TEST_CASE("probe timing: due at once before any sync, then a gap after each that succeeded") {
  Paced p;
  const Duration gap = p.settings.interval;
  CHECK_FALSE(p.pacing.until_probe(p.track, gap));
  p.pacing.succeeded(p.track);
  CHECK(p.pacing.until_probe(p.track, gap) == gap);
  p.clock.advance(minutes(2));
  CHECK(p.pacing.until_probe(p.track, gap) == gap - minutes(2));
  p.clock.advance(duration_cast<microseconds>(gap - minutes(2) - microseconds(1)));
  CHECK(p.pacing.until_probe(p.track, gap) == microseconds(1));
  p.clock.advance(microseconds(1));
  CHECK_FALSE(p.pacing.until_probe(p.track, gap));
  p.pacing.succeeded(p.track);
  CHECK(p.pacing.until_probe(p.track, gap) == gap);
}

namespace {

// A window's hour as the plan sees it: it ends a second before the reset
// the quota headers announce (in whole seconds).
const Duration kPlannedHour = Duration(hours(1)) - seconds(1);

struct WindowSpent {
  int probes = 0;
  Duration shortest = Duration::max(), longest = Duration::zero();
  std::int64_t left_at_reset = 0;  // remaining_requests just before the reset
  bool overspent = false;          // a probe sent with nothing usable: a 402 of our own
};

// Probes as the scheduler sends them (each probe_gap after the last) from
// now until the window resets, `committed` requests already promised.
WindowSpent probe_until_reset(Paced& p, std::size_t workspaces, std::int64_t committed) {
  WindowSpent w;
  const auto reset = p.clock.steady_now() + *p.pacing.until_reset(1);
  for (;;) {
    const Duration gap = p.pacing.probe_gap(1, workspaces, committed);
    if (p.clock.steady_now() + gap >= reset) break;
    p.clock.advance(duration_cast<microseconds>(gap));
    if (p.pacing.usable_requests(1) - committed < 1) continue;  // the scheduler sends nothing then
    w.overspent = w.overspent || p.pacing.remaining_requests(1) < 1;
    p.spend(1);
    ++w.probes;
    w.shortest = std::min(w.shortest, gap);
    w.longest = std::max(w.longest, gap);
  }
  w.left_at_reset = p.pacing.remaining_requests(1);
  return w;
}

}  // namespace

TEST_CASE("spend = all, the free plan: probes use the window less the reserve, evenly, by its reset") {
  Paced p;
  p.window(30, 30);  // 30 an hour; the reserve is 6
  p.spend(5);        // the hourly listing of 1,000 projects, paid first
  CHECK(p.pacing.probe_gap(1, 1, 0) == kPlannedHour / 19);
  auto w = probe_until_reset(p, 1, 0);
  CHECK(w.probes >= 18);  // 19 planned: the last may fall at the reset itself
  CHECK(w.probes <= 19);
  CHECK(w.left_at_reset >= 6);  // the reserve, kept for edits
  CHECK_FALSE(w.overspent);
  CHECK(w.longest - w.shortest < seconds(2));  // even
  CHECK(w.shortest >= p.settings.min_interval);
}

TEST_CASE("spend = all: a listing due before the reset is paid for first") {
  Paced p;
  p.window(30, 30);
  CHECK(p.pacing.probe_gap(1, 1, 5) == kPlannedHour / 19);  // 24 usable, 5 committed
  CHECK(p.pacing.probe_gap(1, 2, 5) == 2 * kPlannedHour / 19);  // two workspaces: 379 s apart, the budget decides
  CHECK(p.pacing.probe_gap(1, 1, 24) == hours(1));  // nothing left for probes: the reset
  Paced paid;
  paid.window(240, 240);
  CHECK(paid.pacing.probe_gap(1, 2, 5) == 2 * kPlannedHour / 187);  // 192 usable, 5 committed, shared by two
}

TEST_CASE("spend = all, paid plans: the min_interval floor governs") {
  Paced p;
  p.window(600, 600);
  CHECK(p.pacing.probe_gap(1, 1, 0) == p.settings.min_interval);
  p.settings.min_interval = seconds(5);
  CHECK(p.pacing.probe_gap(1, 1, 0) == kPlannedHour / 480);  // 7.5 s: the budget governs
}

TEST_CASE("spend = interval, or the quota not seen yet: one probe an interval") {
  Paced p;
  CHECK(p.pacing.probe_gap(1, 1, 0) == p.settings.interval);  // nothing known
  p.window(30, 30);
  p.settings.spend = config::SpendPolicy::interval;
  CHECK(p.pacing.probe_gap(1, 1, 0) == p.settings.interval);
  p.settings.spend = config::SpendPolicy::all;
  CHECK(p.pacing.probe_gap(1, 1, 0) < p.settings.interval);
}

TEST_CASE("spend = all: the plan starts over after an early reset and after a 402") {
  Paced p;
  p.window(30, 30);
  p.clock.advance(minutes(30));
  p.spend(20);  // 4 usable left for the half hour left: 7.5 minutes apart, past the interval
  CHECK(p.pacing.probe_gap(1, 1, 0) == (Duration(minutes(30)) - seconds(1)) / 4);
  p.quota.on_headers(1, 30, 3600);  // the window reset early: planned anew over a whole hour
  CHECK(p.pacing.probe_gap(1, 1, 0) == kPlannedHour / p.pacing.usable_requests(1));
  CHECK(p.pacing.probe_gap(1, 1, 0) < minutes(4));
  p.quota.on_quota_exhausted(1, minutes(10));  // someone else spent it: 402
  CHECK(p.pacing.usable_requests(1) == 0);
  CHECK(p.pacing.probe_gap(1, 1, 0) == *p.pacing.until_reset(1));  // nothing to spend until the reset
  p.clock.advance(minutes(10));
  p.quota.on_headers(1, 30, 3600);
  CHECK(p.pacing.probe_gap(1, 1, 0) == kPlannedHour / p.pacing.usable_requests(1));
}

namespace {

// The upstream's side of a quota as focus-sim keeps it (the edge we do not
// own): a window opens at the first request after the last one ended, and
// each answer tells what is left and the seconds to the reset, rounded up.
struct UpstreamQuota {
  UpstreamQuota(Duration w, std::int64_t l) : window(w), limit(l) {}
  Duration window;
  std::int64_t limit;
  std::optional<SteadyTime> opened;
  std::int64_t used = 0;
  std::vector<std::int64_t> spent_per_window;
  int refused = 0;  // 402s

  // Answers a request sent at `now` into `tracker`, as FocusApi would.
  void answer(SteadyTime now, upstream::QuotaTracker& tracker) {
    tracker.on_sent(1);
    if (!opened || now >= *opened + window) {
      if (opened) spent_per_window.push_back(used);
      opened = now;
      used = 0;
    }
    const auto resets_in = ceil<seconds>(*opened + window - now);
    if (used >= limit) {
      ++refused;
      tracker.on_quota_exhausted(1, resets_in);
      return;
    }
    ++used;
    tracker.on_headers(1, limit - used, resets_in.count());
  }
};

}  // namespace

TEST_CASE("spend = all, window after window: each spends its budget and the next starts as the last resets") {
  // The free plan with the hour scaled to a minute, as bench/quota_economy.py
  // runs it: 30 a minute, probes 5 s apart at the slowest, 0.5 s the fastest.
  Paced p;
  p.settings.interval = seconds(5);
  p.settings.min_interval = milliseconds(500);
  UpstreamQuota upstream(seconds(60), 30);
  const auto began = p.clock.steady_now();
  // A scheduler's passes: probe when due, else wait for what is due next.
  while (upstream.spent_per_window.size() < 10) {
    const Duration gap = p.pacing.probe_gap(1, 1, 0);
    Duration wait = p.settings.interval;
    if (auto in = p.pacing.until_probe(p.track, gap)) {
      wait = *in;
    } else if (p.pacing.usable_requests(1) < 1) {
      wait = p.pacing.until_budget(1, 1);
    } else {
      upstream.answer(p.clock.steady_now(), p.quota);
      p.pacing.succeeded(p.track);
      wait = p.pacing.probe_gap(1, 1, 0);
    }
    p.clock.advance(duration_cast<microseconds>(std::max<Duration>(wait, milliseconds(50))));
  }
  CHECK(upstream.refused == 0);
  for (auto spent : upstream.spent_per_window) CHECK(spent == 24);  // the limit less the reserve of 6
  // Ten windows of 24 in little more than ten minutes: no window waits long
  // for its first request (it did for a whole interval, 5 s, once).
  const Duration ten_windows = *upstream.opened - began;
  CHECK(ten_windows < minutes(10) + seconds(5));
}

TEST_CASE("nothing to spend: wait for the reset, and not a moment past it") {
  Paced p;
  p.settings.interval = seconds(5);
  p.window(30, 6, seconds(60));  // the reserve is all that is left
  CHECK(p.pacing.usable_requests(1) == 0);
  CHECK(p.pacing.until_budget(1, 1) == seconds(60));
  p.clock.advance(seconds(59) + milliseconds(999));
  CHECK(p.pacing.until_budget(1, 1) == milliseconds(1));
  // The reset passes between the pass's first look (nothing usable) and its
  // wait: the new window pays at once, not after an interval.
  p.clock.advance(milliseconds(1));
  CHECK(p.pacing.until_budget(1, 1) == Duration::zero());
  CHECK(p.pacing.until_budget(1, 24) == Duration::zero());
  // A new window spent without an answer to tell its end: the interval,
  // not a busy loop.
  p.spend(24);
  CHECK(p.pacing.until_budget(1, 1) == p.settings.interval);
  // Told a remaining count but never a reset: the interval too.
  Paced q;
  q.quota.on_headers(1, 0, std::nullopt);
  CHECK(q.pacing.until_budget(1, 1) == q.settings.interval);
}

TEST_CASE("a workspace is held back while it backs off, then while its organization's quota is spent or a 429 waits") {
  Paced p;
  CHECK_FALSE(p.pacing.held_back(p.track, 1));
  p.quota.on_headers(1, 0, 600);
  CHECK(p.pacing.held_back(p.track, 1) == seconds(600));
  CHECK(p.pacing.until_reset(1) == seconds(600));
  CHECK_FALSE(p.pacing.held_back(p.track, 2));  // another organization
  p.pacing.back_off(p.track);
  auto left = p.pacing.backoff_left(p.track);
  if (left) CHECK(p.pacing.held_back(p.track, 1) == *left);  // its own backoff first (jitter may make it zero)
  p.clock.advance(seconds(600));
  CHECK_FALSE(p.pacing.held_back(p.track, 1));
  p.quota.on_rate_limited(1, seconds(45));
  CHECK(p.pacing.held_back(p.track, 1) == seconds(45));
}

TEST_CASE("backoff after failures: the ceiling doubles from 2 s per failure up to the probe interval") {
  Paced p;
  p.settings.interval = minutes(1);
  for (std::uint64_t seed = 0; seed < 20; ++seed) {
    Pacing pacing(p.quota, p.settings, p.clock, seed);
    Track track;
    for (int failure = 1; failure <= 12; ++failure) {
      pacing.back_off(track);
      CHECK(track.failures == failure);
      auto left = pacing.backoff_left(track).value_or(Duration::zero());
      CHECK(left <= std::min<Duration>(seconds(2) * (1 << failure), minutes(1)));
    }
    pacing.succeeded(track);
    CHECK(track.failures == 0);
  }
  // Late failures spread over the whole capped range.
  Duration longest{};
  for (std::uint64_t seed = 0; seed < 100; ++seed) {
    Pacing pacing(p.quota, p.settings, p.clock, seed);
    Track track;
    track.failures = 20;
    pacing.back_off(track);
    longest = std::max(longest, pacing.backoff_left(track).value_or(Duration::zero()));
  }
  CHECK(longest > seconds(30));
  CHECK(longest <= minutes(1));
}

TEST_CASE("backoff is capped at 2 s at least, however short the probe interval") {
  Paced p;
  p.settings.interval = milliseconds(100);
  Duration longest{};
  for (std::uint64_t seed = 0; seed < 100; ++seed) {
    Pacing pacing(p.quota, p.settings, p.clock, seed);
    Track track;
    track.failures = 20;
    pacing.back_off(track);
    longest = std::max(longest, pacing.backoff_left(track).value_or(Duration::zero()));
  }
  CHECK(longest > seconds(1));
  CHECK(longest <= seconds(2));
}

TEST_CASE("a backoff runs out as time passes") {
  Paced p;
  p.track.failures = 5;
  Duration left{};
  for (std::uint64_t seed = 0; left == Duration::zero(); ++seed) {  // a draw that is not zero
    Pacing pacing(p.quota, p.settings, p.clock, seed);
    p.track.failures = 5;
    pacing.back_off(p.track);
    left = pacing.backoff_left(p.track).value_or(Duration::zero());
  }
  p.clock.advance(duration_cast<microseconds>(left) / 2);
  CHECK(p.pacing.backoff_left(p.track));
  p.clock.advance(duration_cast<microseconds>(left));
  CHECK_FALSE(p.pacing.backoff_left(p.track));
}

TEST_CASE("spend = interval: what a window still allows is spread over the time it has left") {
  Paced p;
  p.settings.spend = config::SpendPolicy::interval;
  p.window(100, 100, hours(1));  // 80 usable
  CHECK(p.pacing.spread(1, 2, minutes(5)) == minutes(5));  // 90 s apart would do: the interval is longer
  p.spend(76);  // 4 usable
  CHECK(p.pacing.spread(1, 2, minutes(5)) == minutes(30));  // 2 workspaces x 1 h / 4
  CHECK(p.pacing.spread(1, 2, Duration::zero()) == Duration::zero());  // due now stays due now
  p.spend(4);
  CHECK(p.pacing.spread(1, 2, Duration::zero()) == hours(1));  // nothing usable: wait for the reset
  p.clock.advance(minutes(20));
  CHECK(p.pacing.spread(1, 2, Duration::zero()) == minutes(40));
}

TEST_CASE("stored wall times: a listing goes stale at full_listing_max_age; an edit's next attempt becomes a wait") {
  Paced p;
  CHECK(p.pacing.listing_stale(std::nullopt));
  const auto listed = p.clock.now();
  CHECK_FALSE(p.pacing.listing_stale(listed));
  p.clock.advance(p.settings.full_listing_max_age - seconds(1));
  CHECK_FALSE(p.pacing.listing_stale(listed));
  p.clock.advance(seconds(1));
  CHECK(p.pacing.listing_stale(listed));

  CHECK(p.pacing.until(p.clock.now() + seconds(30)) == seconds(30));
  CHECK(p.pacing.until(p.clock.now() - seconds(30)) == Duration::zero());
}

TEST_CASE("setting the wall clock moves only what is compared with stored times") {
  Paced p;
  p.pacing.succeeded(p.track);
  p.quota.on_headers(1, 0, 600);
  const auto listed = p.clock.now();
  const auto due = p.clock.now() + minutes(10);
  p.clock.set(p.clock.now() + hours(2));
  CHECK(p.pacing.until_probe(p.track, p.settings.interval) == p.settings.interval);
  CHECK(p.pacing.held_back(p.track, 1) == seconds(600));
  CHECK(p.pacing.listing_stale(listed));
  CHECK(p.pacing.until(due) == Duration::zero());
}
