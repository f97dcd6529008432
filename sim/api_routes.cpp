#include "sim/api_routes.hpp"

#include "model/decode_error.hpp"
#include "model/members.hpp"
#include "model/project_codec.hpp"
#include "sim/api_error.hpp"

#include <nlohmann/json.hpp>

#include <charconv>

namespace focus::sim {
namespace {

using nlohmann::json;

std::optional<Id> parse_id(const std::string& text) {
  Id value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// The methods each kind of path answers, for 405's Allow header.
const char* allowed_methods(const std::string& action, bool has_id) {
  if (!has_id) return "GET, POST";
  if (action.empty()) return "GET, PUT, PATCH, DELETE";
  if (action == "archive" || action == "unarchive" || action == "restore") return "PATCH";
  if (action == "pinned") return "POST, DELETE";
  if (action == "children" || action == "parents") return "GET";
  return "GET, POST, PUT, DELETE";  // members
}

bool method_allowed(const std::string& method, const std::string& action, bool has_id) {
  std::string_view allowed = allowed_methods(action, has_id);
  std::size_t pos = 0;
  while (pos < allowed.size()) {
    auto comma = allowed.find(", ", pos);
    auto item = allowed.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
    if (item == method) return true;
    if (comma == std::string_view::npos) break;
    pos = comma + 2;
  }
  return false;
}

http::Response json_response(int status, const json& body) {
  http::Response r;
  r.status = status;
  r.body = body.dump();
  return r;
}

http::Response no_content() {
  http::Response r;
  r.status = 204;
  return r;
}

json parse_body(const http::Request& request) {
  if (request.body.empty()) throw bad_request("a JSON body is required");
  json body = json::parse(request.body, nullptr, false);
  if (body.is_discarded()) throw bad_request("the request body is not valid JSON");
  return body;
}

// The two lowest live ids, which the cycle fault makes each other's parent.
std::optional<std::pair<Id, Id>> cycle_pair(const Workspace& ws) {
  std::vector<Id> ids;
  for (const auto& [id, p] : ws.projects) {
    if (p.deleted_at) continue;
    ids.push_back(id);
    if (ids.size() == 2) return std::pair{ids[0], ids[1]};
  }
  return std::nullopt;
}

}  // namespace

json ApiRoutes::answer_json(const model::Project& p, bool include_rates) const {
  json j = model::encode_project(p);
  if (!include_rates) j["rate"] = nullptr;
  if (cycle_ && p.id == cycle_->first) j["parent_project_id"] = cycle_->second;
  if (cycle_ && p.id == cycle_->second) j["parent_project_id"] = cycle_->first;
  return j;
}

http::Response json_error(int status, const std::string& message) {
  return json_response(status, json{{"error", message}});
}

bool ApiRoutes::is_api_path(const http::Target& t) {
  return !t.segments.empty() && t.segments[0] == "api";
}

ApiRoute ApiRoutes::resolve(const std::string& method, const http::Target& t) {
  ApiRoute route{"unknown", {}, {}, "", false, "no such route: " + t.path};
  const auto& s = t.segments;
  if (s.size() < 6 || s.size() > 8 || s[1] != "organizations" || s[3] != "workspaces" || s[5] != "projects")
    return route;
  auto org = parse_id(s[2]), ws = parse_id(s[4]);
  if (!org || !ws) {
    route.path_error = "organization_id and workspace_id must be integers";
    return route;
  }
  route.workspace = WorkspaceKey{*org, *ws};
  if (s.size() >= 7) {
    route.project_id = parse_id(s[6]);
    if (!route.project_id) {
      route.path_error = "project_id must be an integer, got '" + s[6] + "'";
      return route;
    }
  }
  if (s.size() == 8) {
    route.action = s[7];
    static const char* kActions[] = {"archive", "unarchive", "restore", "pinned", "children", "parents", "members"};
    if (std::find(std::begin(kActions), std::end(kActions), route.action) == std::end(kActions)) return route;
  }
  route.path_ok = true;
  route.name = method + " /projects" + (route.project_id ? "/{id}" : "") + (route.action.empty() ? "" : "/" + route.action);
  return route;
}

http::Response ApiRoutes::serve(const http::Request& request, const http::Target& target, const ApiRoute& route) {
  if (!route.path_ok) return json_error(route.path_error.starts_with("no such") ? 404 : 400, route.path_error);
  if (!method_allowed(request.method, route.action, route.project_id.has_value())) {
    auto r = json_error(405, "method " + request.method + " is not allowed on " + target.path);
    r.set_header("Allow", allowed_methods(route.action, route.project_id.has_value()));
    return r;
  }
  try {
    return dispatch(request, target, route);
  } catch (const ApiError& e) {
    return json_error(e.status(), e.what());
  } catch (const QueryError& e) {
    return json_error(400, e.what());
  } catch (const model::DecodeError& e) {
    return json_error(400, e.what());
  }
}

http::Response ApiRoutes::dispatch(const http::Request& req, const http::Target& t, const ApiRoute& route) {
  const WorkspaceKey ws = *route.workspace;
  const std::string& m = req.method;
  state_.workspace(ws);  // 404 for an unknown workspace, before anything else
  cycle_ = faults_.cycle ? cycle_pair(state_.workspace(ws)) : std::nullopt;
  if (!route.project_id) {
    if (m == "GET") return list(t, ws);
    Id creator = state_.workspace(ws).users.front();
    return json_response(201, answer_json(state_.create(ws, model::decode_project_write(parse_body(req)), creator), true));
  }
  const Id id = *route.project_id;
  const std::string& action = route.action;
  if (action.empty()) {
    if (m == "GET") return json_response(200, answer_json(state_.get(ws, id), true));
    if (m == "PUT") return json_response(201, answer_json(state_.update(ws, id, model::decode_project_write(parse_body(req))), true));
    if (m == "PATCH") return json_response(201, answer_json(state_.patch(ws, id, model::decode_project_patch(parse_body(req))), true));
    state_.remove(ws, id);
    return no_content();
  }
  if (action == "archive" || action == "unarchive") state_.set_archived(ws, id, action == "archive");
  else if (action == "restore") state_.restore(ws, id);
  else if (action == "pinned") state_.set_pinned(ws, id, m == "POST");
  else if (action == "children") return tree(t, state_.children(ws, id));
  else if (action == "parents") return tree(t, state_.parents(ws, id));
  else if (m == "GET") return json_response(200, model::encode_project_members(state_.members(ws, id)));
  else if (m == "POST") state_.add_members(ws, id, model::decode_members_add(parse_body(req)));
  else if (m == "PUT") state_.change_member_role(ws, id, model::decode_member_role_change(parse_body(req)));
  else state_.remove_member(ws, id, model::decode_member_removal(parse_body(req)));
  return no_content();
}

http::Response ApiRoutes::list(const http::Target& t, WorkspaceKey ws) {
  ListQuery query = parse_list_query(t, max_per_page_);
  if (faults_.ignore_order) query.paging.order.clear();
  if (faults_.drift && query.paging.page > 1) drift(ws);
  Page page = state_.list(ws, query);
  json data = json::array();
  for (const auto* p : page.items) data.push_back(answer_json(*p, query.include_rates));
  return json_response(200, json{{"data", std::move(data)}, {"page", page.page}, {"per_page", page.per_page}, {"total", page.total}});
}

// Children and parents: the project first, then the rest in the asked order; paged.
http::Response ApiRoutes::tree(const http::Target& t, const std::vector<const model::Project*>& projects) {
  Paging paging = parse_paging(t, max_per_page_);
  std::vector<const model::Project*> rest(projects.begin() + 1, projects.end());
  if (!paging.order.empty())
    std::stable_sort(rest.begin(), rest.end(), [&](auto* a, auto* b) { return ordered_before(*a, *b, paging.order); });
  rest.insert(rest.begin(), projects.front());
  json data = json::array();
  auto first = static_cast<std::size_t>(paging.offset());
  for (std::size_t i = first; i < rest.size() && i - first < static_cast<std::size_t>(paging.per_page); ++i)
    data.push_back(answer_json(*rest[i], true));
  return json_response(200, json{{"data", std::move(data)}, {"page", paging.page}, {"per_page", paging.per_page}});
}

// Another user inserts one project and deletes another while a client pages:
// the offsets of everything after the deleted one shift by one.
void ApiRoutes::drift(WorkspaceKey key) {
  Workspace& ws = state_.workspace(key);
  model::Project& added = seeder_.add_project(state_, ws, state_.next_write_time(), false);
  added.updated_at = added.created_at;
  std::vector<Id> live;
  for (const auto& [id, p] : ws.projects)
    if (!p.deleted_at && id != added.id) live.push_back(id);
  if (live.empty()) return;
  Id victim = live[std::uniform_int_distribution<std::size_t>(0, live.size() - 1)(seeder_.rng())];
  state_.remove(key, victim);
}

}  // namespace focus::sim
