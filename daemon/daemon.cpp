#include "daemon/daemon.hpp"

#include "daemon/link.hpp"
#include "daemon/parts.hpp"

#include "core/spawn.hpp"

#include <boost/asio/as_tuple.hpp>
#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

namespace focus::daemon {

namespace asio = boost::asio;

constexpr std::chrono::seconds kFileCheckInterval{30};

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
                {"stopped_at_reserve", w.pull->paused},
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

asio::awaitable<CycleReport> Daemon::run_cycle(std::function<void(const nlohmann::json&)> progress, bool spend_reserve) {
  auto& p = *parts_;
  auto tell = [&](nlohmann::json event) {
    if (progress) progress(event);
  };
  CycleReport report;
  for (const auto& w : p.config.workspaces) {
    WorkspaceKey ref{w.organization_id, w.workspace_id};
    const std::string name = std::to_string(ref.organization_id) + "/" + std::to_string(ref.workspace_id);
    CycleReport::Workspace entry{ref, std::nullopt, std::nullopt, std::nullopt};
    tell({{"workspace", name}, {"phase", "listing"}, {"pages", 0}});
    sync::Progress pages = [&](std::int64_t done, std::int64_t expected) {
      tell({{"workspace", name}, {"phase", "listing"}, {"pages", done}, {"expected_pages", expected}});
    };
    // Unless asked, a listing leaves the reserve kept for replaying edits,
    // as the scheduler's own listings do; it pauses there (and says so).
    std::function<bool()> may_spend;
    if (!spend_reserve)
      may_spend = [&p, org = ref.organization_id] { return !p.stopped && p.scheduler.may_spend_on_listing(org); };
    auto pulled = co_await p.puller.full_sync(ref, std::move(pages), std::move(may_spend));
    if (pulled) {
      const auto& r = *pulled;
      spdlog::info("synced {}: {} projects, +{} ~{} -{} restored {}, {} requests{}", name, r.projects, r.inserted,
                   r.updated, r.deleted, r.restored, r.requests, r.suspect ? "; " + *r.suspect : "");
      entry.pull = r;
      p.replayer.mirror_changed(ref);
      if (r.paused) {
        spdlog::info("sync of {} stopped at the quota reserve kept for replaying edits; the scheduler continues it "
                     "(POST /v1/sync?spend_reserve=1 or focusctl sync --spend-reserve spends the reserve too)", name);
      } else {
        p.scheduler.note_listing();
        tell({{"workspace", name}, {"phase", "replay"}});
        entry.replay = co_await p.replayer.replay(ref);
      }
    } else {
      spdlog::error("sync of {} failed: {}", name, pulled.error().message);
      entry.error = pulled.error().message;
    }
    p.scheduler.note_result(pulled ? std::nullopt : std::optional<Error>(pulled.error()));
    report.workspaces.push_back(std::move(entry));
    if (p.stopped) break;
  }
  co_return report;
}

// Syncs asked for through the socket: one cycle serves every request made
// before it started.
asio::awaitable<void> Daemon::run_requested_syncs() {
  auto& p = *parts_;
  auto batch = std::move(p.sync_requests);
  p.sync_requests.clear();
  // One cycle serves the batch: it spends the reserve if any request asked to.
  const bool spend_reserve =
      std::any_of(batch.begin(), batch.end(), [](const auto& r) { return r->spend_reserve; });
  std::function<void(const nlohmann::json&)> progress = [&batch](const nlohmann::json& event) {
    for (auto& r : batch)
      if (r->progress) r->progress(event);
  };
  auto report = co_await run_cycle(std::move(progress), spend_reserve);
  auto summary = report.to_json();
  std::int64_t inserted = 0, updated = 0, deleted = 0, requests = 0;
  bool at_reserve = false;
  for (const auto& w : report.workspaces) {
    if (w.pull) {
      at_reserve = at_reserve || w.pull->paused;
      inserted += w.pull->inserted;
      updated += w.pull->updated;
      deleted += w.pull->deleted;
      requests += w.pull->requests;
    }
    if (w.replay) requests += w.replay->requests;
  }
  summary.update({{"inserted", inserted}, {"updated", updated}, {"deleted", deleted}, {"requests", requests},
                  {"stopped_at_reserve", at_reserve}});
  if (at_reserve)
    summary["note"] = "stopped at the quota reserve kept for replaying edits; the scheduler continues the listing as "
                      "the quota allows (spend_reserve=1 spends the reserve too)";
  for (auto& r : batch) {
    r->result = summary;
    r->done.notify_all();
  }
}

// The engine's loop. Each pass is guarded twice: the scheduler guards each
// step, and this loop guards the pass as a whole (what the scheduler's own
// bookkeeping throws), so the loop ends only when stop() is called.
asio::awaitable<void> Daemon::run_forever() {
  auto& p = *parts_;
  serve_socket();
  if (p.on_ready) p.on_ready();
  int passes = 0;
  while (!p.stopped) {
    p.engine.beat();
    auto wait = std::chrono::milliseconds(1000);
    std::exception_ptr thrown;
    try {
      p.db.end_reads();  // a pass reads no snapshot the socket kept
      if (!p.sync_requests.empty()) {
        co_await run_requested_syncs();
        wait = std::chrono::milliseconds(0);
      } else {
        wait = co_await p.scheduler.pass();
      }
    } catch (...) {
      thrown = std::current_exception();
    }
    if (thrown) {
      ++p.pass_failures;
      spdlog::error("the sync engine's pass failed: {}; it goes on in {} s", exception_text(thrown), wait.count() / 1000);
    }
    p.engine.beat();
    check_cache_file();
    try {
      p.db.end_reads();
    } catch (const std::exception& e) {
      spdlog::warn("releasing the cache's read statements failed: {}", e.what());
    }
    p.changes.notify_all();
    tell_the_desktop();
    if (p.on_pass) p.on_pass();
    if (p.stopped) break;
    if (p.wedge_after_passes > 0 && ++passes >= p.wedge_after_passes) {
      // For the watchdog test: hang as a coroutine awaiting something that
      // never comes would, without telling the engine watch it waits.
      p.wedge.expires_at(asio::steady_timer::time_point::max());
      co_await p.wedge.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    if (p.wake_pending || wait.count() == 0) {
      p.wake_pending = false;
      continue;
    }
    // Woken at least this often to check that the cache file is still ours.
    p.timer.expires_after(std::min<std::chrono::milliseconds>(wait, kFileCheckInterval));
    p.engine.waiting(true);
    co_await p.timer.async_wait(asio::as_tuple(asio::use_awaitable));
    p.engine.waiting(false);
    p.wake_pending = false;
  }
  if (p.server) p.server->stop();
}

// A cache file removed under the running daemon: every write would reach
// an unlinked file that is gone at the next start, so its contents are
// written back to the path, and focussyncd stops (non-zero: systemd starts
// it again on the restored file). A replaced file is only reported: its
// owner decides (StorageHealth says how).
void Daemon::check_cache_file() {
  auto& p = *parts_;
  if (p.db.check_file() != store::StorageProblem::removed) return;
  try {
    p.db.write_back();
    spdlog::error("the cache file {} was removed while focussyncd ran; its contents were written back to it", p.db.path());
  } catch (const std::exception& e) {
    spdlog::error("the cache file {} was removed while focussyncd ran, and writing it back failed: {}", p.db.path(),
                  e.what());
    return;  // reads go on; writes stay refused; tried again next pass
  }
  throw std::runtime_error("the cache file " + p.db.path() + " was removed while focussyncd ran; it was written back, "
                           "and focussyncd must restart to use it");
}

void Daemon::serve_socket() {
  auto& p = *parts_;
  http::UnixServerOptions options;
  options.path = p.config.socket.path;
  options.mode = static_cast<mode_t>(p.config.socket.mode);
  options.max_connections = static_cast<std::size_t>(p.config.socket.max_connections);
  options.idle_timeout = p.config.socket.idle_timeout;
  p.link = std::make_unique<Link>(p);
  p.local = std::make_unique<local_api::LocalApi>(p.db, p.mirror, p.queue, p.config, *p.link, p.changes);
  if (p.config.socket.group) options.group = p.local->group();
  auto* local = p.local.get();
  p.server = std::make_unique<http::UnixServer>(
      p.io, options,
      [local](http::Request request, http::PeerCredentials peer) { return local->handle(std::move(request), peer); });
  p.server->start();
  spdlog::info("serving {} (mode {:o})", options.path, options.mode);
  if (auto warning = config::socket_mode_warning(p.config.socket)) spdlog::warn("{}", *warning);
  start_notices();
}

// Made once in service mode; whether it tells anything is read from the
// configuration at each pass, so a reload turns it on or off without
// waiting on a notification server in the middle of a call.
void Daemon::start_notices() {
  auto& p = *parts_;
  p.notices = std::make_unique<Notices>(p.io, p.db, p.mirror, p.config, [link = p.link.get()] {
    return link->upstream_state();
  });
}

// What the person should know (notices.hpp); a failure here is logged and
// the engine goes on.
void Daemon::tell_the_desktop() {
  auto& p = *parts_;
  if (!p.notices) return;
  try {
    p.notices->after_pass();
  } catch (const std::exception& e) {
    spdlog::warn("deciding what to tell the desktop failed: {}", e.what());
  }
}

void Daemon::on_step(const std::function<void(std::string_view)>& hook) { parts_->step_hook = hook; }

void Daemon::wedge_after_passes(int passes) { parts_->wedge_after_passes = passes; }

bool Daemon::engine_alive() {
  auto& p = *parts_;
  p.engine.requests_sent(p.api.counters().sent);
  return !p.engine.stalled();
}

void Daemon::on_ready(std::function<void()> hook) { parts_->on_ready = std::move(hook); }
void Daemon::on_pass(std::function<void()> hook) { parts_->on_pass = std::move(hook); }

namespace {

// What a reload does not apply, beyond the paths and workspaces above: the
// HTTP client, the socket's listener and the SQL service are built once,
// at start. Said rather than dropped without a word.
std::vector<std::string> unreloaded_changes(const config::Config& running, const config::Config& fresh) {
  std::vector<std::string> notes;
  // The credentials reload; the base URL has its own note.
  auto transport = [](config::Upstream u) {
    u.base_url.clear();
    u.api_key.reset();
    u.email.reset();
    u.password.reset();
    u.allow_insecure_key_file = false;
    return u;
  };
  if (transport(fresh.upstream) != transport(running.upstream))
    notes.push_back("[upstream] timeout, ca_file, insecure_skip_verify or allow_insecure_http changed: restart "
                    "focussyncd to use them");
  auto listener = [](config::Socket s) {
    s.path.clear();     // its own note
    s.stale_after = {};  // reloads
    return s;
  };
  if (listener(fresh.socket) != listener(running.socket))
    notes.push_back("[socket] mode, group, max_connections or idle_timeout changed: restart focussyncd to use them");
  if (fresh.sql != running.sql) notes.push_back("[sql] changed: restart focussyncd to use it");
  return notes;
}

}  // namespace

std::vector<std::string> Daemon::reload(const config::Config& fresh) {
  auto& p = *parts_;
  auto credentials = upstream::load_credentials(fresh.upstream);  // throws before anything changes
  std::vector<std::string> notes;
  auto same_workspaces = fresh.workspaces.size() == p.config.workspaces.size() &&
                         std::equal(fresh.workspaces.begin(), fresh.workspaces.end(), p.config.workspaces.begin(),
                                    [](const auto& a, const auto& b) {
                                      return a.organization_id == b.organization_id && a.workspace_id == b.workspace_id;
                                    });
  if (!same_workspaces) notes.push_back("[[workspaces]] changed: restart focussyncd to mirror the new list");
  if (fresh.cache_path != p.config.cache_path) notes.push_back("[cache] path changed: restart focussyncd to use it");
  if (fresh.socket.path != p.config.socket.path) notes.push_back("[socket] path changed: restart focussyncd to use it");
  if (fresh.upstream.base_url != p.config.upstream.base_url)
    notes.push_back("[upstream] base_url changed: restart focussyncd to use it");
  for (auto& note : unreloaded_changes(p.config, fresh)) notes.push_back(std::move(note));
  // In place: the puller, replayer and scheduler hold references to these.
  p.config.sync = fresh.sync;
  p.config.socket.stale_after = fresh.socket.stale_after;
  p.config.log_level = fresh.log_level;
  p.config.notify = fresh.notify;  // read by Notices at each pass
  p.api.set_credentials(std::move(credentials));
  p.scheduler.credentials_changed();
  p.wake();
  return notes;
}

std::string Daemon::status_line() {
  auto& p = *parts_;
  std::int64_t projects = 0;
  std::optional<Timestamp> oldest;
  bool never = false;
  for (const auto& w : p.config.workspaces) {
    store::WorkspaceKey key{w.organization_id, w.workspace_id};
    projects += p.mirror.live_count(key);
    auto at = p.mirror.sync_state(key).last_success_at;
    if (!at) never = true;
    else if (!oldest || *at < *oldest) oldest = at;
  }
  auto c = p.queue.counts();
  std::string line = "synced " + std::to_string(projects) + " projects";
  if (never) line = "first sync not done yet (" + std::to_string(projects) + " projects cached)";
  else if (oldest) {
    auto minutes = std::chrono::duration_cast<std::chrono::minutes>(now_utc() - *oldest).count();
    line += minutes < 1 ? " just now" : " " + std::to_string(minutes) + " min ago";
  }
  line += ", " + std::to_string(c.pending + c.in_flight + c.unknown_outcome) + " edits pending";
  if (c.conflict) line += ", " + std::to_string(c.conflict) + " in conflict";
  if (c.failed) line += ", " + std::to_string(c.failed) + " failed";
  if (auto e = p.scheduler.last_error()) line += "; last error: " + e->message;
  return line;
}

void Daemon::stop() {
  auto& p = *parts_;
  p.stopped = true;
  p.replayer.stop();
  p.scheduler.stop();
  // A request in flight is abandoned: a read is simply not needed any more,
  // and a write becomes unknown_outcome (its in_flight mark is durable), to
  // be read back after the restart.
  p.api.cancel();
  p.timer.cancel();
  if (p.server) p.server->stop();
  p.changes.notify_all();  // long polls and event streams end
  for (auto& r : p.sync_requests) {
    r->result = nlohmann::json{{"error", "focussyncd is stopping"}};
    r->done.notify_all();
  }
}

}  // namespace focus::daemon
