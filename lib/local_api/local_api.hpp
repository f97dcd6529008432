#pragma once
// What focussyncd serves on its Unix socket, for local tools:
//  - the Focus API's own project routes under /api/organizations/{o}/
//    workspaces/{w}/projects..., answered from the mirror and the pending
//    edits (reads) or queued as edits (writes), with the same parameters,
//    statuses and JSON shapes, plus freshness headers;
//  - /v1/status, /v1/sync, /v1/changes (long poll and server-sent events),
//    /v1/edits (list, retry, resolve, discard), /v1/sql (read-only SQL over
//    documented views, on a thread of its own: sql_service.hpp);
//  - /metrics, in Prometheus text.
// handle() is the one error boundary: whatever goes wrong becomes an HTTP
// status with a JSON {"error": ...} (and "field" when a field is to blame).
// Only the daemon's own user, root, and members of the configured group are
// served; others get 403 and a log line.
//
// Borrows everything it is given (the daemon owns it all); io_context thread
// only.

#include "config/config.hpp"
#include "core/signal.hpp"
#include "http/routes.hpp"
#include "http/unix_server.hpp"
#include "local_api/daemon_link.hpp"
#include "local_api/metrics.hpp"
#include "store/edit_queue.hpp"
#include "store/mirror.hpp"
#include "store/project_reads.hpp"

#include <boost/asio/awaitable.hpp>
#include <nlohmann/json_fwd.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace focus::local_api {

class SqlService;

class LocalApi {
 public:
  // `changes` is notified by the daemon whenever it logged changes.
  LocalApi(store::Database& db, store::Mirror& mirror, store::EditQueue& queue, const config::Config& config,
           DaemonLink& daemon, Signal& changes);
  ~LocalApi();

  // The answer to one request on the socket: at once, or an http::Deferred.
  http::Answer handle(http::Request request, http::PeerCredentials peer);

  // Whether this peer may use the socket.
  bool admits(const http::PeerCredentials& peer) const;
  // The configured [socket] group's id, if one is configured.
  std::optional<gid_t> group() const { return group_; }

 private:
  // What a route's handler is given: the request and the ids its path names.
  struct Call {
    const http::Request& request;
    const http::Target& target;
    const http::PathIds& ids;
    std::optional<model::EditOp> edit;  // the edit a Focus write queues
  };
  // A route answers at once (a read of the cache, an edit queued), or
  // later (a sync, a long poll, SQL on its own thread). Most requests are
  // the first kind, and are answered without a coroutine of their own: its
  // frame and its trips through the io_context were a tenth of a GET by id.
  struct Handler {
    using Now = http::Answer (*)(LocalApi&, const Call&);
    using Later = boost::asio::awaitable<http::Answer> (*)(LocalApi&, const Call&);
    std::variant<Now, Later> fn;
    std::optional<model::EditOp> edit;
    bool abandoned_with_client = false;  // only waits: see http::Deferred
  };
  // The socket's route table: the Focus paths and the daemon's own.
  static const http::Routes<Handler>& routes();
  // The table's own answer (a 4xx), or the route's answer if it answers at
  // once; nullopt when the route answers later.
  std::optional<http::Answer> answer_now(const http::Request& request, const http::Target& target,
                                         const http::PathMatch& match);
  static boost::asio::awaitable<http::Answer> answer_later(LocalApi& api, http::Request request,
                                                           std::chrono::steady_clock::time_point started);
  http::Answer finish(http::Answer answer, std::string_view route, std::chrono::steady_clock::time_point started);
  // The answer for the exception being handled: the boundary's one mapping.
  static http::Response failure_answer(const http::Request& request);

  // Focus-compatible routes (focus_routes.cpp)
  static std::vector<http::Route<Handler>> focus_routes();
  static store::WorkspaceKey workspace_of(const Call& call);
  model::Id project_of(const Call& call);  // the project id, a temporary one mapped
  http::Response list_projects(store::WorkspaceKey ws, const http::Target& target);
  http::Response project(store::WorkspaceKey ws, model::Id asked);
  http::Response project_tree(store::WorkspaceKey ws, model::Id id, const std::string& which, const http::Target& target);
  http::Response members(store::WorkspaceKey ws, model::Id id);
  http::Response submit(store::WorkspaceKey ws, model::EditOp op, model::Id id, const http::Request& request);
  void add_freshness(http::Response& response, store::WorkspaceKey ws);
  // What the freshness headers say of a workspace, read from the cache once
  // per commit rather than on every request (two queries, each a read
  // transaction and its file locks).
  struct Freshness {
    std::uint64_t commits = 0;  // Database::commits() when it was read
    std::optional<Timestamp> synced;
    std::string synced_text;  // the header's value
    std::string pending_text;
  };
  const Freshness& freshness(store::WorkspaceKey ws);

  // Daemon routes (daemon_routes.cpp)
  static std::vector<http::Route<Handler>> daemon_routes();
  http::Response status();
  boost::asio::awaitable<http::Answer> sync(const http::Request& request, const http::Target& target);
  boost::asio::awaitable<http::Answer> changes(const http::Request& request, const http::Target& target);
  http::Answer edits_list(const http::Target& target);
  http::Answer edit_get(std::int64_t id);
  http::Answer edit_discard(std::int64_t id);
  http::Answer edit_retry(std::int64_t id);
  http::Answer edit_resolve(std::int64_t id, const http::Request& request);
  http::Response metrics();
  nlohmann::json changes_json(std::int64_t since, std::int64_t limit, std::int64_t& next);

  // SQL for local tools (sql_routes.cpp)
  boost::asio::awaitable<http::Answer> sql_query(const http::Request& request, const http::Target& target);
  http::Response sql_schema();
  SqlService& sql_service();  // made at the first query

  bool configured(store::WorkspaceKey ws) const;

  store::Database& db_;
  store::Mirror& mirror_;
  store::EditQueue& queue_;
  store::ProjectReads reads_;
  const config::Config& config_;
  DaemonLink& daemon_;
  Signal& changes_;
  Metrics metrics_;
  std::optional<gid_t> group_;
  std::vector<std::string> group_members_;
  uid_t own_uid_;  // geteuid() once: a system call on every request otherwise
  std::map<store::WorkspaceKey, Freshness> freshness_;
  std::unique_ptr<SqlService> sql_;
};

}  // namespace focus::local_api
