#include "sync/members_sync.hpp"

#include "model/members.hpp"

#include <nlohmann/json.hpp>

namespace focus::sync {

std::optional<Timestamp> MembersSync::refresh_before() const {
  if (settings_.members != config::MembersPolicy::always) return std::nullopt;
  return clock_.now() - std::chrono::duration_cast<std::chrono::microseconds>(settings_.full_listing_max_age);
}

std::int64_t MembersSync::wanted(WorkspaceKey ws, std::int64_t limit) {
  if (settings_.members == config::MembersPolicy::never) return 0;
  return static_cast<std::int64_t>(
      mirror_.members_wanted(ws, refresh_before(), limit).size());
}

boost::asio::awaitable<Result<std::int64_t>> MembersSync::refresh(WorkspaceKey ws, std::int64_t budget,
                                                                  std::function<bool()> may_spend) {
  if (settings_.members == config::MembersPolicy::never || budget <= 0) co_return std::int64_t{0};
  const WorkspaceKey& key = ws;
  std::int64_t stored = 0;
  for (auto id : mirror_.members_wanted(key, refresh_before(), budget)) {
    if (may_spend && !may_spend()) break;
    auto answer = co_await api_.list_members(ws, id);
    if (!answer) {
      if (answer.error().is(Errc::not_found)) continue;
      co_return answer.error();
    }
    mirror_.save_members(key, id, model::encode_project_members(*answer).dump(), clock_.now());
    ++stored;
  }
  co_return stored;
}

}  // namespace focus::sync
