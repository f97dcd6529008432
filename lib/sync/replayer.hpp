#pragma once
// The replayer drains one workspace's edit queue to the server, oldest
// first and strictly in order per project, after compacting it.
//
// Each edit goes through: conflict check against the mirror (fields the edit
// touches that the server changed since the edit's base: settled by the
// configured policy), marked in_flight (durably), sent once, and settled
// (done / failed / pending with backoff) in one transaction. An edit whose
// answer never came, or that was in flight when the process died, is
// unknown_outcome: it is read back from the server and sent again only when
// that proves it was not applied. So an edit reaches the server at most
// once, and at least once as long as the server accepts it.
//
// A create is looked up by name and creation time (in the mirror first,
// which a listing since may have filled, else with one list request): the
// projects of its name created, by the server's clock (the Date header's
// skew, see ServerClock), from a few seconds before it was sent to the
// longest its exchange could take after, by this key's own user when that
// is known (learned from the creates whose answers came back). One such
// project that carries the create's values, or one by this key's user, is
// it; none: it was not applied; several (or one that is neither): the edit
// stays unknown_outcome with the candidates, for the user to say which
// (EditQueue::settle_by_user: created_as / send_again), and is not tried again by
// itself, blocking only its own project's later edits.
//
// A 4xx that retrying cannot fix fails the edit (and only it, and what
// depends on its create); 5xx and bad answers back it off; quota, rate
// limits, 401 and an unreachable server stop the pass with the edit pending.
//
// Time: the borrowed Clock's wall time, for everything it stamps or compares
// (edits' next attempts and settling times, the create window). A retry's
// backoff becomes a stored next_attempt_at, so it is wall time too.
//
// Borrows the FocusApi, EditQueue, Mirror and Clock; io_context thread only.

#include "model/workspace.hpp"
#include "config/config.hpp"
#include "core/clock.hpp"
#include "store/edit_queue.hpp"
#include "upstream/focus_api.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace focus::sync {

struct ReplayReport {
  std::int64_t applied = 0;      // done, sent by this pass or proven applied
  std::int64_t failed = 0;
  std::int64_t conflicts = 0;
  std::int64_t retried = 0;      // left pending with backoff (5xx, bad answers)
  std::int64_t compacted = 0;    // collapses applied before sending
  std::int64_t requests = 0;     // sent to the server
  std::optional<Error> stopped;  // why the pass ended early (quota, offline, 401)
};

class Replayer {
 public:
  // Called at every durable step of an edit's life ("in_flight", "answered",
  // "settled"), in order; focussyncd's crash test kills the process there.
  using StepHook = std::function<void(std::string_view step)>;

  Replayer(upstream::FocusApi& api, store::EditQueue& queue, store::Mirror& mirror, const config::Sync& settings,
           const Clock& clock = SystemClock::instance());

  void on_step(StepHook hook) { on_step_ = std::move(hook); }
  // Ends a pass after the edit being sent settles (a clean shutdown).
  void stop() { stopping_ = true; }

  // `may_spend` is asked before each request; a no ends the pass quietly.
  boost::asio::awaitable<ReplayReport> replay(WorkspaceKey ws, std::function<bool()> may_spend = {});

  // The mirror of `ws` changed (a listing or probe): the overlays follow.
  void mirror_changed(WorkspaceKey ws);
  // Whether an edit of `ws` could be sent now, and when the next one can.
  bool has_ready(WorkspaceKey ws);
  std::optional<Timestamp> next_due(WorkspaceKey ws);

 private:
  enum class Next { go_on, stop };
  using Sent = Result<std::optional<model::Project>>;

  boost::asio::awaitable<Next> replay_one(WorkspaceKey ws, store::EditRecord edit, ReplayReport& report);
  boost::asio::awaitable<Next> read_back(WorkspaceKey ws, const store::EditRecord& edit, ReplayReport& report);
  // The projects a lost create may have made, by what the server shows.
  struct CreateCandidates {
    std::vector<model::Project> exact;   // every value the create set
    std::vector<model::Project> edited;  // changed since, by someone
    std::optional<model::Id> own_user;   // this key's user, when known
    std::size_t size() const { return exact.size() + edited.size(); }
  };
  // What the read-back concludes: the project, none (not applied), or the
  // ids to put before the user.
  struct CreateFinding {
    std::optional<model::Project> made;
    std::vector<model::Id> ambiguous;
    std::string why;  // for the ambiguous case
  };
  struct Window {
    Timestamp from, to;  // server time
    bool measured = false;  // from the server's Date; else a wide guess
  };
  Window create_window(const store::EditRecord& edit) const;
  CreateCandidates created_among(const store::EditRecord& edit, const std::vector<model::Project>& projects);
  CreateFinding conclude(const store::EditRecord& edit, const CreateCandidates& found, const Window& window) const;
  boost::asio::awaitable<Result<CreateFinding>> find_created(WorkspaceKey ws, const store::EditRecord& edit);
  boost::asio::awaitable<Sent> send(WorkspaceKey ws, const store::EditRecord& edit);
  // Checks a patch or PUT against the mirror and, when another writer moved
  // a field it touches, applies the conflict policy: manual settles the edit
  // as in conflict, remote_wins rewrites it (`edit` is then the rewritten
  // one, or it is done when nothing is left), local_wins sends it as it is.
  // Answers whether the edit is still to be sent now.
  bool apply_conflict_policy(store::EditRecord& edit, ReplayReport& report);
  Next settle_answer(const store::EditRecord& edit, const Sent& answer, ReplayReport& report);
  Next settle_error(const store::EditRecord& edit, const Error& error, ReplayReport& report);
  Next read_back_failed(const store::EditRecord& edit, const Error& error, ReplayReport& report);
  void step(std::string_view what) {
    if (on_step_) on_step_(what);
  }

  upstream::FocusApi& api_;
  store::EditQueue& queue_;
  store::Mirror& mirror_;
  const config::Sync& settings_;
  const Clock& clock_;
  upstream::Backoff backoff_;
  StepHook on_step_;
  bool stopping_ = false;
};

}  // namespace focus::sync
