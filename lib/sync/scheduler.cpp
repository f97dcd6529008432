#include "sync/scheduler.hpp"

#include "core/spawn.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace focus::sync {
namespace {

constexpr std::int64_t kUnlimited = std::numeric_limits<std::int64_t>::max();

upstream::RetryPolicy error_backoff(const config::Sync& s) {
  upstream::RetryPolicy p;
  p.base = std::chrono::seconds(2);
  p.cap = std::max<std::chrono::milliseconds>(s.interval, std::chrono::seconds(2));
  return p;
}

}  // namespace

Scheduler::Scheduler(Puller& puller, MembersSync& members, Replayer& replayer, upstream::QuotaTracker& quota,
                     store::Mirror& mirror, const config::Sync& settings, std::vector<upstream::WorkspaceRef> workspaces)
    : puller_(puller),
      members_(members),
      replayer_(replayer),
      quota_(quota),
      mirror_(mirror),
      settings_(settings),
      workspaces_(std::move(workspaces)),
      backoff_(error_backoff(settings)) {}

// Requests sync may still spend in this window: what is left, less the
// reserve kept for replaying edits. Unlimited while no answer told us.
std::int64_t Scheduler::usable_requests(model::Id organization, Clock::time_point now) {
  auto snap = quota_.snapshot(organization, now);
  if (!snap.remaining && !snap.limit_estimate) return kUnlimited;  // no quota seen yet
  auto limit = snap.limit_estimate.value_or(*snap.remaining);
  // Remaining unknown after a reset: the new window started with the limit.
  auto remaining = snap.remaining.value_or(limit - snap.sent_in_window);
  auto reserve = static_cast<std::int64_t>(std::ceil(settings_.reserve_share * static_cast<double>(limit)));
  return std::max<std::int64_t>(remaining - reserve, 0);
}

// Requests left in this window, reserve included (replay may spend it).
std::int64_t Scheduler::remaining_requests(model::Id organization, Clock::time_point now) {
  auto snap = quota_.snapshot(organization, now);
  if (!snap.remaining && !snap.limit_estimate) return kUnlimited;
  auto limit = snap.limit_estimate.value_or(*snap.remaining);
  return snap.remaining.value_or(limit - snap.sent_in_window);
}

// What sync may spend in a whole window (the limit less the reserve).
std::int64_t Scheduler::window_budget(model::Id organization) {
  auto snap = quota_.snapshot(organization, Clock::now());
  if (!snap.limit_estimate) return kUnlimited;
  auto reserve = static_cast<std::int64_t>(std::ceil(settings_.reserve_share * static_cast<double>(*snap.limit_estimate)));
  return *snap.limit_estimate - reserve;
}

std::int64_t Scheduler::full_listing_cost(upstream::WorkspaceRef ws) {
  store::WorkspaceKey key{ws.organization_id, ws.workspace_id};
  auto per_page = mirror_.sync_state(key).per_page_cap.value_or(settings_.per_page);
  return mirror_.live_count(key) / std::max<std::int64_t>(per_page, 1) + 1;
}

bool Scheduler::full_listing_due(upstream::WorkspaceRef ws, const Track& track) {
  if (track.needs_full || !track.probe_works) return true;
  auto last = mirror_.sync_state({ws.organization_id, ws.workspace_id}).last_full_listing_at;
  auto when = last ? parse_rfc3339(*last) : std::nullopt;
  return !when || now_utc() - *when >= settings_.full_listing_max_age;
}

bool Scheduler::may_spend_on_listing(model::Id organization) {
  return !stopping_ && usable_requests(organization, Clock::now()) > 0;
}

std::optional<std::string> Scheduler::workspace_error(upstream::WorkspaceRef ws) const {
  auto it = tracks_.find({ws.organization_id, ws.workspace_id});
  if (it == tracks_.end()) return std::nullopt;
  return it->second.error;
}

void Scheduler::succeeded(Track& track) {
  track.failures = 0;
  track.last_synced = Clock::now();
  track.error.reset();
  last_error_.reset();
}

// The error boundary of one step. An exception is not an answer from the
// upstream: it is kept apart from last_error_ (which says how the upstream
// answered) but backs the workspace off like a failure, so a step that
// throws every time does not spin.
template <class Step>
boost::asio::awaitable<void> Scheduler::guarded(upstream::WorkspaceRef ws, Track& track, Step step) {
  std::exception_ptr thrown;
  try {
    co_await step();
  } catch (...) {
    thrown = std::current_exception();
  }
  if (thrown) step_threw(ws, track, exception_text(thrown));
}

void Scheduler::step_threw(upstream::WorkspaceRef ws, Track& track, const std::string& what) {
  const std::string step = current_step_.empty() ? "pass" : current_step_;
  ++step_failures_[step];
  ++runs_[RunKind::failed];
  ++track.failures;
  track.not_before = Clock::now() + backoff_.delay(track.failures);
  track.error = step + " failed: " + what;
  spdlog::error("workspace {}/{}: the {} step failed: {} (attempt {}; backing off, the other workspaces go on)",
                ws.organization_id, ws.workspace_id, step, what, track.failures);
  try {
    mirror_.record_error({ws.organization_id, ws.workspace_id}, *track.error);
  } catch (const std::exception& e) {
    // The cache may be what failed; the in-memory error still reaches /v1/status.
    spdlog::warn("workspace {}/{}: the error could not be recorded in the cache: {}", ws.organization_id,
                 ws.workspace_id, e.what());
  }
}

