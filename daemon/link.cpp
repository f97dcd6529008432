#include "daemon/link.hpp"

#include "daemon/parts.hpp"

namespace focus::daemon {

using nlohmann::json;

std::string Link::upstream_state() {
  const auto now = upstream::QuotaTracker::Clock::now();
  for (const auto& w : parts_.config.workspaces)
    if (parts_.quota.blocked_by_quota(w.organization_id, now)) return "quota_exhausted";
  const auto& error = parts_.scheduler.last_error();
  if (!error) return "ok";
  if (error->is(Errc::unauthorized) || error->is(Errc::forbidden)) return "unauthorized";
  if (error->is(Errc::quota_exhausted) || error->is(Errc::rate_limited)) return "quota_exhausted";
  if (error->is(Errc::network) || error->is(Errc::timeout) || error->is(Errc::tls) || error->is(Errc::server_error) ||
      error->is(Errc::outcome_unknown))
    return "unreachable";
  return "ok";
}

json Link::quota() {
  if (parts_.config.workspaces.empty()) return {{"remaining", nullptr}, {"resets_at", nullptr}};
  const auto now = upstream::QuotaTracker::Clock::now();
  auto snap = parts_.quota.snapshot(parts_.config.workspaces.front().organization_id, now);
  json resets = nullptr;
  if (snap.resets_at)
    resets = format_rfc3339(now_utc() + std::chrono::duration_cast<std::chrono::microseconds>(*snap.resets_at - now));
  return {{"remaining", snap.remaining ? json(*snap.remaining) : json(nullptr)}, {"resets_at", resets}};
}

boost::asio::awaitable<json> Link::sync_now(std::function<void(const json&)> progress) {
  auto request = std::make_shared<Daemon::Parts::SyncRequest>();
  request->progress = std::move(progress);
  parts_.sync_requests.push_back(request);
  parts_.wake();
  while (!request->result) co_await request->done.wait_for(std::chrono::minutes(10));
  co_return *request->result;
}

void Link::edits_changed() { parts_.wake(); }

std::map<std::string, std::int64_t> Link::upstream_requests() { return parts_.api.counters().by_status; }

std::map<std::string, std::int64_t> Link::sync_runs() { return parts_.scheduler.runs(); }

}  // namespace focus::daemon
