// The Focus API's own project routes, answered from the cache.
#include "local_api/local_api.hpp"

#include "http/target.hpp"
#include "local_api/responses.hpp"
#include "model/json_limits.hpp"
#include "upstream/list_query.hpp"

#include <nlohmann/json.hpp>

#include <charconv>

namespace focus::local_api {

using model::EditOp;
using nlohmann::json;
using detail::json_error;
using detail::method_not_allowed;

namespace {

// As large a page as the mirror itself is listed with.
constexpr std::int64_t kMaxPerPage = 200;

std::optional<model::Id> parse_id(const std::string& s) {
  model::Id v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// A JSON array of stored bodies, as they are: never parsed again.
std::string body_array(const std::vector<std::string>& bodies) {
  std::string out = "[";
  for (std::size_t i = 0; i < bodies.size(); ++i) {
    if (i) out += ',';
    out += bodies[i];
  }
  return out + "]";
}

// The write operation a method names on a project path, if any.
std::optional<EditOp> write_op(const std::string& method, const std::string& action) {
  if (action.empty()) {
    if (method == "PUT") return EditOp::update;
    if (method == "PATCH") return EditOp::patch;
    if (method == "DELETE") return EditOp::remove;
  }
  if (method == "PATCH" && action == "archive") return EditOp::archive;
  if (method == "PATCH" && action == "unarchive") return EditOp::unarchive;
  if (method == "PATCH" && action == "restore") return EditOp::restore;
  if (method == "POST" && action == "pinned") return EditOp::pin;
  if (method == "DELETE" && action == "pinned") return EditOp::unpin;
  if (method == "POST" && action == "members") return EditOp::members_add;
  if (method == "PUT" && action == "members") return EditOp::members_role;
  if (method == "DELETE" && action == "members") return EditOp::members_remove;
  return std::nullopt;
}

const char* allowed_methods(const std::string& action, bool has_id) {
  if (!has_id) return "GET, POST";
  if (action.empty()) return "GET, PUT, PATCH, DELETE";
  if (action == "archive" || action == "unarchive" || action == "restore") return "PATCH";
  if (action == "pinned") return "POST, DELETE";
  if (action == "members") return "GET, POST, PUT, DELETE";
  return "GET";  // children, parents
}

}  // namespace

http::Answer LocalApi::focus_route(const http::Request& req, const http::Target& t, std::string& route) {
  const auto& s = t.segments;
  if (s.size() < 6 || s.size() > 8 || s[1] != "organizations" || s[3] != "workspaces" || s[5] != "projects")
    return json_error(404, "no such route: " + t.path);
  auto org = parse_id(s[2]), wsid = parse_id(s[4]);
  if (!org || !wsid) return json_error(400, "organization_id and workspace_id must be integers");
  const store::WorkspaceKey ws{*org, *wsid};
  std::optional<model::Id> id;
  if (s.size() >= 7) {
    id = parse_id(s[6]);
    if (!id) return json_error(400, "project_id must be an integer, got '" + s[6] + "'");
  }
  const std::string action = s.size() == 8 ? s[7] : "";
  static const std::vector<std::string> kActions = {"archive", "unarchive", "restore", "pinned", "children", "parents", "members"};
  if (!action.empty() && std::find(kActions.begin(), kActions.end(), action) == kActions.end())
    return json_error(404, "no such route: " + t.path);
  route = req.method + " /api/.../projects" + (id ? "/{id}" : "") + (action.empty() ? "" : "/" + action);
  if (!configured(ws))
    return json_error(404, "workspace " + std::to_string(*org) + "/" + std::to_string(*wsid) +
                               " is not mirrored by this focussyncd (see [[workspaces]] in its configuration)");

  if (!id) {
    if (req.method == "GET") return list_projects(ws, t);
    if (req.method == "POST") return submit(ws, EditOp::create, 0, req);
    return method_not_allowed(req.method, t.path, allowed_methods(action, false));
  }
  const model::Id project = queue_.resolve_id(ws, *id);
  if (req.method == "GET") {
    if (action.empty()) {
      auto body = reads_.get(ws, project);
      if (!body) return json_error(404, "project " + std::to_string(*id) + " does not exist");
      http::Response r;
      r.body = std::move(*body);
      add_freshness(r, ws);
      return r;
    }
    if (action == "children" || action == "parents") return project_tree(ws, project, action, t);
    if (action == "members") return members(ws, project);
  }
  if (auto op = write_op(req.method, action)) return submit(ws, *op, project, req);
  return method_not_allowed(req.method, t.path, allowed_methods(action, true));
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
  const auto synced = mirror_.sync_state(ws).last_success_at;
  r.set_header("X-Focussync-Synced-At", synced ? format_rfc3339(*synced) : "never");
  r.set_header("X-Focussync-Pending-Edits", std::to_string(reads_.pending_edits(ws)));
  bool stale = !synced || now_utc() - *synced > config_.socket.stale_after;
  if (stale) r.set_header("X-Focussync-Stale", "true");
}

}  // namespace focus::local_api
