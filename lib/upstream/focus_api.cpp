#include "upstream/focus_api.hpp"

#include "core/utf8.hpp"
#include "upstream/answer.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/as_tuple.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace focus::upstream {

namespace asio = boost::asio;
using model::Id;
using nlohmann::json;

struct FocusApi::Exchange {
  std::string method;
  std::string path;   // after /organizations/{o}/workspaces/{w}/projects
  std::string query;  // "" or "?..."
  std::optional<std::string> body;
  bool write = false;
};

namespace {

std::string projects_path(WorkspaceKey ws) {
  return "/organizations/" + std::to_string(ws.organization_id) + "/workspaces/" + std::to_string(ws.workspace_id) +
         "/projects";
}

std::string id_path(Id id, std::string_view action = {}) {
  return "/" + std::to_string(id) + (action.empty() ? "" : "/" + std::string(action));
}

// A pause between retries, in slices, so that cancel() ends it soon.
asio::awaitable<void> sleep_for(std::chrono::milliseconds d, const bool& cancelled) {
  constexpr std::chrono::milliseconds kSlice{200};
  asio::steady_timer timer(co_await asio::this_coro::executor);
  while (d.count() > 0 && !cancelled) {
    auto slice = std::min(d, kSlice);
    timer.expires_after(slice);
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    d -= slice;
  }
}

Result<ProjectPage> decode_list(const http::Response& r) { return detail::decode_page(r.body, true); }
Result<ProjectPage> decode_tree(const http::Response& r) { return detail::decode_page(r.body, false); }
Result<model::Project> decode_project_answer(const http::Response& r) { return detail::decode_one(r.body); }
Result<model::ProjectMembers> decode_members_answer(const http::Response& r) { return detail::decode_members(r.body); }
Result<Unit> ignore_body(const http::Response&) { return Unit{}; }

// Writes answer 201 with the project, or 204 / an empty body: both succeed.
// A body that cannot be read is no proof of anything: the status says it
// was probably applied, the body does not say what the server made of it
// (a proxy's page, a cut answer). The outcome is unknown and settled by
// reading back, as for a lost answer.
Result<std::optional<model::Project>> decode_write_answer(const http::Response& r) {
  auto blank = [](char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; };
  if (std::all_of(r.body.begin(), r.body.end(), blank)) return std::optional<model::Project>{};
  auto project = detail::decode_one(r.body);
  if (!project)
    return make_error(Errc::outcome_unknown, "answered " + std::to_string(r.status) +
                                                 " with a body that cannot be read (" + project.error().message + ")");
  return std::optional<model::Project>{std::move(*project)};
}

bool retryable(const Error& e) {
  return e.is(Errc::server_error) || e.is(Errc::timeout) || e.is(Errc::network) || e.is(Errc::bad_payload) ||
         e.is(Errc::bad_response);
}

// An error about `what`, with any secret the text might echo removed, as
// one line of valid UTF-8 (what it quotes came from the network).
Error failure(const std::string& what, const std::vector<std::string>& secrets, Errc code, const std::string& detail) {
  return make_error(code, bounded_text(what + ": " + detail, 1000, [&](std::string t) { return redact(std::move(t), secrets); }));
}

std::string seconds_text(SteadyTime::duration d) {
  return std::to_string(std::chrono::ceil<std::chrono::seconds>(d).count()) + " s";
}

}  // namespace

FocusApi::FocusApi(http::Client& client, Credentials credentials, QuotaTracker& quota, RetryPolicy retry)
    : client_(client), credentials_(std::move(credentials)), quota_(quota), backoff_(retry) {}

void FocusApi::cancel() {
  cancelled_ = true;
  client_.cancel();
}

std::chrono::milliseconds FocusApi::exchange_limit() const { return client_.options().total_timeout; }

// What run knows of the call it is making, for the helpers that judge one
// attempt of it.
struct FocusApi::Attempt {
  Id org = 0;
  std::string what;                  // "GET /organizations/.../projects/12": for messages and logs
  std::vector<std::string> secrets;  // redacted from every message
  int number = 0;                    // 0: the first try
  bool may_retry = false;            // a read, not cancelled, and attempts left
  bool counted_down = false;         // the quota's known figure was counted down for it
};

