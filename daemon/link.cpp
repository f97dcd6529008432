#include "daemon/link.hpp"

#include "daemon/parts.hpp"

namespace focus::daemon {

using nlohmann::json;

// An upstream that answers nothing is `waiting` after a few seconds and
// `unreachable` once a whole request timeout has passed, however often the
// request is tried again meanwhile: the status never says `ok` for minutes
// of silence.
constexpr std::chrono::seconds kWaitingAfter{3};

std::optional<Timestamp> Link::waiting_since() {
  const auto& silence = parts_.api.unanswered_since();
  if (!silence || std::chrono::steady_clock::now() - silence->steady < kWaitingAfter) return std::nullopt;
  return silence->wall;
}

std::string Link::upstream_state() {
  if (const auto& silence = parts_.api.unanswered_since()) {
    const auto silent = std::chrono::steady_clock::now() - silence->steady;
    if (silent >= parts_.api.exchange_limit()) return "unreachable";
    if (silent >= kWaitingAfter) return "waiting";
  }
  for (const auto& w : parts_.config.workspaces)
    if (parts_.quota.blocked_by_quota(w.organization_id)) return "quota_exhausted";
  const auto& error = parts_.scheduler.last_error();
  if (!error) return "ok";
  if (error->is(Errc::unauthorized) || error->is(Errc::forbidden)) return "unauthorized";
  if (error->is(Errc::quota_exhausted) || error->is(Errc::rate_limited)) return "quota_exhausted";
  if (error->is(Errc::network) || error->is(Errc::timeout) || error->is(Errc::tls) || error->is(Errc::server_error) ||
      error->is(Errc::outcome_unknown))
    return "unreachable";
  // It answers, but what it sends cannot be read: no network fault to look
  // for (a proxy in the way, or the API changed); last_error says how.
  if (error->is(Errc::bad_response) || error->is(Errc::body_too_large) || error->is(Errc::bad_payload))
    return "bad_answers";
  return "ok";
}

json Link::quota() {
  if (parts_.config.workspaces.empty()) return {{"remaining", nullptr}, {"resets_at", nullptr}};
  auto snap = parts_.quota.snapshot(parts_.config.workspaces.front().organization_id);
  json resets = nullptr;
  if (snap.resets_at) resets = format_rfc3339(parts_.quota.clock().wall_time_of(*snap.resets_at));
  return {{"remaining", snap.remaining ? json(*snap.remaining) : json(nullptr)}, {"resets_at", resets}};
}

boost::asio::awaitable<json> Link::sync_now(std::function<void(const json&)> progress, bool spend_reserve) {
  if (parts_.stopped) co_return json{{"error", "focussyncd is stopping"}};
  auto request = std::make_shared<Daemon::Parts::SyncRequest>();
  request->progress = std::move(progress);
  request->spend_reserve = spend_reserve;
  parts_.sync_requests.push_back(request);
  parts_.wake();
  while (!request->result) co_await request->done.wait_for(std::chrono::minutes(10));
  co_return *request->result;
}

void Link::edits_changed() { parts_.wake(); }

json Link::engine() {
  auto& e = parts_.engine;
  e.requests_sent(parts_.api.counters().sent);
  json failures = json::object();
  for (const auto& [step, n] : parts_.scheduler.step_failures()) failures[step] = n;
  if (parts_.pass_failures) failures["pass"] = parts_.pass_failures;
  return {{"state", e.state()},
          {"last_progress_at", format_rfc3339(e.last_progress_at())},
          {"stall_after_s", std::chrono::duration_cast<std::chrono::seconds>(e.stall_after()).count()},
          {"step_failures", std::move(failures)}};
}

std::optional<std::string> Link::workspace_error(std::int64_t organization_id, std::int64_t workspace_id) {
  return parts_.scheduler.workspace_error({organization_id, workspace_id});
}

bool Link::stopping() { return parts_.stopped; }

std::map<std::string, std::int64_t> Link::upstream_requests() { return parts_.api.counters().by_status; }

std::map<std::string, std::int64_t> Link::sync_runs() { return parts_.scheduler.runs(); }

}  // namespace focus::daemon
