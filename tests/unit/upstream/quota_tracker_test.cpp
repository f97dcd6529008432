// The QuotaTracker on a ManualClock: what it learns from answers, when the
// window resets, what holds requests back (a spent quota until its reset, a
// 402, a 429's Retry-After), per organization. And the Backoff's growth and
// cap. No sleeps, no focus-sim.
#include "core/clock.hpp"
#include "upstream/quota_tracker.hpp"
#include "upstream/retry_policy.hpp"

#include <doctest/doctest.h>

using namespace focus;
using namespace focus::upstream;
using namespace std::chrono;

TEST_CASE("before any answer the quota is unknown and nothing is held back") {
  ManualClock clock;
  QuotaTracker quota(clock);
  auto snap = quota.snapshot(1);
  CHECK_FALSE(snap.remaining);
  CHECK_FALSE(snap.resets_at);
  CHECK_FALSE(snap.blocked_until);
  CHECK_FALSE(snap.exhausted);
  CHECK_FALSE(snap.limit_estimate);
  CHECK_FALSE(quota.blocked_by_quota(1));
  quota.on_sent(1);  // sent without knowing: counted, still unknown
  CHECK(quota.snapshot(1).sent_in_window == 1);
  CHECK_FALSE(quota.snapshot(1).remaining);
}

TEST_CASE("answers' headers set the window; sends count it down; the limit is what was left plus what was sent") {
  ManualClock clock;
  QuotaTracker quota(clock);
  quota.on_sent(1);
  quota.on_headers(1, 29, 3600);
  auto snap = quota.snapshot(1);
  CHECK(snap.remaining == 29);
  CHECK(snap.limit_estimate == 30);
  REQUIRE(snap.resets_at);
  CHECK(*snap.resets_at == clock.steady_now() + hours(1));
  quota.on_sent(1);
  quota.on_sent(1);
  CHECK(quota.snapshot(1).remaining == 27);
  CHECK(quota.snapshot(1).sent_in_window == 3);
  // An answer without the headers changes nothing it does not say.
  quota.on_headers(1, std::nullopt, std::nullopt);
  CHECK(quota.snapshot(1).remaining == 27);
  CHECK(*quota.snapshot(1).resets_at == *snap.resets_at);
  // A negative count is read as none left.
  quota.on_headers(1, -5, std::nullopt);
  CHECK(quota.snapshot(1).remaining == 0);
}

TEST_CASE("a request that never reached the server is given back, as far as it was counted") {
  ManualClock clock;
  QuotaTracker quota(clock);
  quota.on_unsent(1, quota.on_sent(1));  // nothing known yet: nothing to give back but the count
  CHECK(quota.snapshot(1).sent_in_window == 0);
  quota.on_sent(1);
  quota.on_headers(1, 1, 3600);
  const bool counted = quota.on_sent(1);
  CHECK(counted);
  CHECK(quota.snapshot(1).remaining == 0);
  quota.on_unsent(1, counted);
  CHECK(quota.snapshot(1).remaining == 1);
  CHECK(quota.snapshot(1).sent_in_window == 1);
  // Sent with none known left (a server that told no reset): nothing was
  // counted down, so nothing is given back.
  quota.on_headers(1, 0, std::nullopt);
  quota.on_unsent(1, quota.on_sent(1));
  CHECK(quota.snapshot(1).remaining == 0);
  // Counted in a window that has reset since: the new window owes nothing.
  quota.on_headers(1, 5, 1);
  const bool before_reset = quota.on_sent(1);
  clock.advance(seconds(2));
  CHECK(quota.snapshot(1).sent_in_window == 0);
  quota.on_unsent(1, before_reset);
  CHECK(quota.snapshot(1).sent_in_window == 0);
  CHECK_FALSE(quota.snapshot(1).remaining);
}