// An attempt that did not succeed: the error that ends the call, or none to
// try again after `retry_in`.
struct FocusApi::Failed {
  std::optional<Error> error;
  std::chrono::milliseconds retry_in{0};
};

// Known to be refused (the quota is spent, or a 429 asked to wait): the
// error to fail with at once, sending nothing.
std::optional<Error> FocusApi::quota_refusal(const Attempt& a) const {
  const auto now = quota_.clock().steady_now();
  auto until = quota_.blocked_until(a.org);
  if (!until) return std::nullopt;
  bool quota = quota_.blocked_by_quota(a.org);
  return failure(a.what, a.secrets, quota ? Errc::quota_exhausted : Errc::rate_limited,
                 std::string(quota ? "the request quota is spent" : "asked to slow down") + "; not sent, next allowed in " +
                     seconds_text(*until - now));
}

http::Request FocusApi::make_request(WorkspaceKey ws, const Exchange& ex) const {
  http::Request request{ex.method, projects_path(ws) + ex.path + ex.query, {}, ex.body.value_or("")};
  request.headers.push_back({"Authorization", credentials_.authorization_header()});
  request.headers.push_back({"Accept", "application/json"});
  if (ex.body) request.headers.push_back({"Content-Type", "application/json"});
  return request;
}

// No answer. A write that was sent may have been applied: its outcome is
// unknown, never retried. A read is retried when the error may pass.
FocusApi::Failed FocusApi::judge_failure(const http::ClientFailure& f, const Attempt& a, bool write, std::int64_t elapsed_ms) {
  ++counters_.by_status[f.error.code.message()];
  if (!f.request_sent) {
    ++counters_.unsent;
    quota_.on_unsent(a.org, a.counted_down);
  }
  spdlog::debug("{} failed after {} ms: {}", a.what, elapsed_ms, redact(f.error.message, a.secrets));
  if (write && f.request_sent)
    return {failure(a.what, a.secrets, Errc::outcome_unknown, "sent, but no answer came back (" + f.error.message + ")")};
  Errc code = static_cast<Errc>(f.error.code.value());
  if (a.may_retry && !cancelled_ && retryable(f.error)) return {std::nullopt, backoff_.delay(a.number)};
  return {failure(a.what, a.secrets, code, f.error.message)};
}

// Any answer: counted and logged, its quota headers and Date noted.
detail::QuotaNews FocusApi::note_answer(const Attempt& a, const http::Response& response, const std::string& query,
                                        std::int64_t elapsed_ms, Timestamp sent_at) {
  ++counters_.by_status[std::to_string(response.status)];
  spdlog::debug("{}{} -> {} in {} ms ({} bytes)", a.what, query, response.status, elapsed_ms, response.body.size());
  auto news = detail::note_quota(quota_, a.org, response);
  if (auto date = response.header("Date"))
    if (auto server_now = parse_http_date(*date)) clock_.observe(a.org, *server_now, sent_at, now_utc());
  return news;
}

// A non-2xx answer: a read waits out a short Retry-After or backs off after
// a 5xx and tries again; everything else is the call's error.
FocusApi::Failed FocusApi::judge_status(const http::Response& response, const detail::QuotaNews& news, const Attempt& a) {
  Errc code = detail::errc_for_status(response.status);
  std::string detail = std::to_string(response.status) + ": " + detail::server_text(response, a.secrets);
  if (code == Errc::quota_exhausted)
    return {failure(a.what, a.secrets, code, detail + " (resets in " + std::to_string(news.resets_in->count()) + " s)")};
  if (code == Errc::rate_limited) {
    const auto wait = *news.retry_after;
    if (a.may_retry && wait <= backoff_.policy().max_retry_after)
      return {std::nullopt, std::chrono::duration_cast<std::chrono::milliseconds>(wait)};
    return {failure(a.what, a.secrets, code, detail + " (retry after " + std::to_string(wait.count()) + " s)")};
  }
  if (code == Errc::server_error && a.may_retry) return {std::nullopt, backoff_.delay(a.number)};
  return {failure(a.what, a.secrets, code, detail)};
}

