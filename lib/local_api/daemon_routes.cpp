// focussyncd's own routes: /v1/status, /v1/sync, /v1/changes, /v1/edits and
// /v1/sql (sql_routes.cpp) and /metrics: their entries in the socket's route table and their handlers.
#include "local_api/local_api.hpp"

#include "http/target.hpp"
#include "local_api/responses.hpp"
#include "model/json_limits.hpp"
#include "upstream/list_query.hpp"
#include "core/spawn.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/this_coro.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <deque>

namespace focus::local_api {

namespace asio = boost::asio;
using nlohmann::json;
using store::EditState;
using detail::json_answer;
using detail::json_error;

namespace {

// An integer query parameter within [low, high], or `fallback` when absent.
std::int64_t int_param(const http::Target& t, const std::string& key, std::int64_t fallback, std::int64_t low,
                       std::int64_t high) {
  auto* p = t.last(key);
  if (!p || p->value.empty()) return fallback;
  std::int64_t v = 0;
  auto [end, ec] = std::from_chars(p->value.data(), p->value.data() + p->value.size(), v);
  if (ec != std::errc{} || end != p->value.data() + p->value.size() || v < low || v > high)
    throw upstream::QueryError("query parameter '" + key + "' must be an integer from " + std::to_string(low) + " to " +
                               std::to_string(high) + ", got '" + p->value + "'");
  return v;
}

bool wants_events(const http::Request& req) {
  auto accept = req.header("Accept");
  return accept && accept->find("text/event-stream") != std::string_view::npos;
}

json text_or_null(const std::optional<std::string>& t) { return t ? json(*t) : json(nullptr); }
json time_or_null(const std::optional<Timestamp>& t) { return t ? json(format_rfc3339(*t)) : json(nullptr); }

http::Response event_stream_head() {
  http::Response head;
  head.content_type = "text/event-stream";
  head.set_header("Cache-Control", "no-cache");
  return head;
}

std::string sse(const std::string& event, const json& data, std::optional<std::int64_t> id = std::nullopt) {
  std::string out;
  if (id) out += "id: " + std::to_string(*id) + "\n";
  return out + "event: " + event + "\ndata: " + data.dump(-1, ' ', false, json::error_handler_t::replace) + "\n\n";
}

constexpr auto kKeepAlive = std::chrono::seconds(15);

// What a streamed sync shares between the sync and the stream writing it.
struct SyncEvents {
  std::deque<json> events;
  std::optional<json> summary;
  Signal ready;
};

// Free coroutines with parameters by value: a coroutine lambda would keep
// referring to its closure, which is gone once the spawning code returns.
// (GCC 12 also mishandles a lambda built in the same expression as a
// co_await, hence the named std::function locals.)
asio::awaitable<void> run_sync(DaemonLink& daemon, std::shared_ptr<SyncEvents> shared, bool spend_reserve) {
  std::function<void(const json&)> progress = [shared](const json& e) {
    shared->events.push_back(e);
    shared->ready.notify_all();
  };
  json summary;
  try {
    summary = co_await daemon.sync_now(std::move(progress), spend_reserve);
  } catch (const std::exception& e) {
    summary = {{"error", std::string("the sync failed: ") + e.what()}};
  }
  shared->summary = std::move(summary);
  shared->ready.notify_all();
}

asio::awaitable<void> run_sync_unawaited(DaemonLink& daemon, bool spend_reserve) {
  std::function<void(const json&)> none;
  co_await daemon.sync_now(std::move(none), spend_reserve);
}

// The fields of a resolve body, each a way of its own.
constexpr std::array<const char*, 4> kResolveWays = {"take", "body", "created_as", "send_again"};

// A yes/no parameter: absent, 0 or false is no; 1, true or the name alone
// (`?wait`) yes; any other value is a 400, not a silent no.
bool flag_param(const http::Target& t, const std::string& key) {
  auto* p = t.last(key);
  if (!p || p->value == "0" || p->value == "false") return false;
  if (p->value.empty() || p->value == "1" || p->value == "true") return true;
  throw upstream::QueryError("query parameter '" + key + "' must be 1, true, 0 or false");
}

}  // namespace

// The daemon's own paths in the socket's route table.
std::vector<http::Route<LocalApi::Handler>> LocalApi::daemon_routes() {
  using C = const Call&;
  using A = http::Answer;
  // One helper under two names, so that each entry says how it answers:
  // the handler's type picks the kind.
  auto route = [](const char* method, const char* pattern, const char* label,
                  std::variant<Handler::Now, Handler::Later> fn) {
    return http::Route<Handler>{{method, pattern, label}, {fn, std::nullopt}};
  };
  const auto now = route, later = route;
  // A later route that only waits (news, a query's rows): dropped when its client leaves.
  auto waiting = [&](const char* method, const char* pattern, const char* label, Handler::Later fn) {
    auto r = route(method, pattern, label, fn);
    r.handler.abandoned_with_client = true;
    return r;
  };
  return {
      now("GET", "/v1/status", "/v1/status", [](LocalApi& a, C) -> A { return a.status(); }),
      later("POST", "/v1/sync", "/v1/sync", [](LocalApi& a, C c) { return a.sync(c.request, c.target); }),
      waiting("GET", "/v1/changes", "/v1/changes", [](LocalApi& a, C c) { return a.changes(c.request, c.target); }),
      waiting("GET", "/v1/sql", "/v1/sql", [](LocalApi& a, C c) { return a.sql_query(c.request, c.target); }),
      waiting("POST", "/v1/sql", "/v1/sql", [](LocalApi& a, C c) { return a.sql_query(c.request, c.target); }),
      now("GET", "/v1/sql/schema", "/v1/sql/schema", [](LocalApi& a, C) -> A { return a.sql_schema(); }),
      now("GET", "/v1/edits", "/v1/edits", [](LocalApi& a, C c) -> A { return a.edits_list(c.target); }),
      now("GET", "/v1/edits/{edit_id}", "/v1/edits/{id}",
          [](LocalApi& a, C c) -> A { return a.edit_get(c.ids.at("edit_id")); }),
      now("DELETE", "/v1/edits/{edit_id}", "/v1/edits/{id}",
          [](LocalApi& a, C c) -> A { return a.edit_discard(c.ids.at("edit_id")); }),
      now("POST", "/v1/edits/{edit_id}/retry", "/v1/edits/{id}/retry",
          [](LocalApi& a, C c) -> A { return a.edit_retry(c.ids.at("edit_id")); }),
      now("POST", "/v1/edits/{edit_id}/resolve", "/v1/edits/{id}/resolve",
          [](LocalApi& a, C c) -> A { return a.edit_resolve(c.ids.at("edit_id"), c.request); }),
      now("GET", "/metrics", "/metrics", [](LocalApi& a, C) -> A { return a.metrics(); }),
  };
}

// ---------------------------------------------------------------------------
// /v1/status

http::Response LocalApi::status() {
  json workspaces = json::array();
  for (const auto& w : config_.workspaces) {
    store::WorkspaceKey ws{w.organization_id, w.workspace_id};
    auto st = mirror_.sync_state(ws);
    const auto& synced = st.last_success_at;
    // The engine's own word first: the cache may be what failed to record it.
    auto error = daemon_.workspace_error(ws.organization_id, ws.workspace_id);
    workspaces.push_back({{"organization_id", ws.organization_id},
                          {"workspace_id", ws.workspace_id},
                          {"projects", mirror_.live_count(ws)},
                          {"last_attempt_at", time_or_null(st.last_attempt_at)},
                          {"last_success_at", time_or_null(st.last_success_at)},
                          {"last_full_listing_at", time_or_null(st.last_full_listing_at)},
                          {"last_error", text_or_null(error ? error : st.last_error)},
                          {"suspect", text_or_null(st.suspect)},
                          {"stale", config::is_stale(config_.socket, synced, now_utc())},
                          {"pending_edits", reads_.pending_edits(ws)},
                          {"tree_problems", reads_.tree_problems(ws)},
                          {"requests_spent", st.requests_spent}});
  }
  const auto& storage = store::StorageHealth::instance().status();
  json storage_json = {{"state", store::storage_problem_name(storage.problem)},
                       {"message", storage.message.empty() ? json(nullptr) : json(storage.message)},
                       {"since", storage.since ? json(format_rfc3339(*storage.since)) : json(nullptr)}};
  auto c = queue_.counts();
  return json_answer(200, {{"version", FOCUSSYNC_VERSION},
                           {"storage", std::move(storage_json)},
                           {"upstream", daemon_.upstream_state()},
                           {"waiting_since", time_or_null(daemon_.waiting_since())},
                           {"engine", daemon_.engine()},
                           {"workspaces", workspaces},
                           {"edits", c.by_text()},
                           {"quota", daemon_.quota()},
                           {"changes", {{"last_seq", mirror_.last_change_seq()}}}});
}

// ---------------------------------------------------------------------------
// /v1/sync

asio::awaitable<http::Answer> LocalApi::sync(const http::Request& req, const http::Target& t) {
  const bool waits = flag_param(t, "wait");
  // The reserve of the quota kept for replaying edits is left alone unless asked.
  const bool spend_reserve = flag_param(t, "spend_reserve");
  if (wants_events(req)) {
    http::Streamed streamed{event_stream_head(), {}};
    streamed.body = [this, spend_reserve](http::StreamSink& sink) -> asio::awaitable<void> {
      auto shared = std::make_shared<SyncEvents>();
      spawn_logged(co_await asio::this_coro::executor, run_sync(daemon_, shared, spend_reserve), "a sync asked for on the socket");
      for (;;) {
        while (!shared->events.empty()) {
          auto piece = sse("progress", shared->events.front());
          shared->events.pop_front();
          if (!co_await sink.write(std::move(piece))) co_return;
        }
        if (shared->summary) {
          auto piece = sse("done", *shared->summary);
          co_await sink.write(std::move(piece));
          co_return;
        }
        if (daemon_.stopping() && !shared->summary) co_return;
        if (!co_await shared->ready.wait_for(kKeepAlive) && !co_await sink.write(": still syncing\n\n")) co_return;
      }
    };
    co_return streamed;
  }
  if (waits) {
    std::function<void(const json&)> none;
    auto summary = co_await daemon_.sync_now(std::move(none), spend_reserve);
    co_return json_answer(200, summary);
  }
  spawn_logged(co_await asio::this_coro::executor, run_sync_unawaited(daemon_, spend_reserve),
               "a sync asked for on the socket");
  co_return json_answer(202, {{"started", true}});
}

// ---------------------------------------------------------------------------
// /v1/changes

json LocalApi::changes_json(std::int64_t since, std::int64_t limit, std::int64_t& next) {
  json list = json::array();
  next = since;
  for (const auto& c : mirror_.changes_since(since, limit)) {
    json j = {{"seq", c.seq},
              {"organization_id", c.workspace.organization_id},
              {"workspace_id", c.workspace.workspace_id},
              {"project_id", c.project_id},
              {"kind", to_text(c.kind)},
              {"fields", c.fields},
              {"at", format_rfc3339(c.at)}};
    if (c.detail) j["edit"] = json::parse(*c.detail);
    if (c.initial) j["initial"] = true;  // first seen as the workspace was first mirrored, not created
    list.push_back(std::move(j));
    next = c.seq;
  }
  return list;
}

asio::awaitable<http::Answer> LocalApi::changes(const http::Request& req, const http::Target& t) {
  std::int64_t since = int_param(t, "since", 0, 0, std::numeric_limits<std::int64_t>::max());
  if (auto last = req.header("Last-Event-ID")) {  // an event stream reconnecting
    std::int64_t v = 0;
    auto [end, ec] = std::from_chars(last->data(), last->data() + last->size(), v);
    // Not a seq we sent: starting over from the first change would replay
    // the whole log to a client that had most of it.
    if (ec != std::errc{} || end != last->data() + last->size() || v < 0)
      co_return json_error(400, "Last-Event-ID must be the seq of a change (an integer from 0), got '" +
                                    std::string(last->substr(0, 40)) + "'");
    since = v;
  }
  // A seq past the log's end was kept from another cache (one rebuilt, or
  // another machine's): waiting for the log to reach it would hide every
  // change until then, so the answer starts from the end instead.
  since = std::min(since, mirror_.last_change_seq());
  const std::int64_t limit = int_param(t, "limit", 100, 1, 1000);
  if (wants_events(req)) {
    http::Streamed streamed{event_stream_head(), {}};
    streamed.body = [this, since](http::StreamSink& sink) mutable -> asio::awaitable<void> {
      for (;;) {
        std::int64_t next = since;
        json batch = changes_json(since, 500, next);
        for (auto& c : batch) {
          auto seq = c["seq"].get<std::int64_t>();
          if (!co_await sink.write(sse("change", c, seq))) co_return;
        }
        since = next;
        if (!batch.empty()) continue;
        // Nothing new: wait for the daemon's word, with a comment now and
        // then so a client that went away is noticed.
        if (daemon_.stopping()) co_return;
        if (!co_await changes_.wait_for(kKeepAlive) && !co_await sink.write(": keep-alive\n\n")) co_return;
      }
    };
    co_return streamed;
  }
  const std::int64_t wait = int_param(t, "wait", 0, 0, 300);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(wait);
  for (;;) {
    std::int64_t next = since;
    json list = changes_json(since, limit, next);
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (!list.empty() || left.count() <= 0 || daemon_.stopping())
      co_return json_answer(200, {{"changes", std::move(list)}, {"next", next}});
    co_await changes_.wait_for(left);
  }
}

// ---------------------------------------------------------------------------
// /v1/edits

http::Answer LocalApi::edits_list(const http::Target& t) {
  std::vector<EditState> states;
  for (const auto* p : t.all("state")) {
    std::string_view rest = p->value;
    while (!rest.empty()) {
      auto comma = rest.find(',');
      std::string name(rest.substr(0, comma));
      auto state = from_text<EditState>(name);
      if (!state)
        return json_error(400, "query parameter 'state': unknown state '" + name + "' (" +
                                   joined_texts<EditState>() + ")");
      states.push_back(*state);
      rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    }
  }
  // Paged by id (`after`), and bounded in size too: an edit's body may be
  // up to a megabyte, so a page stops early once it holds kPageBytes.
  constexpr std::size_t kPageBytes = 4 * 1024 * 1024;
  const auto limit = int_param(t, "limit", 1000, 1, 1000);
  const auto after = int_param(t, "after", 0, 0, std::numeric_limits<std::int64_t>::max());
  constexpr std::int64_t kChunk = 4;  // edits read from the cache at a time
  json list = json::array();
  std::size_t bytes = 0;
  std::int64_t last = after, taken = 0;
  bool more = false;
  while (!more) {
    const auto want = std::min(kChunk, limit - taken);
    auto chunk = queue_.list(states, want, last);
    for (const auto& e : chunk) {
      if (bytes >= kPageBytes) break;  // the rest of the chunk comes on the next page
      auto j = e.to_json();
      bytes += j.dump(-1, ' ', false, json::error_handler_t::replace).size();
      list.push_back(std::move(j));
      last = e.id;
      ++taken;
    }
    if (static_cast<std::int64_t>(chunk.size()) < want) break;  // the queue has no more
    more = bytes >= kPageBytes || taken == limit;  // perhaps more: the client asks again from next_after
  }
  return json_answer(200, {{"edits", std::move(list)}, {"next_after", more ? json(last) : json(nullptr)}});
}

http::Answer LocalApi::edit_get(std::int64_t id) {
  auto e = queue_.get(id);
  if (!e) return json_error(404, "edit " + std::to_string(id) + " does not exist");
  // One edit comes with what a conflict is judged on: the project as the
  // edit saw it, and as the server last showed it.
  json j = e->to_json();
  j["base"] = e->base ? *e->base : json(nullptr);
  auto row = mirror_.row(e->workspace, e->project_id);
  j["server"] = row ? json::parse(row->body) : json(nullptr);
  return json_answer(200, j);
}

http::Answer LocalApi::edit_discard(std::int64_t id) {
  queue_.discard(id, now_utc());
  changes_.notify_all();
  http::Response r;
  r.status = 204;
  return r;
}

http::Answer LocalApi::edit_retry(std::int64_t id) {
  auto e = queue_.retry(id, now_utc(), config_.sync.conflicts == config::ConflictPolicy::manual);
  daemon_.edits_changed();
  return json_answer(200, e.to_json());
}

http::Answer LocalApi::edit_resolve(std::int64_t id, const http::Request& req) {
  json body = model::parse_body(req.body.empty() ? std::string("{}") : req.body);
  if (!body.is_object()) return json_error(400, "the body must be a JSON object");
  // One way at a time: a choice left out silently would do what the user did not ask.
  const auto given = [&](const char* k) { return body.contains(k) && !body[k].is_null(); };
  if (std::count_if(kResolveWays.begin(), kResolveWays.end(), given) > 1)
    return json_error(400, "give one way to resolve an edit, not several: take, body, created_as or send_again");
  store::Resolution how;
  // A way given as null is no way (socket.md): as left out.
  if (given("created_as")) {
    const auto& v = body["created_as"];
    if (!v.is_number_integer() || (v.is_number_unsigned() && v.get<std::uint64_t>() > std::numeric_limits<std::int64_t>::max()) ||
        v.get<std::int64_t>() <= 0)
      return json_error(400, "created_as must be a project id (a positive integer)", "created_as");
    how.take = store::Resolution::Take::created_as;
    how.created_as = v.get<std::int64_t>();
  } else if (given("send_again")) {
    if (body["send_again"] != true) return json_error(400, "send_again must be true", "send_again");
    how.take = store::Resolution::Take::send_again;
  } else if (given("body")) {
    how.take = store::Resolution::Take::body;
    how.body = body["body"];
  } else if (const auto take = given("take") && body["take"].is_string() ? body["take"].get<std::string>() : "";
             take == "local") {
    how.take = store::Resolution::Take::local;
  } else if (take == "remote") {
    how.take = store::Resolution::Take::remote;
  } else {
    return json_answer(400, {{"error", "give {\"take\": \"local\"}, {\"take\": \"remote\"} or {\"body\": {...}} for a "
                                       "conflict, {\"created_as\": ID} or {\"send_again\": true} for an unknown outcome"},
                             {"field", "take"}});
  }
  auto e = queue_.settle_by_user(id, how, now_utc());
  daemon_.edits_changed();
  return json_answer(200, e.to_json());
}

// ---------------------------------------------------------------------------
// /metrics

http::Response LocalApi::metrics() {
  std::string out;
  metrics_.render(out);
  render_labelled(out, "focussync_upstream_requests_total", "counter", "Requests sent to the Focus API, by answer.",
                  "status", daemon_.upstream_requests());
  render_labelled(out, "focussync_sync_runs_total", "counter", "Sync runs (probes and listings), by result.", "result",
                  daemon_.sync_runs());
  std::map<std::string, std::int64_t> failures;
  for (const auto& [step, n] : daemon_.engine()["step_failures"].items()) failures[step] = n.get<std::int64_t>();
  render_labelled(out, "focussync_step_failures_total", "counter",
                  "Sync engine steps that failed on an error (not an upstream answer), by step.", "step", failures);
  render_gauge(out, "focussync_storage_ok", "1 while the cache's storage takes writes; 0 when it is full, read-only, "
               "failing, or the file was removed or replaced.", store::StorageHealth::instance().ok() ? 1.0 : 0.0);
  render_gauge(out, "focussync_engine_stalled", "1 when the sync engine made no progress for longer than it may.",
               daemon_.engine()["state"] == "stalled" ? 1.0 : 0.0);
  auto quota = daemon_.quota();
  if (quota["remaining"].is_number())
    render_gauge(out, "focussync_quota_remaining", "Requests left in the quota window, as last seen.",
                 quota["remaining"].get<double>());
  auto c = queue_.counts();
  render_labelled(out, "focussync_edits", "gauge", "Edits in the queue, by state.", "state", c.by_text());
  render_gauge(out, "focussync_changes_logged", "The change log's last sequence number.",
               static_cast<double>(mirror_.last_change_seq()));
  std::map<std::string, std::int64_t> projects;
  for (const auto& w : config_.workspaces)
    projects[std::to_string(w.organization_id) + "/" + std::to_string(w.workspace_id)] =
        mirror_.live_count({w.organization_id, w.workspace_id});
  render_labelled(out, "focussync_projects", "gauge", "Live projects in the mirror, by workspace.", "workspace", projects);
  http::Response r;
  r.content_type = "text/plain; version=0.0.4";
  r.body = std::move(out);
  return r;
}

}  // namespace focus::local_api
