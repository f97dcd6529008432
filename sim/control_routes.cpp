#include "sim/control_routes.hpp"

#include "model/members.hpp"
#include "model/project_codec.hpp"
#include "model/decode_error.hpp"
#include "model/project_write.hpp"
#include "sim/api_error.hpp"
#include "sim/api_routes.hpp"

#include <nlohmann/json.hpp>

#include <cstdlib>

namespace focus::sim {
namespace {

using nlohmann::json;

http::Response ok_json(const json& body) {
  http::Response r;
  r.body = body.dump();
  return r;
}

std::int64_t count_of(const json& body, const char* key) {
  auto it = body.find(key);
  if (it == body.end()) return 0;
  if (!it->is_number_integer() || it->get<std::int64_t>() < 0 || it->get<std::int64_t>() > 100000)
    throw bad_request(std::string("mutate: '") + key + "' must be an integer from 0 to 100000");
  return it->get<std::int64_t>();
}

// The workspace a mutate changes: the one named, else the first.
WorkspaceKey mutate_target(SimState& state, const json& body) {
  if (!body.contains("organization_id") && !body.contains("workspace_id")) return state.workspaces().front()->key;
  if (!body.value("organization_id", json()).is_number_integer() || !body.value("workspace_id", json()).is_number_integer())
    throw bad_request("mutate: 'organization_id' and 'workspace_id' must both be integers");
  return WorkspaceKey{body["organization_id"].get<Id>(), body["workspace_id"].get<Id>()};
}

bool live(const model::Project& p) { return !p.deleted_at; }

// One POST /_sim/mutate on one workspace: its steps, and `out`, the ids each
// step touched. Picks draw on the seeder's RNG, so the order ControlRoutes::
// mutate runs the steps in (and that a pick precedes its change) is what makes
// a seed give the same mutations: keep both.
struct Mutation {
  SimState& state;
  Seeder& seeder;
  WorkspaceKey key;
  Workspace& ws;
  json out = {{"created", json::array()}, {"updated", json::array()}, {"deleted", json::array()},
              {"archived", json::array()}, {"unarchived", json::array()}, {"restored", json::array()},
              {"pinned", json::array()}, {"cycled", json::array()}};

  Mutation(SimState& s, Seeder& sd, WorkspaceKey k) : state(s), seeder(sd), key(k), ws(s.workspace(k)) {}

  // A random project among those `eligible` allows, or nullopt when none is.
  template <class Eligible>
  std::optional<Id> pick(Eligible eligible) {
    std::vector<Id> ids;
    for (const auto& [id, p] : ws.projects)
      if (eligible(p)) ids.push_back(id);
    if (ids.empty()) return std::nullopt;
    return ids[std::uniform_int_distribution<std::size_t>(0, ids.size() - 1)(seeder.rng())];
  }

  // n times: pick an eligible project, change it, and list it under `what`
  // (fewer when the workspace runs out of eligible ones).
  template <class Eligible, class Change>
  void repeat(std::int64_t n, const char* what, Eligible eligible, Change change) {
    for (; n > 0; --n)
      if (auto id = pick(eligible)) {
        change(*id);
        out[what].push_back(*id);
      }
  }

  // n seeded projects, new and active, as other users would create them.
  void random_creates(std::int64_t n) {
    for (; n > 0; --n) {
      auto& p = seeder.add_project(state, ws, state.next_write_time(), true);
      p.updated_at = p.created_at;
      p.active = true;
      p.archived_at.reset();
      out["created"].push_back(p.id);
    }
  }

  // One project as another user would make it: {"create": {"body": {...a
  // create's body...}, "creator": USER}} (creator: the workspace's second
  // user unless given; focus-sim's API keys create as its first).
  void create_as(const json& spec) {
    if (!spec.is_object() || !spec.contains("body") || !spec["body"].is_object())
      throw bad_request("mutate: 'create' must be {\"body\": {...}, \"creator\": USER}");
    Id creator = ws.users.size() > 1 ? ws.users[1] : ws.users.front();
    if (spec.contains("creator")) {
      if (!spec["creator"].is_number_integer()) throw bad_request("mutate: 'create.creator' must be an integer");
      creator = spec["creator"].get<Id>();
    }
    try {
      out["created"].push_back(state.create(key, model::decode_project_write(spec["body"]), creator).id);
    } catch (const model::DecodeError& e) {
      throw bad_request(std::string("mutate: 'create.body': ") + e.what());
    }
  }

  // "parents": {"1000": 1001, "1001": null} sets parent_project_id as given,
  // unchecked: how a test makes the server hold a parent cycle. focus-sim's
  // own children/parents and parent checks assume there is none.
  void reparent(const json& parents) {
    if (!parents.is_object()) throw bad_request("mutate: 'parents' must map project ids to a parent id or null");
    out["reparented"] = json::array();
    for (const auto& [id_text, parent] : parents.items()) {
      auto found = ws.projects.find(std::strtoll(id_text.c_str(), nullptr, 10));
      if (found == ws.projects.end() || !(parent.is_null() || parent.is_number_integer()))
        throw bad_request("mutate: 'parents' names no project " + id_text + " or a parent that is not an id or null");
      found->second.parent_project_id = parent.is_null() ? std::nullopt : std::optional<Id>(parent.get<Id>());
      found->second.updated_at = state.next_write_time();
      out["reparented"].push_back(found->first);
    }
  }