// The one place requests are sent: quota gate, send, quota bookkeeping, error
// mapping, and retries for reads. `decode` turns a 2xx answer into T. Each
// pass of the loop is one attempt; cancel() stops it before the next send and
// cuts short the pause before a retry.
template <class T, class Decode>
FocusApi::Call<T> FocusApi::run(WorkspaceKey ws, Exchange ex, Decode decode) {
  Attempt a{ws.organization_id, ex.method + " " + projects_path(ws) + ex.path, credentials_.secrets()};
  for (;; ++a.number) {
    if (cancelled_) co_return failure(a.what, a.secrets, Errc::network, "not sent: focussyncd is stopping");
    a.may_retry = !ex.write && !cancelled_ && a.number + 1 < backoff_.policy().max_attempts;
    if (auto refused = quota_refusal(a)) co_return std::move(*refused);
    http::Request request = make_request(ws, ex);
    a.counted_down = quota_.on_sent(a.org);
    ++counters_.sent;
    // The exchange's real duration, for the log: not the quota's clock.
    auto started = std::chrono::steady_clock::now();
    const auto sent_at = now_utc();
    if (!unanswered_since_) unanswered_since_ = Silence{started, sent_at};
    auto outcome = co_await client_.send(std::move(request));
    std::int64_t elapsed_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();

    Failed failed;
    if (auto* f = std::get_if<http::ClientFailure>(&outcome)) {
      // An answer came, one that cannot be read: the server is not silent.
      if (f->error.is(Errc::body_too_large) || f->error.is(Errc::bad_response)) unanswered_since_.reset();
      failed = judge_failure(*f, a, ex.write, elapsed_ms);
    } else {
      auto& response = std::get<http::Response>(outcome);
      unanswered_since_.reset();
      const auto news = note_answer(a, response, ex.query, elapsed_ms, sent_at);
      if (response.status >= 200 && response.status < 300) {
        Result<T> decoded = decode(response);
        if (decoded) co_return decoded;
        // A 2xx body that cannot be read: a read tries again if it may.
        if (a.may_retry && retryable(decoded.error())) failed.retry_in = backoff_.delay(a.number);
        else failed.error = failure(a.what, a.secrets, static_cast<Errc>(decoded.error().code.value()), decoded.error().message);
      } else {
        failed = judge_status(response, news, a);
      }
    }
    if (failed.error) co_return std::move(*failed.error);
    co_await sleep_for(failed.retry_in, cancelled_);
  }
}

// GCC 12 destroys some temporaries twice when they are built in the same
// expression as a co_await; every call below therefore names its Exchange.
FocusApi::Call<void> FocusApi::run_no_body(WorkspaceKey ws, Exchange ex) {
  ex.write = true;
  auto r = co_await run<Unit>(ws, std::move(ex), ignore_body);
  if (!r) co_return r.error();
  co_return Result<void>{};
}

FocusApi::Call<FocusApi::MaybeProject> FocusApi::run_write(WorkspaceKey ws, Exchange ex) {
  ex.write = true;
  co_return co_await run<MaybeProject>(ws, std::move(ex), decode_write_answer);
}

FocusApi::Call<ProjectPage> FocusApi::list_projects(WorkspaceKey ws, const ListParams& params, KnownDigest known) {
  Exchange ex{"GET", "", to_query(params), std::nullopt, false};
  if (!known) co_return co_await run<ProjectPage>(ws, std::move(ex), decode_list);
  // `known` lives in this coroutine's frame for as long as run() decodes.
  auto decode = [&known](const http::Response& r) { return detail::decode_page(r.body, true, known); };
  co_return co_await run<ProjectPage>(ws, std::move(ex), decode);
}

FocusApi::Call<model::Project> FocusApi::get_project(WorkspaceKey ws, Id id) {
  Exchange ex{"GET", id_path(id), "", std::nullopt, false};
  co_return co_await run<model::Project>(ws, std::move(ex), decode_project_answer);
}