TEST_CASE("at the reset the window's figures are forgotten, the limit estimate kept") {
  ManualClock clock;
  QuotaTracker quota(clock);
  for (int i = 0; i < 10; ++i) quota.on_sent(1);
  quota.on_headers(1, 20, 600);
  clock.advance(seconds(599));
  CHECK(quota.snapshot(1).remaining == 20);
  CHECK(quota.snapshot(1).sent_in_window == 10);
  clock.advance(seconds(1));
  auto snap = quota.snapshot(1);
  CHECK_FALSE(snap.remaining);
  CHECK_FALSE(snap.resets_at);
  CHECK(snap.sent_in_window == 0);
  CHECK(snap.limit_estimate == 30);
  CHECK(snap.window_untold);  // a new window, not yet told by an answer
  quota.on_headers(1, 29, 600);
  CHECK_FALSE(quota.snapshot(1).window_untold);
}

TEST_CASE("a window no answer tells is taken to last an hour; then another begins with nothing sent") {
  // A server that said once it was spent (402, 0 left, reset in 2 s) and
  // then sent no quota headers at all: the requests of the untold window
  // were counted against the limit estimate for good, and the daemon
  // stopped syncing until it was restarted.
  ManualClock clock;
  QuotaTracker quota(clock);
  for (int i = 0; i < 9; ++i) quota.on_sent(1);
  quota.on_headers(1, 0, 2);
  quota.on_quota_exhausted(1, seconds(2));
  CHECK(quota.snapshot(1).limit_estimate == 9);
  clock.advance(seconds(2));
  CHECK_FALSE(quota.snapshot(1).blocked_until);
  CHECK(quota.snapshot(1).window_untold);
  for (int i = 0; i < 9; ++i) quota.on_sent(1);  // answered, with no headers
  CHECK(quota.snapshot(1).sent_in_window == 9);
  clock.advance(QuotaTracker::kQuotaPeriod - seconds(1));
  CHECK(quota.snapshot(1).sent_in_window == 9);
  clock.advance(seconds(1));  // an hour after the untold window began
  CHECK(quota.snapshot(1).sent_in_window == 0);
  CHECK(quota.snapshot(1).limit_estimate == 9);
  quota.on_sent(1);
  clock.advance(3 * QuotaTracker::kQuotaPeriod + seconds(5));  // windows go by on the hour of the first
  CHECK(quota.snapshot(1).sent_in_window == 0);
  quota.on_sent(1);
  clock.advance(QuotaTracker::kQuotaPeriod - seconds(6));
  CHECK(quota.snapshot(1).sent_in_window == 1);
  clock.advance(seconds(1));
  CHECK(quota.snapshot(1).sent_in_window == 0);
  // An answer that tells the window ends the guessing: its own reset counts.
  quota.on_sent(1);
  quota.on_headers(1, 5, 7200);
  CHECK_FALSE(quota.snapshot(1).window_untold);
  clock.advance(QuotaTracker::kQuotaPeriod + seconds(1));
  CHECK(quota.snapshot(1).sent_in_window == 1);
}

TEST_CASE("each answer bounds the reset from above: the tightest bound is kept; one far past it is a new window") {
  ManualClock clock;
  QuotaTracker quota(clock);
  quota.on_headers(1, 29, 60);  // the reset is within (59, 60] s of now
  const auto first = *quota.snapshot(1).resets_at;
  clock.advance(milliseconds(300));
  quota.on_headers(1, 28, 60);  // a bound 0.3 s later than the first: the first is kept
  CHECK(*quota.snapshot(1).resets_at == first);
  clock.advance(milliseconds(500));
  quota.on_headers(1, 27, 59);  // 0.2 s earlier than the first: the tighter bound
  CHECK(*quota.snapshot(1).resets_at == first - milliseconds(200));
  clock.advance(seconds(10));
  quota.on_headers(1, 30, 3600);  // a window that reset early: the new one's reset
  CHECK(*quota.snapshot(1).resets_at == clock.steady_now() + hours(1));
  CHECK(quota.snapshot(1).remaining == 30);
}

TEST_CASE("a spent quota holds requests back until the reset, and then lets them go") {
  ManualClock clock;
  QuotaTracker quota(clock);
  quota.on_headers(1, 1, 900);
  CHECK_FALSE(quota.blocked_until(1));
  quota.on_sent(1);  // the last one
  quota.on_headers(1, 0, 900);
  REQUIRE(quota.blocked_until(1));
  CHECK(*quota.blocked_until(1) == clock.steady_now() + seconds(900));
  CHECK(quota.blocked_by_quota(1));
  CHECK(quota.snapshot(1).exhausted);
  clock.advance(seconds(899));
  CHECK(quota.blocked_by_quota(1));
  clock.advance(seconds(1));
  CHECK_FALSE(quota.blocked_until(1));
  CHECK_FALSE(quota.blocked_by_quota(1));
}

