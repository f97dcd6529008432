// The Focus API's own project routes, answered from the cache.
#include "local_api/local_api.hpp"

#include "http/target.hpp"
#include "local_api/responses.hpp"
#include "model/json_limits.hpp"
#include "upstream/focus_paths.hpp"
#include "upstream/list_query.hpp"

#include <nlohmann/json.hpp>

#include <map>

namespace focus::local_api {

using model::EditOp;
using nlohmann::json;
using detail::json_error;

namespace {

// As large a page as the mirror itself is listed with.
constexpr std::int64_t kMaxPerPage = 200;

// A JSON array of stored bodies, as they are: never parsed again.
std::string body_array(const std::vector<std::string>& bodies) {
  std::string out = "[";
  for (std::size_t i = 0; i < bodies.size(); ++i) {
    if (i) out += ',';
    out += bodies[i];
  }
  return out + "]";
}

}  // namespace

// The handlers of upstream::focus_paths(); answer_now() has already refused a
// workspace this focussyncd does not mirror. Writes are queued as the edit
// the path names.
std::vector<http::Route<LocalApi::Handler>> LocalApi::focus_routes() {
  using F = upstream::FocusOp;
  using C = const Call&;
  using A = http::Answer;
  static const std::map<F, Handler::Now> kReads = {
      {F::list, [](LocalApi& a, C c) -> A { return a.list_projects(workspace_of(c), c.target); }},
      {F::get, [](LocalApi& a, C c) -> A { return a.project(workspace_of(c), c.ids.at("project_id")); }},
      {F::children, [](LocalApi& a, C c) -> A {
         return a.project_tree(workspace_of(c), a.project_of(c), "children", c.target);
       }},
      {F::parents, [](LocalApi& a, C c) -> A {
         return a.project_tree(workspace_of(c), a.project_of(c), "parents", c.target);
       }},
      {F::members, [](LocalApi& a, C c) -> A { return a.members(workspace_of(c), a.project_of(c)); }},
  };
  const Handler::Now write = [](LocalApi& a, C c) -> A {
    const model::Id id = *c.edit == EditOp::create ? 0 : a.project_of(c);
    return a.submit(workspace_of(c), *c.edit, id, c.request);
  };
  std::vector<http::Route<Handler>> routes;
  for (const auto& p : upstream::focus_paths()) {
    http::RouteSpec spec = p.spec;
    spec.label = "/api/..." + spec.label;
    routes.push_back({std::move(spec), {p.edit ? write : kReads.at(p.op), p.edit}});
  }
  return routes;
}

store::WorkspaceKey LocalApi::workspace_of(const Call& c) {
  return {c.ids.at("organization_id"), c.ids.at("workspace_id")};
}

model::Id LocalApi::project_of(const Call& c) { return queue_.real_id_for(workspace_of(c), c.ids.at("project_id")); }

// The project as a client last saw it (the id asked, or the real one for a
// temporary id the server has since named).
http::Response LocalApi::project(store::WorkspaceKey ws, model::Id asked) {
  auto body = reads_.get(ws, queue_.real_id_for(ws, asked));
  if (!body) return json_error(404, "project " + std::to_string(asked) + " does not exist");
  http::Response r;
  r.body = std::move(*body);
  add_freshness(r, ws);
  return r;
}

http::Response LocalApi::list_projects(store::WorkspaceKey ws, const http::Target& t) {
  auto query = upstream::parse_list_query(t, kMaxPerPage);
  auto page = reads_.list(ws, query);
  http::Response r;
  r.body = "{\"data\":" + body_array(page.bodies) + ",\"page\":" + std::to_string(query.paging.page) +
           ",\"per_page\":" + std::to_string(query.paging.per_page) + ",\"total\":" + std::to_string(page.total) + "}";
  add_freshness(r, ws);
  return r;
}

http::Response LocalApi::project_tree(store::WorkspaceKey ws, model::Id id, const std::string& which,
                                      const http::Target& t) {
  auto paging = upstream::parse_paging(t, kMaxPerPage);
  auto bodies = which == "children" ? reads_.children(ws, id, paging) : reads_.parents(ws, id, paging);
  if (!bodies) return json_error(404, "project " + std::to_string(id) + " does not exist");
  http::Response r;
  r.body = "{\"data\":" + body_array(*bodies) + ",\"page\":" + std::to_string(paging.page) +
           ",\"per_page\":" + std::to_string(paging.per_page) + "}";
  add_freshness(r, ws);
  return r;
}

http::Response LocalApi::members(store::WorkspaceKey ws, model::Id id) {
  if (!reads_.get(ws, id)) return json_error(404, "project " + std::to_string(id) + " does not exist");
  auto body = mirror_.members(ws, id);
  if (!body)
    return json_error(404, "the members of project " + std::to_string(id) +
                               " are not in the cache yet (they are fetched after the projects, as the quota allows)");
  http::Response r;
  r.body = std::move(*body);
  add_freshness(r, ws);
  return r;
}

http::Response LocalApi::submit(store::WorkspaceKey ws, EditOp op, model::Id id, const http::Request& req) {
  json body;
  if (model::has_body(op)) {
    // A parse error (or nesting past model::kMaxJsonDepth) is a 400 at the boundary.
    body = model::parse_body(req.body.empty() ? std::string("{}") : req.body);
  }
  auto submitted = queue_.submit(ws, op, id, body, now_utc());
  daemon_.edits_changed();
  http::Response r;
  const bool answers_project = op == EditOp::create || op == EditOp::update || op == EditOp::patch;
  if (answers_project && submitted.project) {
    r.status = 201;
    r.body = *submitted.project;
  } else {
    r.status = 204;
  }
  r.set_header("X-Focussync-Edit", std::to_string(submitted.edit.id));
  add_freshness(r, ws);
  return r;
}

void LocalApi::add_freshness(http::Response& r, store::WorkspaceKey ws) {
  const Freshness& f = freshness(ws);
  r.headers.reserve(r.headers.size() + 3);  // grown once, not header by header
  r.set_header("X-Focussync-Synced-At", f.synced_text);
  r.set_header("X-Focussync-Pending-Edits", f.pending_text);
  const bool stale = config::is_stale(config_.socket, f.synced, now_utc());
  if (stale) r.set_header("X-Focussync-Stale", "true");
}

// A socket request runs outside any transaction (its writes commit before
// it answers), so what is read here is committed.
const LocalApi::Freshness& LocalApi::freshness(store::WorkspaceKey ws) {
  if (auto it = freshness_.find(ws); it != freshness_.end() && it->second.commits == db_.commits()) return it->second;
  // Read whole before it is kept: a read that throws (a busy or failing
  // disk) leaves nothing behind to be served until the next commit.
  Freshness f;
  f.commits = db_.commits();
  f.synced = mirror_.sync_state(ws).last_success_at;
  f.synced_text = f.synced ? format_rfc3339(*f.synced) : "never";
  f.pending_text = std::to_string(reads_.pending_edits(ws));
  return freshness_[ws] = std::move(f);
}

}  // namespace focus::local_api