FocusApi::Call<FocusApi::MaybeProject> FocusApi::create_project(WorkspaceKey ws, const model::ProjectWrite& body) {
  Exchange ex{"POST", "", "", model::encode_project_write(body).dump(), true};
  co_return co_await run_write(ws, std::move(ex));
}

FocusApi::Call<FocusApi::MaybeProject> FocusApi::update_project(WorkspaceKey ws, Id id, const model::ProjectWrite& body) {
  Exchange ex{"PUT", id_path(id), "", model::encode_project_write(body).dump(), true};
  co_return co_await run_write(ws, std::move(ex));
}

FocusApi::Call<FocusApi::MaybeProject> FocusApi::patch_project(WorkspaceKey ws, Id id, const model::ProjectPatch& body) {
  Exchange ex{"PATCH", id_path(id), "", model::encode_project_patch(body).dump(), true};
  co_return co_await run_write(ws, std::move(ex));
}

FocusApi::Call<void> FocusApi::delete_project(WorkspaceKey ws, Id id) { return action(ws, "DELETE", id, ""); }
FocusApi::Call<void> FocusApi::archive_project(WorkspaceKey ws, Id id) { return action(ws, "PATCH", id, "archive"); }
FocusApi::Call<void> FocusApi::unarchive_project(WorkspaceKey ws, Id id) { return action(ws, "PATCH", id, "unarchive"); }
FocusApi::Call<void> FocusApi::restore_project(WorkspaceKey ws, Id id) { return action(ws, "PATCH", id, "restore"); }
FocusApi::Call<void> FocusApi::pin_project(WorkspaceKey ws, Id id) { return action(ws, "POST", id, "pinned"); }
FocusApi::Call<void> FocusApi::unpin_project(WorkspaceKey ws, Id id) { return action(ws, "DELETE", id, "pinned"); }

FocusApi::Call<void> FocusApi::action(WorkspaceKey ws, std::string method, Id id, std::string what) {
  Exchange ex{std::move(method), id_path(id, what), "", std::nullopt, true};
  co_return co_await run_no_body(ws, std::move(ex));
}

FocusApi::Call<ProjectPage> FocusApi::project_children(WorkspaceKey ws, Id id, const PageParams& params) {
  Exchange ex{"GET", id_path(id, "children"), to_query(params), std::nullopt, false};
  co_return co_await run<ProjectPage>(ws, std::move(ex), decode_tree);
}

FocusApi::Call<ProjectPage> FocusApi::project_parents(WorkspaceKey ws, Id id, const PageParams& params) {
  Exchange ex{"GET", id_path(id, "parents"), to_query(params), std::nullopt, false};
  co_return co_await run<ProjectPage>(ws, std::move(ex), decode_tree);
}

FocusApi::Call<model::ProjectMembers> FocusApi::list_members(WorkspaceKey ws, Id id) {
  Exchange ex{"GET", id_path(id, "members"), "", std::nullopt, false};
  co_return co_await run<model::ProjectMembers>(ws, std::move(ex), decode_members_answer);
}

FocusApi::Call<void> FocusApi::add_members(WorkspaceKey ws, Id id, const model::MembersAdd& body) {
  Exchange ex{"POST", id_path(id, "members"), "", model::encode_members_add(body).dump(), true};
  co_return co_await run_no_body(ws, std::move(ex));
}

FocusApi::Call<void> FocusApi::set_member_role(WorkspaceKey ws, Id id, const model::MemberRoleChange& body) {
  Exchange ex{"PUT", id_path(id, "members"), "", model::encode_member_role_change(body).dump(), true};
  co_return co_await run_no_body(ws, std::move(ex));
}

FocusApi::Call<void> FocusApi::remove_member(WorkspaceKey ws, Id id, const model::MemberRemoval& body) {
  Exchange ex{"DELETE", id_path(id, "members"), "", model::encode_member_removal(body).dump(), true};
  co_return co_await run_no_body(ws, std::move(ex));
}

}  // namespace focus::upstream