void Scheduler::credentials_changed() {
  for (auto& [key, track] : tracks_) {
    track.unauthorized = false;
    track.failures = 0;
    track.not_before = {};
  }
  last_error_.reset();
}

void Scheduler::note_result(const std::optional<Error>& error) {
  last_error_ = error;
  if (error) ++runs_[RunKind::failed];
}

std::map<std::string, std::int64_t> Scheduler::runs() const {
  std::map<std::string, std::int64_t> out;
  for (const auto& [kind, n] : runs_) out[std::string(to_text(kind))] = n;
  return out;
}

void Scheduler::failed(upstream::WorkspaceRef ws, Track& track, const Error& error) {
  note_result(error);
  track.error = error.message;
  if (error.is(Errc::unauthorized)) {
    track.unauthorized = true;
    spdlog::error("workspace {}/{}: {}; syncing stops; fix the credentials and restart focussyncd",
                  ws.organization_id, ws.workspace_id, error.message);
    return;
  }
  if (error.is(Errc::quota_exhausted) || error.is(Errc::rate_limited)) return;  // the tracker holds us back
  ++track.failures;
  track.not_before = Clock::now() + backoff_.delay(track.failures);
  spdlog::warn("workspace {}/{}: {} (attempt {}; backing off)", ws.organization_id, ws.workspace_id, error.message,
               track.failures);
}

boost::asio::awaitable<void> Scheduler::sync_one(upstream::WorkspaceRef ws, Track& track, Clock::duration& wait) {
  auto now = Clock::now();
  if (track.unauthorized) co_return;
  if (now < track.not_before) {
    wait = std::min(wait, track.not_before - now);
    co_return;
  }
  if (auto until = quota_.blocked_until(ws.organization_id, now)) {
    wait = std::min(wait, *until - now);
    co_return;
  }
  auto usable = usable_requests(ws.organization_id, now);
  const bool full_due = full_listing_due(ws, track);
  const bool edits_ready = replayer_.has_ready(ws);
  if (!full_due && !edits_ready && track.last_synced && now - *track.last_synced < settings_.interval) {
    wait = std::min(wait, *track.last_synced + settings_.interval - now);  // not yet time to probe
    co_return;
  }
  // A listing longer than a whole window can pay for is done in parts, one
  // window's worth at a time (the puller pauses and resumes).
  const auto cost = std::min(full_listing_cost(ws), std::max<std::int64_t>(window_budget(ws.organization_id), 1));
  if (track.needs_full && usable < cost) {
    // A probe already said only a full listing will do: save the requests.
    auto snap = quota_.snapshot(ws.organization_id, now);
    if (snap.resets_at) wait = std::min(wait, *snap.resets_at - now);
    co_return;
  }
  if (full_due && usable >= cost) {
    current_step_ = "listing";
    auto org = ws.organization_id;
    std::function<bool()> may_spend = [this, org] { return !stopping_ && usable_requests(org, Clock::now()) > 0; };
    Progress no_progress;
    auto r = co_await puller_.full_sync(ws, std::move(no_progress), std::move(may_spend));
    if (!r) {
      failed(ws, track, r.error());
      co_return;
    }
    if (r->paused) {
      track.needs_full = true;
      spdlog::info("workspace {}/{}: full listing paused at the quota reserve; it continues in the next window",
                   ws.organization_id, ws.workspace_id);
      co_return;
    }
    track.needs_full = false;
    succeeded(track);
    ++runs_[RunKind::listing];
    spdlog::info("synced {}/{} (full listing): {} projects, +{} ~{} -{}, {} requests", ws.organization_id,
                 ws.workspace_id, r->projects, r->inserted, r->updated, r->deleted, r->requests);
    replayer_.mirror_changed(ws);
    co_await replay_edits(ws, track);
    co_return;
  }
  if (usable < 1) {
    auto snap = quota_.snapshot(ws.organization_id, now);
    if (snap.resets_at) wait = std::min(wait, *snap.resets_at - now);
    co_return;
  }
  current_step_ = "probe";
  auto p = co_await puller_.probe(ws);
  if (!p) {
    failed(ws, track, p.error());
    co_return;
  }
  succeeded(track);
  ++runs_[RunKind::probe];
  replayer_.mirror_changed(ws);
  if (!p->order_honoured) track.probe_works = false;
  if (p->needs_full_listing) {
    track.needs_full = true;
    spdlog::info("workspace {}/{}: {}: a full listing follows", ws.organization_id, ws.workspace_id,
                 *p->needs_full_listing);
  } else if (p->inserted + p->updated + p->restored > 0) {
    spdlog::info("synced {}/{} (probe): +{} ~{} restored {}", ws.organization_id, ws.workspace_id, p->inserted,
                 p->updated, p->restored);
  }
  // A probe that asks for a full listing leaves the mirror incomplete: the
  // edits wait for the listing, so their conflicts are judged on full facts.
  if (!p->needs_full_listing) co_await replay_edits(ws, track);
}

