#include "upstream/account_check.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <exception>
#include <sstream>

namespace focus::upstream {
namespace {

std::string ids(const WorkspaceKey& w) {
  return std::to_string(w.organization_id) + "/" + std::to_string(w.workspace_id);
}

// What an Error means to the person holding the key.
std::string in_words(const WorkspaceKey& w, const Error& e, bool& lasting) {
  lasting = e.is(Errc::unauthorized) || e.is(Errc::not_found) || e.is(Errc::forbidden);
  if (e.is(Errc::unauthorized))
    return "the API key was refused (401 Unauthorized): it is wrong, expired or revoked; make a new one in Toggl Focus "
           "(your profile's API key settings)";
  if (e.is(Errc::not_found))
    return "organization " + std::to_string(w.organization_id) + " has no workspace " + std::to_string(w.workspace_id) +
           " this key can see (404 Not Found): check both ids (the numbers in /organizations/ORG/workspaces/WS/ of the "
           "Focus API paths)";
  if (e.is(Errc::forbidden))
    return "the key's user may not list the projects of this workspace (403 Forbidden)";
  if (e.is(Errc::quota_exhausted)) return "the request quota for this organization is spent (" + e.message + "); try later";
  if (e.is(Errc::rate_limited)) return "the server asked to slow down (429): " + e.message + "; try again shortly";
  return "the server could not be asked (" + e.message + ")";
}

boost::asio::awaitable<void> run(FocusApi& api, const std::vector<WorkspaceKey>& workspaces, AccountCheck& out) {
  ListParams one;
  one.paging.page = 1;
  one.paging.per_page = 1;
  for (const auto& w : workspaces) {
    WorkspaceVerdict v;
    v.workspace = w;
    auto page = co_await api.list_projects(w, one);
    if (page) {
      v.ok = true;
      v.active_projects = page->total;
    } else {
      v.problem = in_words(w, page.error(), v.lasting);
    }
    out.workspaces.push_back(std::move(v));
  }
}

}  // namespace

bool AccountCheck::ok() const {
  for (const auto& w : workspaces)
    if (!w.ok) return false;
  return true;
}

bool AccountCheck::lasting_problem() const {
  for (const auto& w : workspaces)
    if (w.lasting) return true;
  return false;
}

AccountCheck check_account(const config::Upstream& upstream, Credentials credentials,
                           const std::vector<WorkspaceKey>& workspaces) {
  boost::asio::io_context io;
  http::ClientOptions options;
  options.base_url = upstream.base_url;
  options.ca_file = upstream.ca_file;
  options.insecure_skip_verify = upstream.insecure_skip_verify;
  options.total_timeout = upstream.timeout;
  options.user_agent = "focussync/check";
  http::Client client(io, options);
  QuotaTracker quota;
  RetryPolicy once;
  once.max_attempts = 1;  // the cost must be what is announced: one request per workspace
  FocusApi api(client, std::move(credentials), quota, once);
  AccountCheck out;
  std::exception_ptr failure;
  boost::asio::co_spawn(io, run(api, workspaces, out), [&](std::exception_ptr e) { failure = e; });
  io.run();
  if (failure) std::rethrow_exception(failure);
  out.requests = api.counters().spent();  // a refused connection costs no quota
  for (const auto& w : workspaces)
    if (auto left = quota.snapshot(w.organization_id).remaining) out.quota_left[w.organization_id] = *left;
  return out;
}

std::string describe(const AccountCheck& check) {
  std::ostringstream text;
  for (const auto& w : check.workspaces) {
    text << "workspace " << ids(w.workspace) << ": ";
    if (w.ok)
      text << "ok" << (w.active_projects ? " (" + std::to_string(*w.active_projects) + " active projects)" : "");
    else
      text << w.problem;
    text << "\n";
  }
  text << "spent " << check.requests << " request" << (check.requests == 1 ? "" : "s") << " of the quota";
  if (check.quota_left.empty()) {
    text << "; the server did not say how much is left";
  } else {
    text << "; quota left:";
    const char* sep = " ";
    for (const auto& [org, left] : check.quota_left) {
      text << sep << left << " for organization " << org;
      sep = ", ";
    }
  }
  text << "\n";
  return text.str();
}

}  // namespace focus::upstream
