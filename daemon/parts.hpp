#pragma once
// Internal to daemon/: what a Daemon is made of, shared by daemon.cpp (the
// loop) and link.cpp (what the socket asks of it). Owned by Daemon; the
// io_context thread only.

#include "model/workspace.hpp"
#include "core/signal.hpp"
#include "daemon/daemon.hpp"
#include "daemon/engine_watch.hpp"
#include "daemon/notices.hpp"
#include "http/client.hpp"
#include "http/unix_server.hpp"
#include "local_api/daemon_link.hpp"
#include "local_api/local_api.hpp"
#include "store/database.hpp"
#include "store/edit_queue.hpp"
#include "store/mirror.hpp"
#include "sync/scheduler.hpp"
#include "upstream/credentials.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <functional>
#include <memory>
#include <optional>
#include <vector>

namespace focus::daemon {

namespace asio = boost::asio;

struct Daemon::Parts {
  asio::io_context& io;
  config::Config config;
  store::Database db;
  store::Mirror mirror;
  http::Client client;
  upstream::QuotaTracker quota;
  upstream::FocusApi api;
  store::EditQueue queue;
  sync::Puller puller;
  sync::MembersSync members;
  sync::Replayer replayer;
  sync::Scheduler scheduler;
  asio::steady_timer timer;
  EngineWatch engine;
  // The crash tests' hook (Daemon::on_step), called after the engine's own beat.
  std::function<void(std::string_view)> step_hook;
  // For the watchdog test only: the engine hangs after this many passes.
  int wedge_after_passes = 0;
  asio::steady_timer wedge;
  bool stopped = false;
  std::int64_t pass_failures = 0;  // passes that threw past the scheduler's boundaries
  bool wake_pending = false;  // a wake-up came while no one was waiting

  // The socket (service mode only) and what it needs from us.
  Signal changes;
  std::unique_ptr<local_api::DaemonLink> link;
  std::unique_ptr<local_api::LocalApi> local;
  std::unique_ptr<http::UnixServer> server;
  std::unique_ptr<Notices> notices;  // desktop notifications ([notify] enabled)

  // Syncs asked for through the socket, run between scheduler passes.
  struct SyncRequest {
    std::function<void(const nlohmann::json&)> progress;
    bool spend_reserve = false;
    std::optional<nlohmann::json> result;
    Signal done;
  };
  std::vector<std::shared_ptr<SyncRequest>> sync_requests;
  std::function<void()> on_ready, on_pass;

  // Ends the scheduler's wait now (or skips the next one).
  void wake() {
    wake_pending = true;
    timer.cancel();
  }

  static http::ClientOptions client_options(const config::Upstream& u) {
    http::ClientOptions o;
    o.base_url = u.base_url;
    o.ca_file = u.ca_file;
    o.insecure_skip_verify = u.insecure_skip_verify;
    o.total_timeout = u.timeout;
    o.user_agent = "focussync/" FOCUSSYNC_VERSION;
    return o;
  }

  Parts(asio::io_context& io_, config::Config c)
      : io(io_),
        config(std::move(c)),
        db(config.cache_path),
        mirror(db),
        client(io_, client_options(config.upstream)),
        api(client, upstream::load_credentials(config.upstream), quota),
        queue(db, mirror),
        puller(api, mirror, config.sync),
        members(api, mirror, config.sync),
        replayer(api, queue, mirror, config.sync),
        scheduler(puller, members, replayer, quota, mirror, config.sync, workspace_refs(config)),
        timer(io_),
        engine(stall_limit(config)),
        wedge(io_) {
    auto on_step = [this](std::string_view step) {
      engine.beat();
      if (step_hook) step_hook(step);
    };
    puller.on_step(on_step);
    replayer.on_step(on_step);
    if (auto n = queue.recover_in_flight())
      spdlog::warn("{} edit(s) were being sent when focussyncd last stopped; they are read back before anything is "
                   "sent again", n);
  }

  // Longer than any legitimate step: two request timeouts and two of the
  // longest pauses between retries.
  static std::chrono::milliseconds stall_limit(const config::Config& c) {
    return 2 * c.upstream.timeout + 2 * upstream::RetryPolicy{}.cap;
  }

  static std::vector<WorkspaceKey> workspace_refs(const config::Config& c) {
    std::vector<WorkspaceKey> out;
    for (const auto& w : c.workspaces) out.push_back({w.organization_id, w.workspace_id});
    return out;
  }
};

}  // namespace focus::daemon
