#include "local_api/local_api.hpp"

#include "http/target.hpp"
#include "local_api/responses.hpp"
#include "local_api/sql_service.hpp"
#include "model/decode_error.hpp"
#include "upstream/focus_paths.hpp"
#include "upstream/list_query.hpp"

#include <SQLiteCpp/Exception.h>
#include <boost/asio/error.hpp>
#include <boost/system/system_error.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

namespace focus::local_api {

namespace asio = boost::asio;
using nlohmann::json;
using detail::json_answer;
using detail::json_error;

namespace {

int status_of(const http::Answer& answer) {
  if (const auto* r = std::get_if<http::Response>(&answer)) return r->status;
  return std::get<http::Streamed>(answer).head.status;  // never a Deferred: finish() answers one with a 500
}

std::optional<std::string> user_name(uid_t uid) {
  if (auto* pw = ::getpwuid(uid)) return std::string(pw->pw_name);
  return std::nullopt;
}

// A write the storage cannot take: 507 (full) or 503, with what is wrong
// and what to do, and the problem's name for programs.
http::Response storage_refusal(const store::StorageFailure& e) {
  auto r = json_answer(e.http_status(), {{"error", e.what()}, {"storage", store::storage_problem_name(e.problem())}});
  r.set_header("Retry-After", "30");
  return r;
}

// The error boundary of a streamed answer's body, which runs after
// handle() returned its head: what it throws is logged and counted, and the
// stream ends (the connection's slot is released by the server either way).
// A free coroutine with its parameters by value: it outlives the lambda
// that starts it.
// Whether a handler ended because the server cancelled it: the client of
// a route that only waits hung up (http::Deferred, http::Streamed).
bool cancelled_by_server(const std::exception& e) {
  const auto* system = dynamic_cast<const boost::system::system_error*>(&e);
  return system && system->code() == asio::error::operation_aborted;
}

asio::awaitable<void> guarded_stream(std::function<asio::awaitable<void>(http::StreamSink&)> body,
                                     http::StreamSink& sink, std::string route, Metrics& metrics) {
  try {
    co_await body(sink);
  } catch (const std::exception& e) {
    if (cancelled_by_server(e)) co_return;
    spdlog::error("socket: the stream of {} ended on an error: {}", route, e.what());
    metrics.stream_failed(route);
  }
}

}  // namespace

LocalApi::LocalApi(store::Database& db, store::Mirror& mirror, store::EditQueue& queue, const config::Config& config,
                   DaemonLink& daemon, Signal& changes)
    : db_(db),
      mirror_(mirror),
      queue_(queue),
      reads_(db),
      config_(config),
      daemon_(daemon),
      changes_(changes),
      own_uid_(::geteuid()) {
  routes();  // built now, so that a route without a handler fails at start-up
  if (config.socket.group) {
    auto* gr = ::getgrnam(config.socket.group->c_str());
    if (!gr) throw std::runtime_error("[socket] group: there is no group '" + *config.socket.group + "'");
    group_ = gr->gr_gid;
    for (char** m = gr->gr_mem; m && *m; ++m) group_members_.emplace_back(*m);
  }
}

LocalApi::~LocalApi() = default;

bool LocalApi::admits(const http::PeerCredentials& peer) const {
  if (peer.uid == own_uid_ || peer.uid == 0) return true;
  if (!group_) return false;
  if (peer.gid == *group_) return true;
  auto name = user_name(peer.uid);
  return name && std::find(group_members_.begin(), group_members_.end(), *name) != group_members_.end();
}

bool LocalApi::configured(store::WorkspaceKey ws) const {
  for (const auto& w : config_.workspaces)
    if (w.organization_id == ws.organization_id && w.workspace_id == ws.workspace_id) return true;
  return false;
}

// The one error boundary of the socket: every failure becomes a status and
// a JSON error, and every answer is counted. A route that answers at once is
// answered here, without a coroutine; one that answers later is run by
// answer_later, inside the same boundary.
http::Answer LocalApi::handle(http::Request request, http::PeerCredentials peer) {
  const auto started = std::chrono::steady_clock::now();
  db_.begin_reads();
  if (!admits(peer)) {
    spdlog::warn("socket: refused a request from uid {} (pid {}): not this daemon's user, root or the socket group",
                 peer.uid, peer.pid);
    return finish(json_error(403, "this focussyncd serves only its own user"), "refused", started);
  }
  const auto target = http::parse_target(request.target);
  if (!target) return finish(json_error(400, "the request target is not a valid URI path"), "unknown", started);
  std::optional<http::PathMatch> match;
  std::optional<http::Answer> now;
  try {
    match = routes().match(request.method, *target);
    now = answer_now(request, *target, *match);
  } catch (...) {
    now = failure_answer(request);
  }
  if (now) return finish(std::move(*now), match ? match->label() : "unknown", started);
  return http::Deferred{[this, request = std::move(request), started]() mutable {
                          return answer_later(*this, std::move(request), started);
                        },
                        routes().handler(*match).abandoned_with_client};
}

// A route that answers later, with the request read again: such routes are
// few (a sync, a long poll, SQL), and the coroutine then owns all it reads.
asio::awaitable<http::Answer> LocalApi::answer_later(LocalApi& api, http::Request request,
                                                     std::chrono::steady_clock::time_point started) {
  std::optional<http::Target> target;
  std::optional<http::PathMatch> match;
  http::Answer answer;
  try {
    target = http::parse_target(request.target);
    match = routes().match(request.method, target.value());
    const Handler& handler = routes().handler(*match);
    answer = co_await std::get<Handler::Later>(handler.fn)(api, Call{request, *target, match->ids, handler.edit});
  } catch (...) {
    answer = failure_answer(request);
  }
  co_return api.finish(std::move(answer), match ? match->label() : "unknown", started);
}

// What every answer goes through last: the reads released, a stream's body
// put inside the boundary, the request counted.
http::Answer LocalApi::finish(http::Answer answer, std::string_view route,
                              std::chrono::steady_clock::time_point started) {
  if (std::holds_alternative<http::Deferred>(answer)) {
    // A route's answer is never one: it would run after the reads were
    // released and outside this boundary.
    spdlog::error("socket: {} answered with work for later, which only the boundary may hand out", route);
    answer = json_error(500, "an internal error");
  }
  try {
    db_.end_reads(store::Database::Snapshot::keep);  // the next request's reads start no transaction
  } catch (const std::exception& e) {
    spdlog::warn("socket: releasing the cache's read statements failed: {}", e.what());
  }
  if (auto* streamed = std::get_if<http::Streamed>(&answer)) {
    streamed->body = [inner = std::move(streamed->body), route = std::string(route), this](http::StreamSink& sink) {
      return guarded_stream(inner, sink, route, metrics_);
    };
  }
  auto took = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started);
  metrics_.observe(route, status_of(answer), took);
  return answer;
}

