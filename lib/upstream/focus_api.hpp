#pragma once
// The typed Toggl Focus Projects API client: one call per operation (all 17),
// each for one (organization, workspace), answering model types or a precise
// Error (Errc::unauthorized, forbidden, not_found, bad_request,
// quota_exhausted, rate_limited, server_error, timeout, network, tls,
// bad_payload, outcome_unknown), with the server's own text in the message.
//
// Every request is budgeted through the shared QuotaTracker: when the quota
// is known to be spent (or a 429 asked to wait) the call fails at once with
// quota_exhausted / rate_limited and nothing is sent (by the tracker's Clock;
// the server clock's readings and the logged durations use the system's
// clocks, as they measure real exchanges). Reads are retried with
// backoff and full jitter (5xx, timeouts, network errors, bad payloads, and a
// 429 whose Retry-After is short); writes are never retried here: a write
// whose answer was lost fails with outcome_unknown, for the replayer to settle.
// Writes accept a 201 with the project or a 204 / empty body (nullopt).
//
// Credentials never appear in logs or error messages (they are redacted from
// anything the server says, too). Borrows the Client and QuotaTracker, which
// must outlive it. One call at a time per Client; io_context thread only.

#include "core/result.hpp"
#include "http/client.hpp"
#include "model/members.hpp"
#include "model/project.hpp"
#include "model/workspace.hpp"
#include "model/project_write.hpp"
#include "upstream/credentials.hpp"
#include "upstream/list_params.hpp"
#include "upstream/quota_tracker.hpp"
#include "upstream/retry_policy.hpp"
#include "upstream/server_clock.hpp"

#include <boost/asio/awaitable.hpp>

#include <functional>
#include <string_view>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace focus::upstream {

namespace detail {
struct QuotaNews;  // upstream/answer.hpp
}

using model::WorkspaceKey;

// What the mirror holds of a listed project: no digest (a project new to
// it, or one stored without a listing digest), another digest (changed, or
// spelt otherwise than when stored), or this digest (as it is: not
// decoded, see ProjectPage::unchanged).
enum class Known { not_held, other_digest, same_digest };
using KnownDigest = std::function<Known(model::Id id, std::string_view digest)>;

struct ProjectPage {
  std::vector<model::Project> data;  // decoded, in listing order
  // data[i]'s listing digest: model::listing_digest of the project's object as
  // listed, its text as sent (of simdjson's minified form of it where the
  // text as sent could not be told apart). A project stored compact (as
  // the Focus API sends it) and listed later in another spelling is still
  // known by its minified text's digest; one stored in another spelling
  // is decoded again, and only its digest changes.
  // Empty where the answer was read by the fallback parser.
  std::vector<std::string> digests;
  // Listed, but not decoded: the KnownDigest said their digest is known.
  std::vector<model::Id> unchanged;
  std::int64_t page = 1;
  std::int64_t per_page = 0;
  std::optional<std::int64_t> total;  // list only
  std::int64_t listed() const { return static_cast<std::int64_t>(data.size() + unchanged.size()); }
};

// What was sent, for sync state and metrics.
struct RequestCounters {
  std::int64_t sent = 0;    // tried: the quota is charged before each send
  std::int64_t unsent = 0;  // of those, failed before a byte reached the server (connection refused)
  // What reached the server: the requests the quota was spent on.
  std::int64_t spent() const { return sent - unsent; }
  std::map<std::string, std::int64_t> by_status;  // "200", "402", "network", ...
};

class FocusApi {
 public:
  template <class T>
  using Call = boost::asio::awaitable<Result<T>>;
  using MaybeProject = std::optional<model::Project>;

  FocusApi(http::Client& client, Credentials credentials, QuotaTracker& quota, RetryPolicy retry = {});

