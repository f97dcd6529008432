#pragma once
// Fetches project members for the projects that want them (see
// Mirror::members_wanted), a bounded batch at a time, so the scheduler can
// spend only the requests left over after syncing projects and keeping the
// reserve. Policy: "changed" fetches members of new and changed projects;
// "always" also refreshes those older than full_listing_max_age; "never"
// fetches none. Time: the borrowed Clock's wall time (when members were
// stored, and how old they may be, are kept in the cache).
// Borrows the FocusApi, Mirror and Clock; io_context thread only.

#include "model/workspace.hpp"
#include "config/config.hpp"
#include "core/clock.hpp"
#include "core/result.hpp"
#include "store/mirror.hpp"
#include "upstream/focus_api.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <functional>

namespace focus::sync {

class MembersSync {
 public:
  MembersSync(upstream::FocusApi& api, store::Mirror& mirror, const config::Sync& settings,
              const Clock& clock = SystemClock::instance())
      : api_(api), mirror_(mirror), settings_(settings), clock_(clock) {}

  // How many projects want members now (at most `limit` are looked at).
  std::int64_t wanted(WorkspaceKey ws, std::int64_t limit);
  // Fetches up to `budget` members lists, asking `may_spend` before each
  // request (the quota may turn out smaller than the budget assumed); answers
  // how many were stored. A project that vanished (404) is skipped; any
  // other error ends the batch.
  boost::asio::awaitable<Result<std::int64_t>> refresh(WorkspaceKey ws, std::int64_t budget,
                                                       std::function<bool()> may_spend = {});

 private:
  std::optional<Timestamp> refresh_before() const;
  upstream::FocusApi& api_;
  store::Mirror& mirror_;
  const config::Sync& settings_;
  const Clock& clock_;
};

}  // namespace focus::sync
