#pragma once
// The scheduler spends the hourly quota. Each pass it decides, per workspace,
// between a full listing (never synced yet, older than full_listing_max_age,
// or asked for by the last probe) and a one-request probe, within what the
// quota allows: it keeps reserve_share of the window's quota for replaying
// edits, never sends while the quota is known to be spent (it waits for the
// reset) or a 429 asked it to wait, spreads its requests over the window, backs
// off with jitter after errors, and stops syncing an organization on 401 (a
// restart with fixed credentials resumes it). Workspaces of one organization share its quota.
// Project members are fetched last, only from what is left after all that.
// Offline edits are replayed right after a probe or listing of their
// workspace succeeded (so conflicts are judged against a fresh mirror), and
// may spend the reserve; ready edits make the next probe due at once.
//
// Each step (a listing, a probe, a replay, members) is its own error
// boundary: whatever it throws (a cache error, a JSON type error, a bug) is
// logged with the workspace and step, kept as that workspace's error (and in
// sync_state when the cache takes it), counted by step, and the workspace
// backs off; the other workspaces and later passes go on. pass() itself
// only throws what the io_context's machinery throws (std::bad_alloc).
//
// What hangs only on time and the quota is decided by its Pacing (see
// pacing.hpp), on the Clock it is given: steady time for backoff, the probe
// interval and quota windows; wall time only against times the cache keeps
// (the last full listing, an edit's next attempt). The Clock must be the
// QuotaTracker's (the constructor checks).
//
// Borrows the Puller, Replayer, QuotaTracker, Mirror and Clock; io_context
// thread only.

#include "model/workspace.hpp"
#include "config/config.hpp"
#include "core/clock.hpp"
#include "core/text_enum.hpp"
#include "store/mirror.hpp"
#include "sync/members_sync.hpp"
#include "sync/pacing.hpp"
#include "sync/puller.hpp"
#include "sync/replayer.hpp"
#include "upstream/quota_tracker.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace focus::sync {

// What a sync run came to, as counted for the metrics (label "result").
enum class RunKind { listing, probe, failed };
inline constexpr TextTable<RunKind, 3> kRunKindTexts{{
    {RunKind::listing, "listing"},
    {RunKind::probe, "probe"},
    {RunKind::failed, "failed"},
}};
constexpr const auto& text_table(RunKind) { return kRunKindTexts; }

class Scheduler {
 public:
  Scheduler(Puller& puller, MembersSync& members, Replayer& replayer, upstream::QuotaTracker& quota,
            store::Mirror& mirror, const config::Sync& settings, std::vector<WorkspaceKey> workspaces,
            const Clock& clock = SystemClock::instance());

  // One decision per workspace; answers how long to wait before the next pass.
  boost::asio::awaitable<std::chrono::milliseconds> pass();

  // How long full listings stand in for probes after a probe the server
  // did not order: the quota's period, then a probe is tried again.
  static constexpr Duration kProbesOffFor = upstream::QuotaTracker::kQuotaPeriod;

  // The last upstream failure, until a sync succeeds again.
  const std::optional<Error>& last_error() const { return last_error_; }
  // Sync runs so far by result (RunKind's text); a result not seen yet is absent.
  std::map<std::string, std::int64_t> runs() const;
  // Something outside (a sync asked for, a failure seen elsewhere) tells the
  // scheduler how the upstream answered.
  void note_result(const std::optional<Error>& error);
  // A full listing asked for through the socket completed: counted in
  // runs() as the scheduler's own are.
  void note_listing() { ++runs_[RunKind::listing]; }
  // The credentials were replaced: organizations stopped by a 401 are tried again.
  void credentials_changed();
  // Whether a listing may spend one more request of `organization` now
  // without touching the reserve kept for replaying edits (for syncs asked
  // for through the socket).
  bool may_spend_on_listing(model::Id organization);
  // Ends the pass in progress at the next request boundary (SIGTERM).
  void stop() { stopping_ = true; }

  // Steps that threw so far, by step ("listing", "probe", "replay", "members").
  const std::map<std::string, std::int64_t>& step_failures() const { return step_failures_; }
  // What went wrong in a workspace's last step, until one succeeds again
  // (an upstream error or an exception), with its step named.
  std::optional<std::string> workspace_error(WorkspaceKey ws) const;

 private:
  // Runs one step inside its error boundary.
  template <class Step>
  boost::asio::awaitable<void> guarded(WorkspaceKey ws, Track& track, Step step);
  void step_threw(WorkspaceKey ws, Track& track, const std::string& what);
  void succeeded(Track& track);
  // One turn for one workspace: a full listing, a probe, or nothing yet
  // (wait is lowered to when something will be due).
  boost::asio::awaitable<void> sync_one(WorkspaceKey ws, Track& track, Duration& wait);
  boost::asio::awaitable<void> listing_step(WorkspaceKey ws, Track& track);
  boost::asio::awaitable<void> probe_step(WorkspaceKey ws, Track& track);
  boost::asio::awaitable<void> replay_edits(WorkspaceKey ws, Track& track);
  // What a full listing of `ws` costs now, as Pacing::listing_cost.
  std::int64_t full_listing_cost(WorkspaceKey ws);
  std::int64_t committed_requests(model::Id organization);
  // The configured workspaces that share `organization`'s quota.
  std::size_t workspaces_of(model::Id organization) const;
  bool full_listing_due(WorkspaceKey ws, const Track& track);
  void failed(WorkspaceKey ws, Track& track, const Error& error);
  // The waits a pass ends with that no step set: edits and workspaces backing
  // off come due at their own time; what the window allows is spread out.
  void due_waits(Duration& wait);

  boost::asio::awaitable<void> refresh_members(WorkspaceKey ws, Track& track, Duration& wait);

  Puller& puller_;
  MembersSync& members_;
  Replayer& replayer_;
  store::Mirror& mirror_;
  const config::Sync& settings_;
  std::vector<WorkspaceKey> workspaces_;
  std::map<WorkspaceKey, Track> tracks_;
  Pacing pacing_;
  std::optional<Error> last_error_;
  std::map<RunKind, std::int64_t> runs_;
  std::map<std::string, std::int64_t> step_failures_;
  std::string current_step_;  // for the error boundary's message
  bool stopping_ = false;
};

}  // namespace focus::sync
