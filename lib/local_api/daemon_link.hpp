#pragma once
// What the local API needs from the daemon that serves it, as an interface
// the daemon implements (so lib/local_api does not depend on daemon/): the
// upstream's health, the quota, a sync on demand, a wake-up when edits were
// queued, and the counters /metrics exposes. io_context thread only.

#include <boost/asio/awaitable.hpp>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>

namespace focus::local_api {

class DaemonLink {
 public:
  virtual ~DaemonLink() = default;

  // "ok", "waiting" (no answer for a few seconds), "unreachable",
  // "unauthorized" or "quota_exhausted".
  virtual std::string upstream_state() = 0;
  // While "waiting" or "unreachable" for want of an answer: since when the
  // upstream has answered nothing.
  virtual std::optional<Timestamp> waiting_since() = 0;
  // {"remaining": n|null, "resets_at": RFC 3339|null}
  virtual nlohmann::json quota() = 0;
  // Runs a full sync and replay of every workspace now (after the pass in
  // progress, if any) and answers its summary; `progress` hears each step.
  // The listing leaves the quota reserve kept for edits unless `spend_reserve`.
  virtual boost::asio::awaitable<nlohmann::json> sync_now(std::function<void(const nlohmann::json&)> progress,
                                                          bool spend_reserve) = 0;
  // The sync engine: {"state": "working"|"waiting"|"stalled",
  // "last_progress_at": RFC 3339, "stall_after_s": n, "step_failures": {step: n}}.
  virtual nlohmann::json engine() = 0;
  // What went wrong in the workspace's last sync step, if it did.
  virtual std::optional<std::string> workspace_error(std::int64_t organization_id, std::int64_t workspace_id) = 0;
  // True once focussyncd is stopping: long polls and event streams end.
  virtual bool stopping() = 0;
  // Edits were queued or changed by a local tool: replay soon.
  virtual void edits_changed() = 0;

  // For /metrics: upstream requests by status, sync runs by result.
  virtual std::map<std::string, std::int64_t> upstream_requests() = 0;
  virtual std::map<std::string, std::int64_t> sync_runs() = 0;
};

}  // namespace focus::local_api