  // With `known`, a listed project whose digest it recognises is not decoded
  // (ProjectPage::unchanged).
  Call<ProjectPage> list_projects(WorkspaceKey ws, const ListParams& params, KnownDigest known = {});
  Call<model::Project> get_project(WorkspaceKey ws, model::Id id);
  Call<MaybeProject> create_project(WorkspaceKey ws, const model::ProjectWrite& body);
  Call<MaybeProject> update_project(WorkspaceKey ws, model::Id id, const model::ProjectWrite& body);
  Call<MaybeProject> patch_project(WorkspaceKey ws, model::Id id, const model::ProjectPatch& body);
  Call<void> delete_project(WorkspaceKey ws, model::Id id);
  Call<void> archive_project(WorkspaceKey ws, model::Id id);
  Call<void> unarchive_project(WorkspaceKey ws, model::Id id);
  Call<void> restore_project(WorkspaceKey ws, model::Id id);
  Call<void> pin_project(WorkspaceKey ws, model::Id id);
  Call<void> unpin_project(WorkspaceKey ws, model::Id id);
  Call<ProjectPage> project_children(WorkspaceKey ws, model::Id id, const PageParams& params);
  Call<ProjectPage> project_parents(WorkspaceKey ws, model::Id id, const PageParams& params);
  Call<model::ProjectMembers> list_members(WorkspaceKey ws, model::Id id);
  Call<void> add_members(WorkspaceKey ws, model::Id id, const model::MembersAdd& body);
  Call<void> set_member_role(WorkspaceKey ws, model::Id id, const model::MemberRoleChange& body);
  Call<void> remove_member(WorkspaceKey ws, model::Id id, const model::MemberRemoval& body);

  // New credentials (a reload): every later request uses them.
  void set_credentials(Credentials credentials) { credentials_ = std::move(credentials); }

  const RequestCounters& counters() const { return counters_; }
  // Shutting down: the request in flight is abandoned (a write's outcome is
  // then unknown), no read is retried and nothing more is sent.
  void cancel();
  QuotaTracker& quota() { return quota_; }
  const ServerClock& server_clock() const { return clock_; }
  // Whose credentials are in use (Credentials::key_id()).
  std::string key_id() const { return credentials_.key_id(); }
  // The longest an exchange may take (the HTTP client's total timeout): how
  // late after its send a write may have been applied.
  std::chrono::milliseconds exchange_limit() const;
  // Since when the upstream has answered nothing: the send of the oldest
  // request made after its last answer (any status counts as an answer).
  // Retries do not move it; nullopt once an answer came.
  struct Silence {
    std::chrono::steady_clock::time_point steady;
    Timestamp wall;
  };
  const std::optional<Silence>& unanswered_since() const { return unanswered_since_; }

 private:
  struct Exchange;
  struct Attempt;
  struct Failed;
  template <class T, class Decode>
  Call<T> run(WorkspaceKey ws, Exchange exchange, Decode decode);
  // The parts of run that judge one attempt (see focus_api.cpp).
  std::optional<Error> quota_refusal(const Attempt& attempt) const;
  http::Request make_request(WorkspaceKey ws, const Exchange& exchange) const;
  Failed judge_failure(const http::ClientFailure& failure, const Attempt& attempt, bool write, std::int64_t elapsed_ms);
  detail::QuotaNews note_answer(const Attempt& attempt, const http::Response& response, const std::string& query,
                                std::int64_t elapsed_ms, Timestamp sent_at);
  Failed judge_status(const http::Response& response, const detail::QuotaNews& news, const Attempt& attempt);
  Call<void> run_no_body(WorkspaceKey ws, Exchange exchange);
  Call<MaybeProject> run_write(WorkspaceKey ws, Exchange exchange);
  Call<void> action(WorkspaceKey ws, std::string method, model::Id id, std::string what);

  http::Client& client_;
  Credentials credentials_;
  QuotaTracker& quota_;
  Backoff backoff_;
  RequestCounters counters_;
  bool cancelled_ = false;
  ServerClock clock_;
  std::optional<Silence> unanswered_since_;
};

}  // namespace focus::upstream
