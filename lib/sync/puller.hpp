#pragma once
// The puller: brings one workspace of the mirror up to date with a full
// listing. It pages `archived=` (all projects) in id order at the largest
// per_page the server accepts (a lower cap is detected and remembered), with
// rates included, into staging; then the mirror reconciles in one
// transaction. Projects missing from the listing are only candidates: each is
// confirmed with GET by id (404: deleted; found: refreshed) while the quota
// allows, unless so many are missing (more than delete_guard_share of the
// workspace, and more than 5) that the listing is suspect: then no deletion
// is applied and the status says why, until the next full listing misses the
// same number again. Offset drift therefore never deletes a project that
// still exists.
//
// Time: the borrowed Clock. Wall time for what the mirror stamps (changes,
// sync_state); steady time for how long a paused listing may wait to be
// resumed (an interval kept in memory). The quota's reset, a steady time of
// the QuotaTracker, is stored as the wall time it falls at.
//
// Borrows the FocusApi, Mirror and Clock; io_context thread only. Fails with
// the upstream Error (the mirror unchanged when the listing did not complete).

#include "model/workspace.hpp"
#include "config/config.hpp"
#include "core/clock.hpp"
#include "core/result.hpp"
#include "store/mirror.hpp"
#include "upstream/focus_api.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace focus::sync {

struct PullReport {
  // True when the listing paused (the budget said stop) and was not applied
  // yet: the next full_sync continues from the next page.
  bool paused = false;
  std::int64_t projects = 0;  // live in the mirror afterwards
  std::int64_t inserted = 0, updated = 0, deleted = 0, restored = 0;
  std::int64_t requests = 0;       // sent to the server by this pull
  std::int64_t pages = 0;
  std::int64_t unchanged = 0;  // listed as last listed: not decoded (ProjectPage::unchanged)
  std::int64_t held_deletions = 0;  // candidates not (yet) confirmed
  std::optional<std::string> suspect;
};

// What one probe (page 1, newest updated_at first) learnt.
struct ProbeReport {
  std::int64_t inserted = 0, updated = 0, restored = 0;
  std::int64_t requests = 0;
  // Why a full listing is needed now (a delete, more changes than one page
  // holds, an order the server did not honour), or nullopt when the probe
  // told everything.
  std::optional<std::string> needs_full_listing;
  bool order_honoured = true;
};

// Pages fetched so far and the pages expected (0 until the first page says).
using Progress = std::function<void(std::int64_t pages, std::int64_t expected)>;

class Puller {
 public:
  // Called after every durable step of a sync ("staged" a page,
  // "reconciled", "deleted" one confirmed deletion, "upserted" one probed
  // project, "recorded" the outcome); focussyncd's crash test kills the
  // process there.
  using StepHook = std::function<void(std::string_view step)>;

  Puller(upstream::FocusApi& api, store::Mirror& mirror, const config::Sync& settings,
         const Clock& clock = SystemClock::instance())
      : api_(api), mirror_(mirror), settings_(settings), clock_(clock) {}

  void on_step(StepHook hook) { on_step_ = std::move(hook); }

  // `may_spend` is asked before each page; when it says no, the listing
  // pauses (PullReport::paused) and a later call resumes it from the next
  // page, so a workspace larger than one quota window can still be listed.
  boost::asio::awaitable<Result<PullReport>> full_sync(WorkspaceKey ws, Progress progress = {},
                                                       std::function<bool()> may_spend = {});

  // One request: page 1 of every project, newest updated_at first. Every
  // project changed since the last sync is on it unless more changed than a
  // page holds, so inserts, updates, archives and restores are applied from
  // it alone. A smaller total than the mirror's (a delete), a page of
  // nothing but news (overflow) or an order that is not really descending
  // ask for a full listing instead.
  boost::asio::awaitable<Result<ProbeReport>> probe(WorkspaceKey ws);

 private:
  // A listing in progress: where to continue. Kept in memory only (the
  // staging is a scratch database of the connection's): a restarted daemon
  // starts the listing again.
  struct Resume {
    std::int64_t next_page = 1;
    SteadyTime started;
    std::vector<model::Id> unchanged;  // listed with a known digest so far: not staged
  };
  boost::asio::awaitable<Result<bool>> list_into_staging(WorkspaceKey ws, PullReport& report,
                                                         const Progress& progress, const std::function<bool()>& may_spend);
  // The requests a step spent, and the quota as the last answer left it.
  void record_attempt(WorkspaceKey ws, std::int64_t requests);
  boost::asio::awaitable<void> confirm_missing(WorkspaceKey ws, const std::vector<model::Id>& missing,
                                               PullReport& report);

  void step(std::string_view what) {
    if (on_step_) on_step_(what);
  }

  upstream::FocusApi& api_;
  store::Mirror& mirror_;
  const config::Sync& settings_;
  const Clock& clock_;
  std::map<WorkspaceKey, Resume> resume_;
  StepHook on_step_;
};

}  // namespace focus::sync
