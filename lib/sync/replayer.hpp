#pragma once
// The replayer drains one workspace's edit queue to the server, oldest
// first and strictly in order per project, after compacting it.
//
// Each edit goes through: conflict check against the mirror (fields the edit
// touches that the server changed since the edit's base: settled by the
// configured policy), marked in_flight (durably), sent once, and settled
// (done / failed / pending with backoff) in one transaction. An edit whose
// answer never came, or that was in flight when the process died, is
// unknown_outcome: it is read back from the server (a create is looked up by
// name and creation time: in the mirror first, which a listing since may
// have filled, else with one list request) and sent again only when that
// proves it was not
// applied. So an edit reaches the server at most once, and at least once as
// long as the server accepts it.
//
// A 4xx that retrying cannot fix fails the edit (and only it, and what
// depends on its create); 5xx and bad answers back it off; quota, rate
// limits, 401 and an unreachable server stop the pass with the edit pending.
//
// Borrows the FocusApi, EditQueue and Mirror; io_context thread only.

#include "config/config.hpp"
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

  Replayer(upstream::FocusApi& api, store::EditQueue& queue, store::Mirror& mirror, const config::Sync& settings);

  void on_step(StepHook hook) { on_step_ = std::move(hook); }
  // Ends a pass after the edit being sent settles (a clean shutdown).
  void stop() { stopping_ = true; }

  // `may_spend` is asked before each request; a no ends the pass quietly.
  boost::asio::awaitable<ReplayReport> replay(upstream::WorkspaceRef ws, std::function<bool()> may_spend = {});

  // The mirror of `ws` changed (a listing or probe): the overlays follow.
  void mirror_changed(upstream::WorkspaceRef ws);
  // Whether an edit of `ws` could be sent now, and when the next one can.
  bool has_ready(upstream::WorkspaceRef ws);
  std::optional<Timestamp> next_due(upstream::WorkspaceRef ws);

 private:
  enum class Next { go_on, stop };
  using Sent = Result<std::optional<model::Project>>;

  boost::asio::awaitable<Next> replay_one(upstream::WorkspaceRef ws, store::EditRecord edit, ReplayReport& report);
  boost::asio::awaitable<Next> read_back(upstream::WorkspaceRef ws, const store::EditRecord& edit, ReplayReport& report);
  boost::asio::awaitable<Result<std::optional<model::Project>>> find_created(upstream::WorkspaceRef ws,
                                                                             const store::EditRecord& edit);
  struct CreateCandidates {
    std::optional<model::Project> exact, edited;
  };
  CreateCandidates created_among(const store::EditRecord& edit, const std::vector<model::Project>& candidates);
  boost::asio::awaitable<Sent> send(upstream::WorkspaceRef ws, const store::EditRecord& edit);
  // Applies the conflict policy; false when the edit must not be sent now.
  bool passes_conflict_check(store::EditRecord& edit, ReplayReport& report);
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
  upstream::Backoff backoff_;
  StepHook on_step_;
  bool stopping_ = false;
};

}  // namespace focus::sync