  // "cycle": two live projects made each other's parent. The two picks are
  // drawn even for "cycle": false, as they always were.
  void cycle(const json& flag) {
    if (!flag.is_boolean()) throw bad_request("mutate: 'cycle' must be true or false");
    auto first = pick(live);
    auto second = first ? pick([&](const model::Project& p) { return live(p) && p.id != *first; }) : std::nullopt;
    if (flag.get<bool>() && second) {
      state.make_cycle(key, *first, *second);
      out["cycled"] = {*first, *second};
    }
  }
};

}  // namespace

bool ControlRoutes::is_control_path(const http::Target& t) { return !t.segments.empty() && t.segments[0] == "_sim"; }

http::Response ControlRoutes::serve(const http::Request& request, const http::Target& target) {
  std::string what = target.segments.size() == 2 ? target.segments[1] : "";
  try {
    return dispatch(request, what);
  } catch (const ApiError& e) {
    return json_error(e.status(), e.what());
  }
}

http::Response ControlRoutes::dispatch(const http::Request& req, const std::string& what) {
  const std::string m = req.method == "HEAD" ? "GET" : req.method;  // the server leaves the body out
  auto body = [&] {
    json j = json::parse(req.body.empty() ? "{}" : req.body, nullptr, false);
    if (j.is_discarded() || !j.is_object()) throw bad_request("the body must be a JSON object");
    return j;
  };
  if (what == "stats" && m == "GET") return ok_json(stats_.to_json());
  if (what == "stats" && m == "DELETE") {
    stats_.reset();
    return ok_json(stats_.to_json());
  }
  if (what == "state" && m == "GET") return ok_json(state_json());
  if (what == "mutate" && m == "POST") return ok_json(mutate(body()));
  if (what == "faults" && m == "GET") return ok_json(to_json(faults_));
  if (what == "faults" && m == "PUT") {
    apply_json(faults_, body());
    return ok_json(to_json(faults_));
  }
  if (what == "quota" && m == "GET") return ok_json(quota_json());
  if (what == "quota" && m == "PUT") {
    json j = body();
    QuotaSettings s = quota_.settings();
    if (j.contains("limit")) {
      if (!j["limit"].is_number_integer() || j["limit"].get<std::int64_t>() < 0)
        throw bad_request("quota: 'limit' must be a non-negative integer");
      s.limit = j["limit"].get<std::int64_t>();
    }
    if (j.contains("window_seconds")) {
      if (!j["window_seconds"].is_number_integer() || j["window_seconds"].get<std::int64_t>() < 1)
        throw bad_request("quota: 'window_seconds' must be a positive integer");
      s.window = std::chrono::seconds(j["window_seconds"].get<std::int64_t>());
    }
    quota_.reconfigure(s);
    return ok_json(quota_json());
  }
  throw ApiError(404, "no such control route: " + m + " /_sim/" + what);
}

json ControlRoutes::quota_json() const {
  json windows = json::array();
  for (const auto& w : quota_.windows(QuotaBook::Clock::now()))
    windows.push_back({{"principal", w.principal}, {"organization_id", w.organization}, {"used", w.used},
                       {"resets_in", w.resets_in_seconds}});
  return {{"limit", quota_.settings().limit}, {"window_seconds", quota_.settings().window.count()}, {"windows", windows}};
}

json ControlRoutes::state_json() {
  json projects = json::array(), members = json::object();
  for (Workspace* ws : state_.workspaces()) {
    for (const auto& [id, p] : ws->projects) projects.push_back(model::encode_project(p));
    for (const auto& [id, m] : ws->members) members[std::to_string(id)] = model::encode_project_members(m);
  }
  return {{"projects", std::move(projects)}, {"members", std::move(members)}};
}

json ControlRoutes::mutate(const json& body) {
  Mutation m(state_, seeder_, mutate_target(state_, body));
  const auto key = m.key;
  m.random_creates(count_of(body, "creates"));
  if (auto it = body.find("create"); it != body.end()) m.create_as(*it);
  m.repeat(count_of(body, "updates"), "updated", live, [&](Id id) { state_.patch(key, id, seeder_.random_patch(m.ws)); });
  m.repeat(count_of(body, "deletes"), "deleted", live, [&](Id id) { state_.remove(key, id); });
  m.repeat(count_of(body, "archives"), "archived", [](const model::Project& p) { return !p.deleted_at && !p.archived_at; },
           [&](Id id) { state_.set_archived(key, id, true); });
  m.repeat(count_of(body, "unarchives"), "unarchived", [](const model::Project& p) { return !p.deleted_at && p.archived_at; },
           [&](Id id) { state_.set_archived(key, id, false); });
  m.repeat(count_of(body, "restores"), "restored", [](const model::Project& p) { return p.deleted_at.has_value(); },
           [&](Id id) { state_.restore(key, id); });
  if (auto it = body.find("parents"); it != body.end()) m.reparent(*it);
  m.repeat(count_of(body, "pins"), "pinned", [](const model::Project& p) { return !p.deleted_at && !p.pinned; },
           [&](Id id) { state_.set_pinned(key, id, true); });
  if (body.contains("touch_all")) {
    if (!body["touch_all"].is_boolean()) throw bad_request("mutate: 'touch_all' must be true or false");
    m.out["touched"] = body["touch_all"].get<bool>() ? state_.touch_live(key) : 0;
  }
  if (body.contains("cycle")) m.cycle(body["cycle"]);
  return std::move(m.out);
}

}  // namespace focus::sim