// Called inside a catch block: the exception is rethrown to be sorted.
http::Response LocalApi::failure_answer(const http::Request& request) {
  try {
    throw;
  } catch (const store::EditRejected& e) {
    return json_error(e.status(), e.what(), e.field());
  } catch (const upstream::QueryError& e) {
    return json_error(400, e.what());
  } catch (const model::DecodeError& e) {
    return json_error(400, e.what(), e.field());
  } catch (const store::SqlRefused& e) {
    return json_error(e.status(), e.what());
  } catch (const store::StorageFailure& e) {
    spdlog::warn("socket: {} {}: refused: {}", request.method, request.target, e.what());
    return storage_refusal(e);
  } catch (const SQLite::Exception& e) {
    if (auto problem = store::storage_problem_of(e.getExtendedErrorCode()); problem != store::StorageProblem::none) {
      auto& health = store::StorageHealth::instance();
      return storage_refusal(health.ok() ? store::StorageFailure(problem, e.what()) : health.failure());
    }
    spdlog::error("socket: {} {}: the cache failed: {}", request.method, request.target, e.what());
    return json_error(500, std::string("the cache failed: ") + e.what());
  } catch (const std::exception& e) {
    // Cancelled because the client left: counted as nginx counts it, 499,
    // and nobody reads the answer.
    if (cancelled_by_server(e)) return json_error(499, "the client closed the connection");
    spdlog::error("socket: {} {}: {}", request.method, request.target, e.what());
    return json_error(500, e.what());
  } catch (...) {
    spdlog::error("socket: {} {}: failed on an exception that names nothing", request.method, request.target);
    return json_error(500, "an internal error");
  }
}

const http::Routes<LocalApi::Handler>& LocalApi::routes() {
  static const http::Routes<Handler> kRoutes = [] {
    auto all = focus_routes();
    for (auto& r : daemon_routes()) all.push_back(std::move(r));
    auto segments = upstream::focus_segments();
    segments.push_back({"edit_id", "an edit id must be an integer", false});
    return http::Routes<Handler>(std::move(all), std::move(segments));
  }();
  return kRoutes;
}

// The table's answer, or the route's handler. A path naming a workspace this
// focussyncd does not mirror is a 404 whatever the method.
std::optional<http::Answer> LocalApi::answer_now(const http::Request& request, const http::Target& target,
                                                 const http::PathMatch& match) {
  auto org = match.ids.find("organization_id"), ws = match.ids.find("workspace_id");
  if (match.path_matched && org && ws && !configured({*org, *ws}))
    return json_error(404, "workspace " + std::to_string(*org) + "/" + std::to_string(*ws) +
                               " is not mirrored by this focussyncd (see [[workspaces]] in its configuration)");
  if (match.status != 0) {
    auto r = json_error(match.status, match.error);
    if (!match.allow.empty()) r.set_header("Allow", match.allow);
    return r;
  }
  const Handler& handler = routes().handler(match);
  if (const auto* now = std::get_if<Handler::Now>(&handler.fn))
    return (*now)(*this, {request, target, match.ids, handler.edit});
  return std::nullopt;
}

}  // namespace focus::local_api
