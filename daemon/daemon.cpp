#include "daemon/daemon.hpp"

#include "http/client.hpp"
#include "store/database.hpp"
#include "store/edit_queue.hpp"
#include "store/mirror.hpp"
#include "sync/scheduler.hpp"
#include "upstream/credentials.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

namespace focus::daemon {

namespace asio = boost::asio;

struct Daemon::Parts {
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
  bool stopped = false;

  static http::ClientOptions client_options(const config::Upstream& u) {
    http::ClientOptions o;
    o.base_url = u.base_url;
    o.ca_file = u.ca_file;
    o.insecure_skip_verify = u.insecure_skip_verify;
    o.total_timeout = u.timeout;
    o.user_agent = "focussync/" FOCUSSYNC_VERSION;
    return o;
  }

  Parts(asio::io_context& io, config::Config c)
      : config(std::move(c)),
        db(config.cache_path),
        mirror(db),
        client(io, client_options(config.upstream)),
        api(client, upstream::load_credentials(config.upstream), quota),
        queue(db, mirror),
        puller(api, mirror, config.sync),
        members(api, mirror, config.sync),
        replayer(api, queue, mirror, config.sync),
        scheduler(puller, members, replayer, quota, mirror, config.sync, workspace_refs(config)),
        timer(io) {
    if (auto n = queue.recover_in_flight())
      spdlog::warn("{} edit(s) were being sent when focussyncd last stopped; they are read back before anything is "
                   "sent again", n);
  }

  static std::vector<upstream::WorkspaceRef> workspace_refs(const config::Config& c) {
    std::vector<upstream::WorkspaceRef> out;
    for (const auto& w : c.workspaces) out.push_back({w.organization_id, w.workspace_id});
    return out;
  }
};

Daemon::Daemon(asio::io_context& io, config::Config config) : parts_(std::make_unique<Parts>(io, std::move(config))) {}
Daemon::~Daemon() = default;

bool CycleReport::ok() const {
  for (const auto& w : workspaces)
    if (w.error) return false;
  return true;
}

nlohmann::json CycleReport::to_json() const {
  nlohmann::json list = nlohmann::json::array();
  std::optional<std::string> first_error;
  for (const auto& w : workspaces) {
    nlohmann::json j = {{"organization_id", w.ref.organization_id}, {"workspace_id", w.ref.workspace_id}};
    if (w.pull) {
      j.update({{"projects", w.pull->projects},
                {"inserted", w.pull->inserted},
                {"updated", w.pull->updated},
                {"deleted", w.pull->deleted},
                {"restored", w.pull->restored},
                {"requests", w.pull->requests},
                {"held_deletions", w.pull->held_deletions},
                {"suspect", w.pull->suspect ? nlohmann::json(*w.pull->suspect) : nlohmann::json(nullptr)}});
    }
    if (w.replay) {
      const auto& r = *w.replay;
      j["edits"] = {{"applied", r.applied},   {"failed", r.failed},     {"conflicts", r.conflicts},
                    {"retried", r.retried},   {"compacted", r.compacted}, {"requests", r.requests},
                    {"stopped", r.stopped ? nlohmann::json(r.stopped->message) : nlohmann::json(nullptr)}};
    }
    j["error"] = w.error ? nlohmann::json(*w.error) : nlohmann::json(nullptr);
    if (w.error && !first_error) first_error = *w.error;
    list.push_back(std::move(j));
  }
  return {{"workspaces", std::move(list)}, {"error", first_error ? nlohmann::json(*first_error) : nlohmann::json(nullptr)}};
}

asio::awaitable<CycleReport> Daemon::run_cycle() {
  CycleReport report;
  for (const auto& w : parts_->config.workspaces) {
    upstream::WorkspaceRef ref{w.organization_id, w.workspace_id};
    CycleReport::Workspace entry{ref, std::nullopt, std::nullopt, std::nullopt};
    auto pulled = co_await parts_->puller.full_sync(ref);
    if (pulled) {
      const auto& r = *pulled;
      spdlog::info("synced {}/{}: {} projects, +{} ~{} -{} restored {}, {} requests{}", ref.organization_id,
                   ref.workspace_id, r.projects, r.inserted, r.updated, r.deleted, r.restored, r.requests,
                   r.suspect ? "; " + *r.suspect : "");
      entry.pull = r;
      parts_->replayer.mirror_changed(ref);
      if (!r.paused) entry.replay = co_await parts_->replayer.replay(ref);
    } else {
      spdlog::error("sync of {}/{} failed: {}", ref.organization_id, ref.workspace_id, pulled.error().message);
      entry.error = pulled.error().message;
    }
    report.workspaces.push_back(std::move(entry));
    if (parts_->stopped) break;
  }
  co_return report;
}

asio::awaitable<void> Daemon::run_forever() {
  while (!parts_->stopped) {
    auto wait = co_await parts_->scheduler.pass();
    if (parts_->stopped) break;
    parts_->timer.expires_after(wait);
    co_await parts_->timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

void Daemon::on_replay_step(sync::Replayer::StepHook hook) { parts_->replayer.on_step(std::move(hook)); }

void Daemon::stop() {
  parts_->stopped = true;
  parts_->timer.cancel();
}

}  // namespace focus::daemon
