#include "sim/api_routes.hpp"

#include "model/decode_error.hpp"
#include "model/members.hpp"
#include "model/project_codec.hpp"
#include "sim/api_error.hpp"
#include "upstream/focus_paths.hpp"

#include <nlohmann/json.hpp>

#include <map>

namespace focus::sim {
namespace {

using nlohmann::json;

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

// The handlers of upstream::focus_paths(), by operation. Lambdas here, in a
// member, so that they reach the members a handler needs.
const http::Routes<ApiRoutes::Handler>& ApiRoutes::routes() {
  using F = upstream::FocusOp;
  using C = const Call&;
  static const std::map<F, Handler> kHandlers = {
      {F::list, [](ApiRoutes& a, C c) { return a.list(c.target, c.ws); }},
      {F::create, [](ApiRoutes& a, C c) {
         Id creator = a.state_.workspace(c.ws).users.front();
         auto write = model::decode_project_write(parse_body(c.request));
         return json_response(201, a.answer_json(a.state_.create(c.ws, write, creator), true));
       }},
      {F::get, [](ApiRoutes& a, C c) { return json_response(200, a.answer_json(a.state_.get(c.ws, c.id), true)); }},
      {F::update, [](ApiRoutes& a, C c) {
         auto write = model::decode_project_write(parse_body(c.request));
         return json_response(201, a.answer_json(a.state_.update(c.ws, c.id, write), true));
       }},
      {F::patch, [](ApiRoutes& a, C c) {
         auto patch = model::decode_project_patch(parse_body(c.request));
         return json_response(201, a.answer_json(a.state_.patch(c.ws, c.id, patch), true));
       }},
      {F::remove, [](ApiRoutes& a, C c) { return a.state_.remove(c.ws, c.id), no_content(); }},
      {F::archive, [](ApiRoutes& a, C c) { return a.state_.set_archived(c.ws, c.id, true), no_content(); }},
      {F::unarchive, [](ApiRoutes& a, C c) { return a.state_.set_archived(c.ws, c.id, false), no_content(); }},
      {F::restore, [](ApiRoutes& a, C c) { return a.state_.restore(c.ws, c.id), no_content(); }},
      {F::pin, [](ApiRoutes& a, C c) { return a.state_.set_pinned(c.ws, c.id, true), no_content(); }},
      {F::unpin, [](ApiRoutes& a, C c) { return a.state_.set_pinned(c.ws, c.id, false), no_content(); }},
      {F::children, [](ApiRoutes& a, C c) { return a.tree(c.target, a.state_.children(c.ws, c.id)); }},
      {F::parents, [](ApiRoutes& a, C c) { return a.tree(c.target, a.state_.parents(c.ws, c.id)); }},
      {F::members, [](ApiRoutes& a, C c) {
         return json_response(200, model::encode_project_members(a.state_.members(c.ws, c.id)));
       }},
      {F::members_add, [](ApiRoutes& a, C c) {
         return a.state_.add_members(c.ws, c.id, model::decode_members_add(parse_body(c.request))), no_content();
       }},
      {F::members_role, [](ApiRoutes& a, C c) {
         auto change = model::decode_member_role_change(parse_body(c.request));
         return a.state_.change_member_role(c.ws, c.id, change), no_content();
       }},
      {F::members_remove, [](ApiRoutes& a, C c) {
         return a.state_.remove_member(c.ws, c.id, model::decode_member_removal(parse_body(c.request))), no_content();
       }},
  };
  static const http::Routes<Handler> kRoutes = [] {
    std::vector<http::Route<Handler>> routes;
    for (const auto& p : upstream::focus_paths()) routes.push_back({p.spec, kHandlers.at(p.op)});
    return http::Routes<Handler>(std::move(routes), upstream::focus_segments());
  }();
  return kRoutes;
}

ApiRoute ApiRoutes::resolve(const std::string& method, const http::Target& t) {
  ApiRoute route;
  route.match = routes().match(method, t);
  route.name = route.match.label();
  auto org = route.match.ids.find("organization_id"), ws = route.match.ids.find("workspace_id");
  if (org && ws) route.workspace = WorkspaceKey{*org, *ws};
  return route;
}

http::Response ApiRoutes::serve(const http::Request& request, const http::Target& target, const ApiRoute& route) {
  const http::PathMatch& m = route.match;
  if (m.status != 0) {
    auto r = json_error(m.status, m.error);
    if (!m.allow.empty()) r.set_header("Allow", m.allow);
    return r;
  }
  try {
    const WorkspaceKey ws = *route.workspace;
    state_.workspace(ws);  // 404 for an unknown workspace, before anything else
    cycle_ = faults_.cycle ? cycle_pair(state_.workspace(ws)) : std::nullopt;
    return routes().handler(m)(*this, Call{request, target, ws, m.ids.find("project_id").value_or(0)});
  } catch (const ApiError& e) {
    return json_error(e.status(), e.what());
  } catch (const QueryError& e) {
    return json_error(400, e.what());
  } catch (const model::DecodeError& e) {
    return json_error(400, e.what());
  }
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