TEST_CASE("a 402 marks the quota spent until its reset") {
  ManualClock clock;
  QuotaTracker quota(clock);
  quota.on_headers(1, 50, 3600);  // we thought plenty was left: others spent it
  quota.on_quota_exhausted(1, seconds(120));
  auto snap = quota.snapshot(1);
  CHECK(snap.remaining == 0);
  CHECK(snap.exhausted);
  CHECK(*snap.blocked_until == clock.steady_now() + seconds(120));
  CHECK(*snap.resets_at == clock.steady_now() + seconds(120));
  clock.advance(seconds(120));
  CHECK_FALSE(quota.blocked_until(1));
  CHECK_FALSE(quota.snapshot(1).exhausted);
}

TEST_CASE("a 429 holds requests back for its Retry-After without calling the quota spent") {
  ManualClock clock;
  QuotaTracker quota(clock);
  quota.on_headers(1, 100, 3600);
  quota.on_rate_limited(1, seconds(30));
  CHECK(*quota.blocked_until(1) == clock.steady_now() + seconds(30));
  CHECK_FALSE(quota.blocked_by_quota(1));
  CHECK_FALSE(quota.snapshot(1).exhausted);
  clock.advance(seconds(30));
  CHECK_FALSE(quota.blocked_until(1));
  CHECK(quota.snapshot(1).remaining == 100);
}

TEST_CASE("held back by both a 429 and a spent quota: until the later of the two") {
  ManualClock clock;
  QuotaTracker quota(clock);
  quota.on_quota_exhausted(1, seconds(60));
  quota.on_rate_limited(1, seconds(300));
  CHECK(*quota.blocked_until(1) == clock.steady_now() + seconds(300));
  clock.advance(seconds(60));
  CHECK_FALSE(quota.blocked_by_quota(1));
  CHECK(*quota.blocked_until(1) == clock.steady_now() + seconds(240));
}

TEST_CASE("each organization has its own quota") {
  ManualClock clock;
  QuotaTracker quota(clock);
  quota.on_quota_exhausted(1, seconds(600));
  CHECK(quota.blocked_by_quota(1));
  CHECK_FALSE(quota.blocked_by_quota(2));
  CHECK_FALSE(quota.snapshot(2).remaining);
}

TEST_CASE("a wall clock set back does not move the quota's windows") {
  ManualClock clock;
  QuotaTracker quota(clock);
  quota.on_headers(1, 0, 600);
  clock.set(clock.now() - hours(3));
  CHECK(*quota.blocked_until(1) == clock.steady_now() + seconds(600));
  clock.advance(seconds(600));
  CHECK_FALSE(quota.blocked_until(1));
}

TEST_CASE("backoff: full jitter under a ceiling that doubles per attempt, up to the cap") {
  RetryPolicy policy;
  policy.base = milliseconds(250);
  policy.cap = milliseconds(8'000);
  for (std::uint64_t seed = 0; seed < 50; ++seed) {
    Backoff backoff(policy, seed);
    for (int attempt = 0; attempt < 40; ++attempt) {
      auto d = backoff.delay(attempt);
      CHECK(d >= milliseconds(0));
      CHECK(d <= std::min(policy.base * (std::int64_t{1} << std::min(attempt, 20)), policy.cap));
    }
  }
  // The ceiling is reached: over many draws at a late attempt, some wait
  // longer than half the cap (full jitter spreads them over all of it).
  Backoff late(policy, 7);
  milliseconds longest{0};
  for (int i = 0; i < 200; ++i) longest = std::max(longest, late.delay(30));
  CHECK(longest > policy.cap / 2);
  CHECK(longest <= policy.cap);
}

TEST_CASE("backoff: one seed, one sequence") {
  Backoff a(RetryPolicy{}, 42), b(RetryPolicy{}, 42);
  for (int attempt = 0; attempt < 10; ++attempt) CHECK(a.delay(attempt) == b.delay(attempt));
}
