#include "sync/scheduler.hpp"

#include "core/spawn.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <stdexcept>

namespace focus::sync {

Scheduler::Scheduler(Puller& puller, MembersSync& members, Replayer& replayer, upstream::QuotaTracker& quota,
                     store::Mirror& mirror, const config::Sync& settings, std::vector<WorkspaceKey> workspaces,
                     const Clock& clock)
    : puller_(puller),
      members_(members),
      replayer_(replayer),
      mirror_(mirror),
      settings_(settings),
      workspaces_(std::move(workspaces)),
      pacing_(quota, settings, clock) {
  // Its deadlines are compared with the tracker's: one clock for both.
  if (&clock != &quota.clock()) throw std::invalid_argument("the scheduler and its QuotaTracker need the same Clock");
}

std::int64_t Scheduler::full_listing_cost(WorkspaceKey ws) {
  auto per_page = mirror_.sync_state(ws).per_page_cap.value_or(settings_.per_page);
  return pacing_.listing_cost(ws.organization_id, mirror_.live_count(ws) / std::max<std::int64_t>(per_page, 1) + 1);
}

bool Scheduler::full_listing_due(WorkspaceKey ws, const Track& track) {
  if (track.needs_full || (track.probes_off_until && pacing_.clock().steady_now() < *track.probes_off_until))
    return true;
  return pacing_.listing_stale(mirror_.sync_state(ws).last_full_listing_at);
}

// What the organization's window must still pay for before probes: the
// listings due now and not yet paid. One that falls due later in the window
// is not set aside: the plan is made again at every pass, so once it is
// listed the probes after it are spaced out over what is left; and one due
// as the window resets is the next window's first expense, not this one's.
std::int64_t Scheduler::committed_requests(model::Id organization) {
  std::int64_t committed = 0;
  for (const auto& w : workspaces_) {
    if (w.organization_id != organization) continue;
    const auto it = tracks_.find(w);
    if (it != tracks_.end() && full_listing_due(w, it->second)) committed += full_listing_cost(w);
  }
  return committed;
}

bool Scheduler::may_spend_on_listing(model::Id organization) {
  return !stopping_ && pacing_.usable_requests(organization) > 0;
}

std::optional<std::string> Scheduler::workspace_error(WorkspaceKey ws) const {
  auto it = tracks_.find(ws);
  if (it == tracks_.end()) return std::nullopt;
  return it->second.error;
}

void Scheduler::succeeded(Track& track) {
  pacing_.succeeded(track);
  track.error.reset();
  last_error_.reset();
}

// The error boundary of one step. An exception is not an answer from the
// upstream: it is kept apart from last_error_ (which says how the upstream
// answered) but backs the workspace off like a failure, so a step that
// throws every time does not spin.
template <class Step>
boost::asio::awaitable<void> Scheduler::guarded(WorkspaceKey ws, Track& track, Step step) {
  std::exception_ptr thrown;
  try {
    co_await step();
  } catch (...) {
    thrown = std::current_exception();
  }
  if (thrown) step_threw(ws, track, exception_text(thrown));
}

void Scheduler::step_threw(WorkspaceKey ws, Track& track, const std::string& what) {
  const std::string step = current_step_.empty() ? "pass" : current_step_;
  ++step_failures_[step];
  ++runs_[RunKind::failed];
  pacing_.back_off(track);
  track.error = step + " failed: " + what;
  spdlog::error("workspace {}/{}: the {} step failed: {} (attempt {}; backing off, the other workspaces go on)",
                ws.organization_id, ws.workspace_id, step, what, track.failures);
  try {
    mirror_.record_error(ws, *track.error);
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

void Scheduler::failed(WorkspaceKey ws, Track& track, const Error& error) {
  note_result(error);
  track.error = error.message;
  if (error.is(Errc::unauthorized)) {
    track.unauthorized = true;
    spdlog::error("workspace {}/{}: {}; syncing stops; fix the credentials and reload focussyncd "
                  "(systemctl reload, or SIGHUP) or restart it",
                  ws.organization_id, ws.workspace_id, error.message);
    return;
  }
  if (error.is(Errc::quota_exhausted) || error.is(Errc::rate_limited)) return;  // the tracker holds us back
  pacing_.back_off(track);
  spdlog::warn("workspace {}/{}: {} (attempt {}; backing off)", ws.organization_id, ws.workspace_id, error.message,
               track.failures);
}

boost::asio::awaitable<void> Scheduler::sync_one(WorkspaceKey ws, Track& track, Duration& wait) {
  const auto org = ws.organization_id;
  if (track.unauthorized) co_return;
  if (auto held = pacing_.held_back(track, org)) {
    wait = std::min(wait, *held);
    co_return;
  }
  auto usable = pacing_.usable_requests(org);
  const bool full_due = full_listing_due(ws, track);
  const bool edits_ready = replayer_.has_ready(ws);
  const auto gap = pacing_.probe_gap(org, workspaces_of(org), committed_requests(org));
  if (auto probe_in = pacing_.until_probe(track, gap); !full_due && !edits_ready && probe_in) {
    wait = std::min(wait, *probe_in);  // not yet time to probe
    co_return;
  }
  // A listing longer than a whole window can pay for is done in parts, one
  // window's worth at a time (the puller pauses and resumes).
  const auto cost = full_listing_cost(ws);
  if (track.needs_full && usable < cost) {
    // A probe already said only a full listing will do: save the requests.
    wait = std::min(wait, pacing_.until_budget(org, cost));
    co_return;
  }
  if (full_due && usable >= cost) {
    co_await listing_step(ws, track);
  } else if (usable < 1) {
    wait = std::min(wait, pacing_.until_budget(org, 1));
    co_return;
  } else {
    co_await probe_step(ws, track);
  }
  // The next probe is a gap after this step, planned on what is left now
  // (the last of a window's budget spent: the gap is the reset).
  wait = std::min(wait, pacing_.probe_gap(org, workspaces_of(org), committed_requests(org)));
}

boost::asio::awaitable<void> Scheduler::listing_step(WorkspaceKey ws, Track& track) {
  const auto org = ws.organization_id;
  current_step_ = "listing";
  std::function<bool()> may_spend = [this, org] { return !stopping_ && pacing_.usable_requests(org) > 0; };
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
}

boost::asio::awaitable<void> Scheduler::probe_step(WorkspaceKey ws, Track& track) {
  current_step_ = "probe";
  auto p = co_await puller_.probe(ws);
  if (!p) {
    failed(ws, track, p.error());
    co_return;
  }
  succeeded(track);
  ++runs_[RunKind::probe];
  replayer_.mirror_changed(ws);
  if (!p->order_honoured) track.probes_off_until = pacing_.clock().steady_now() + kProbesOffFor;
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

boost::asio::awaitable<void> Scheduler::replay_edits(WorkspaceKey ws, Track& track) {
  if (stopping_ || !replayer_.has_ready(ws)) co_return;
  current_step_ = "replay";
  auto org = ws.organization_id;
  std::function<bool()> may_spend = [this, org] { return !stopping_ && pacing_.remaining_requests(org) > 0; };
  auto r = co_await replayer_.replay(ws, std::move(may_spend));
  if (r.applied + r.failed + r.conflicts + r.retried + r.compacted > 0)
    spdlog::info("replayed edits of {}/{}: {} applied, {} failed, {} in conflict, {} to retry, {} compacted, {} requests",
                 ws.organization_id, ws.workspace_id, r.applied, r.failed, r.conflicts, r.retried, r.compacted, r.requests);
  if (r.stopped) failed(ws, track, *r.stopped);
}

// Members are the last thing the quota is spent on, a small batch per pass,
// and only once the workspace's projects are in sync.
boost::asio::awaitable<void> Scheduler::refresh_members(WorkspaceKey ws, Track& track, Duration& wait) {
  constexpr std::int64_t kBatch = 50;
  const auto org = ws.organization_id;
  if (track.needs_full || track.unauthorized || pacing_.held_back(track, org)) co_return;
  // What the probes leave: they keep their interval to the window's end, or
  // other users' changes would wait for the next window (hours on a free plan).
  auto budget = pacing_.members_budget(org, workspaces_of(org), committed_requests(org), kBatch);
  if (stopping_ || budget <= 0 || members_.wanted(ws, 1) == 0) co_return;
  current_step_ = "members";
  std::function<bool()> may_spend = [this, org] { return !stopping_ && pacing_.usable_requests(org) > 1; };
  auto fetched = co_await members_.refresh(ws, budget, std::move(may_spend));
  if (!fetched) {
    failed(ws, track, fetched.error());
    co_return;
  }
  // More to fetch and quota to spare: come back soon rather than after `interval`.
  if (members_.wanted(ws, 1) > 0) wait = std::min<Duration>(wait, std::chrono::seconds(1));
}

boost::asio::awaitable<std::chrono::milliseconds> Scheduler::pass() {
  Duration wait = settings_.interval;
  for (const auto& ws : workspaces_) {
    if (stopping_) break;
    auto& track = tracks_[ws];
    // Named locals: GCC 12 mishandles lambdas built inside a co_await expression.
    auto sync_step = [&]() { return sync_one(ws, track, wait); };
    auto members_step = [&]() { return refresh_members(ws, track, wait); };
    current_step_ = "sync";
    co_await guarded(ws, track, sync_step);
    current_step_ = "members";
    co_await guarded(ws, track, members_step);
    current_step_.clear();
    // A full listing asked for and affordable now: no reason to wait long.
    bool ready = track.needs_full && !track.unauthorized && !pacing_.backoff_left(track);
    if (ready) {
      try {
        if (pacing_.usable_requests(ws.organization_id) >= full_listing_cost(ws))
          wait = std::min<Duration>(wait, std::chrono::milliseconds(100));
      } catch (const std::exception& e) {
        step_threw(ws, track, e.what());
      }
    }
  }
  due_waits(wait);
  // Rounded up: a timer that fires before the reset finds nothing to spend.
  co_return std::chrono::ceil<std::chrono::milliseconds>(std::max(wait, Duration(std::chrono::milliseconds(50))));
}

void Scheduler::due_waits(Duration& wait) {
  // An edit backing off is due again at its own time.
  for (const auto& ws : workspaces_) {
    std::optional<Timestamp> due;
    try {
      due = replayer_.next_due(ws);
    } catch (const std::exception& e) {
      step_threw(ws, tracks_[ws], e.what());
    }
    if (due) wait = std::min(wait, pacing_.until(*due));
  }
  // A workspace backing off after a failure is due again at its own time.
  for (const auto& [key, track] : tracks_)
    if (auto left = pacing_.backoff_left(track)) wait = std::min(wait, *left);
  // Spread what the window still allows over the time it has left.
  for (const auto& ws : workspaces_) wait = pacing_.spread(ws.organization_id, workspaces_of(ws.organization_id), wait);
}

std::size_t Scheduler::workspaces_of(model::Id organization) const {
  return static_cast<std::size_t>(std::count_if(workspaces_.begin(), workspaces_.end(), [organization](const WorkspaceKey& w) {
    return w.organization_id == organization;
  }));
}

}  // namespace focus::sync