boost::asio::awaitable<void> Scheduler::replay_edits(upstream::WorkspaceRef ws, Track& track) {
  if (stopping_ || !replayer_.has_ready(ws)) co_return;
  current_step_ = "replay";
  auto org = ws.organization_id;
  std::function<bool()> may_spend = [this, org] { return !stopping_ && remaining_requests(org, Clock::now()) > 0; };
  auto r = co_await replayer_.replay(ws, std::move(may_spend));
  if (r.applied + r.failed + r.conflicts + r.retried + r.compacted > 0)
    spdlog::info("replayed edits of {}/{}: {} applied, {} failed, {} in conflict, {} to retry, {} compacted, {} requests",
                 ws.organization_id, ws.workspace_id, r.applied, r.failed, r.conflicts, r.retried, r.compacted, r.requests);
  if (r.stopped) failed(ws, track, *r.stopped);
}

// Members are the last thing the quota is spent on, a small batch per pass,
// and only once the workspace's projects are in sync.
boost::asio::awaitable<void> Scheduler::refresh_members(upstream::WorkspaceRef ws, Track& track, Clock::duration& wait) {
  constexpr std::int64_t kBatch = 50;
  auto now = Clock::now();
  if (track.needs_full || track.unauthorized || now < track.not_before || quota_.blocked_until(ws.organization_id, now))
    co_return;
  // At most half of what is left: probes later in the window need the rest,
  // or other users' changes would wait for the next window.
  auto usable = usable_requests(ws.organization_id, now);
  auto budget = usable == kUnlimited ? kBatch : std::min(usable / 2, kBatch);
  if (stopping_ || budget <= 0 || members_.wanted(ws, 1) == 0) co_return;
  current_step_ = "members";
  auto org = ws.organization_id;
  std::function<bool()> may_spend = [this, org] { return !stopping_ && usable_requests(org, Clock::now()) > 1; };
  auto fetched = co_await members_.refresh(ws, budget, std::move(may_spend));
  if (!fetched) {
    failed(ws, track, fetched.error());
    co_return;
  }
  // More to fetch and quota to spare: come back soon rather than after `interval`.
  if (members_.wanted(ws, 1) > 0) wait = std::min<Clock::duration>(wait, std::chrono::seconds(1));
}

boost::asio::awaitable<std::chrono::milliseconds> Scheduler::pass() {
  Clock::duration wait = settings_.interval;
  for (const auto& ws : workspaces_) {
    if (stopping_) break;
    auto& track = tracks_[{ws.organization_id, ws.workspace_id}];
    // Named locals: GCC 12 mishandles lambdas built inside a co_await expression.
    auto sync_step = [&]() { return sync_one(ws, track, wait); };
    auto members_step = [&]() { return refresh_members(ws, track, wait); };
    current_step_ = "sync";
    co_await guarded(ws, track, sync_step);
    current_step_ = "members";
    co_await guarded(ws, track, members_step);
    current_step_.clear();
    // A full listing asked for and affordable now: no reason to wait long.
    bool ready = track.needs_full && !track.unauthorized && track.not_before <= Clock::now();
    if (ready) {
      try {
        auto cost = std::min(full_listing_cost(ws), std::max<std::int64_t>(window_budget(ws.organization_id), 1));
        if (usable_requests(ws.organization_id, Clock::now()) >= cost)
          wait = std::min<Clock::duration>(wait, std::chrono::milliseconds(100));
      } catch (const std::exception& e) {
        step_threw(ws, track, e.what());
      }
    }
  }
  // An edit backing off is due again at its own time.
  for (const auto& ws : workspaces_) {
    std::optional<Timestamp> due;
    try {
      due = replayer_.next_due(ws);
    } catch (const std::exception& e) {
      step_threw(ws, tracks_[{ws.organization_id, ws.workspace_id}], e.what());
    }
    if (due) {
      auto left = std::chrono::duration_cast<Clock::duration>(*due - now_utc());
      wait = std::min(wait, std::max(left, Clock::duration::zero()));
    }
  }
  // A workspace backing off after a failure is due again at its own time.
  for (const auto& [key, track] : tracks_)
    if (track.not_before > Clock::now()) wait = std::min(wait, track.not_before - Clock::now());
  // Spread what the window still allows over the time it has left.
  auto now = Clock::now();
  for (const auto& ws : workspaces_) {
    auto snap = quota_.snapshot(ws.organization_id, now);
    auto usable = usable_requests(ws.organization_id, now);
    if (!snap.resets_at || usable == kUnlimited) continue;
    auto left = *snap.resets_at - now;
    auto spacing = usable > 0 ? left * static_cast<std::int64_t>(workspaces_.size()) / usable : left;
    if (wait > Clock::duration::zero() || usable == 0) wait = std::max(wait, spacing);
  }
  co_return std::chrono::duration_cast<std::chrono::milliseconds>(std::max(wait, Clock::duration(std::chrono::milliseconds(50))));
}

}  // namespace focus::sync
