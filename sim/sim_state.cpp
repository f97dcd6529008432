#include "sim/sim_state.hpp"

#include "sim/api_error.hpp"

#include <algorithm>
#include <deque>
#include <set>

namespace focus::sim {

using model::Project;

namespace {

std::string project_label(Id id) { return "project " + std::to_string(id); }

}  // namespace

SimState::SimState(Id first_project_id) : next_id_(first_project_id) {}

Workspace& SimState::add_workspace(WorkspaceKey key) {
  auto& ws = workspaces_[key];
  ws.key = key;
  return ws;
}

Workspace& SimState::workspace(WorkspaceKey key) {
  auto it = workspaces_.find(key);
  if (it == workspaces_.end())
    throw not_found("workspace " + std::to_string(key.workspace_id) + " not found in organization " +
                    std::to_string(key.organization_id));
  return it->second;
}

std::vector<Workspace*> SimState::workspaces() {
  std::vector<Workspace*> out;
  for (auto& [key, ws] : workspaces_) out.push_back(&ws);
  return out;
}

Timestamp SimState::next_write_time() {
  Timestamp now = this->now();
  last_write_ = now > last_write_ ? now : last_write_ + std::chrono::microseconds(1);
  return last_write_;
}

void SimState::touch(Project& p) { p.updated_at = next_write_time(); }

Project& SimState::live(Workspace& ws, Id id) {
  auto it = ws.projects.find(id);
  if (it == ws.projects.end() || it->second.deleted_at) throw not_found(project_label(id) + " does not exist");
  return it->second;
}

bool SimState::visible_to_users(const Workspace& ws, const Project& p, const std::vector<Id>& users) const {
  if (!p.is_private) return true;
  auto m = ws.members.find(p.id);
  for (Id u : users) {
    if (p.toggl_user_id == u) return true;
    if (m != ws.members.end() &&
        std::any_of(m->second.user_ids.begin(), m->second.user_ids.end(),
                    [&](const model::UserMember& um) { return um.user_id == u; }))
      return true;
  }
  return false;
}

Page SimState::list(WorkspaceKey key, const ListQuery& q) {
  Workspace& ws = workspace(key);
  std::vector<const Project*> hits;
  for (const auto& [id, p] : ws.projects)
    if (!p.deleted_at && matches(p, q) && (q.user_ids.empty() || visible_to_users(ws, p, q.user_ids)))
      hits.push_back(&p);
  // The map is already in id order; only another order needs a sort.
  bool by_id = q.paging.order.empty() ||
               (q.paging.order.size() == 1 && q.paging.order[0].field == OrderKey::Field::id && !q.paging.order[0].descending);
  if (!by_id)
    std::stable_sort(hits.begin(), hits.end(),
                     [&](const Project* a, const Project* b) { return ordered_before(*a, *b, q.paging.order); });
  Page page{{}, q.paging.page, q.paging.per_page, static_cast<std::int64_t>(hits.size())};
  auto first = q.paging.offset();
  for (auto i = first; i < page.total && i - first < q.paging.per_page; ++i) page.items.push_back(hits[i]);
  return page;
}

const Project& SimState::get(WorkspaceKey ws, Id id) { return live(workspace(ws), id); }

void SimState::check_references(Workspace& ws, Id self, const std::optional<Id>& client_id,
                                const std::optional<Id>& parent_id, const std::vector<Id>& tag_ids) {
  if (client_id && !ws.clients.contains(*client_id))
    throw bad_request("client_id " + std::to_string(*client_id) + " does not exist in this workspace");
  for (Id t : tag_ids)
    if (!ws.tags.contains(t)) throw bad_request("tag_ids: tag " + std::to_string(t) + " does not exist in this workspace");
  if (!parent_id) return;
  auto parent = ws.projects.find(*parent_id);
  if (parent == ws.projects.end() || parent->second.deleted_at)
    throw bad_request("parent_project_id " + std::to_string(*parent_id) + " does not exist in this workspace");
  // Walk up from the new parent: meeting `self` would make a cycle. The walk
  // stops at a cycle already there (make_cycle puts one in the state).
  std::set<Id> seen;
  for (std::optional<Id> cur = parent_id; cur && seen.insert(*cur).second;) {
    if (*cur == self) throw bad_request("parent_project_id " + std::to_string(*parent_id) + " would make a cycle");
    auto it = ws.projects.find(*cur);
    cur = it == ws.projects.end() ? std::nullopt : it->second.parent_project_id;
  }
}

void SimState::resolve_references(Workspace& ws, Project& p) {
  p.client.reset();
  if (p.client_id) p.client = model::ClientRef{*p.client_id, ws.clients.at(*p.client_id)};
  p.tags.clear();
  for (Id t : p.tag_ids) p.tags.push_back(ws.tags.at(t));
  if (p.rate) {
    p.rate->project_id = p.id;
    p.rate->project_name = p.name;
    p.rate->project_color = p.color.value_or("");
  }
}

namespace {

void check_body(const std::optional<model::FieldProblem>& problem) {
  if (problem) throw bad_request(problem->message);
}

// PUT replaces every writable field: what the body leaves out is reset.
void assign_write(Project& p, const model::ProjectWrite& w) {
  p.name = *w.name;
  p.auto_compute_estimates = w.auto_compute_estimates.value_or(false);
  p.billable = w.billable.value_or(false);
  p.pinned = w.pinned.value_or(false);
  p.is_private = w.is_private.value_or(false);
  p.client_id = w.client_id;
  p.parent_project_id = w.parent_project_id;
  p.color = w.color;
  p.description = w.description;
  p.start_date = w.start_date;
  p.end_date = w.end_date;
  p.estimated_mins = w.estimated_mins;
  p.fixed_fee = w.fixed_fee;
  p.tag_ids = w.tag_ids.value_or(std::vector<Id>{});
}

void check_dates(const Project& p) {
  if (p.start_date && p.end_date && *p.end_date < *p.start_date)
    throw bad_request("field 'end_date' must not be before start_date");
}

}  // namespace

const Project& SimState::create(WorkspaceKey key, const model::ProjectWrite& body, Id creator) {
  check_body(model::validate_project_write(body));
  Workspace& ws = workspace(key);
  Id id = next_id_;
  check_references(ws, id, body.client_id, body.parent_project_id, body.tag_ids.value_or(std::vector<Id>{}));
  Project p;
  p.id = id;
  p.workspace_id = key.workspace_id;
  assign_write(p, body);
  p.created_at = next_write_time();
  p.updated_at = p.created_at;
  p.toggl_user_id = creator;
  p.permissions = {"view", "edit", "manage"};
  resolve_references(ws, p);
  ++next_id_;
  ws.members[id] = model::ProjectMembers{id, {{creator, true}}, {}};
  return ws.projects[id] = std::move(p);
}

const Project& SimState::update(WorkspaceKey key, Id id, const model::ProjectWrite& body) {
  Workspace& ws = workspace(key);
  Project& current = live(ws, id);
  check_body(model::validate_project_write(body));
  check_references(ws, id, body.client_id, body.parent_project_id, body.tag_ids.value_or(std::vector<Id>{}));
  Project next = current;
  assign_write(next, body);
  resolve_references(ws, next);
  touch(next);
  return current = std::move(next);
}

const Project& SimState::patch(WorkspaceKey key, Id id, const model::ProjectPatch& body) {
  Workspace& ws = workspace(key);
  Project& current = live(ws, id);
  check_body(model::validate_project_patch(body));
  Project next = current;
  model::apply_patch(next, body);
  check_dates(next);
  check_references(ws, id, body.client_id.has_value() ? body.client_id.as_optional() : std::nullopt,
                   body.parent_project_id.has_value() ? body.parent_project_id.as_optional() : std::nullopt,
                   body.tag_ids.has_value() ? body.tag_ids.value() : std::vector<Id>{});
  resolve_references(ws, next);
  touch(next);
  return current = std::move(next);
}

void SimState::remove(WorkspaceKey key, Id id) {
  Project& p = live(workspace(key), id);
  touch(p);
  p.deleted_at = p.updated_at;
}

void SimState::restore(WorkspaceKey key, Id id) {
  Workspace& ws = workspace(key);
  auto it = ws.projects.find(id);
  if (it == ws.projects.end()) throw not_found(project_label(id) + " does not exist");
  if (!it->second.deleted_at) throw bad_request(project_label(id) + " is not deleted");
  touch(it->second);
  it->second.deleted_at.reset();
}

void SimState::set_archived(WorkspaceKey key, Id id, bool archived) {
  Project& p = live(workspace(key), id);
  touch(p);
  p.active = !archived;
  if (archived && !p.archived_at) p.archived_at = p.updated_at;
  if (!archived) p.archived_at.reset();
}

void SimState::set_pinned(WorkspaceKey key, Id id, bool pinned) {
  Project& p = live(workspace(key), id);
  touch(p);
  p.pinned = pinned;
}

std::vector<const Project*> SimState::children(WorkspaceKey key, Id id) {
  Workspace& ws = workspace(key);
  std::vector<const Project*> out{&live(ws, id)};
  // Parent -> children index, built per call: trees are small next to lists.
  std::multimap<Id, const Project*> by_parent;
  for (const auto& [pid, p] : ws.projects)
    if (!p.deleted_at && p.parent_project_id) by_parent.emplace(*p.parent_project_id, &p);
  std::deque<Id> queue{id};
  std::set<Id> seen{id};  // a cycle in the state is walked once
  while (!queue.empty()) {
    auto [lo, hi] = by_parent.equal_range(queue.front());
    queue.pop_front();
    for (auto it = lo; it != hi; ++it) {
      if (!seen.insert(it->second->id).second) continue;
      out.push_back(it->second);
      queue.push_back(it->second->id);
    }
  }
  return out;
}

std::vector<const Project*> SimState::parents(WorkspaceKey key, Id id) {
  Workspace& ws = workspace(key);
  std::vector<const Project*> out{&live(ws, id)};
  std::set<Id> seen{id};  // a cycle in the state is walked once
  for (auto parent = out.back()->parent_project_id; parent && seen.insert(*parent).second;) {
    auto it = ws.projects.find(*parent);
    if (it == ws.projects.end() || it->second.deleted_at) break;
    out.push_back(&it->second);
    parent = it->second.parent_project_id;
  }
  return out;
}

void SimState::make_cycle(WorkspaceKey key, Id a, Id b) {
  Workspace& ws = workspace(key);
  Project &pa = live(ws, a), &pb = live(ws, b);
  pa.parent_project_id = b;
  pb.parent_project_id = a;
  touch(pa);
  touch(pb);
}

std::int64_t SimState::touch_live(WorkspaceKey key) {
  std::int64_t n = 0;
  for (auto& [id, p] : workspace(key).projects)
    if (!p.deleted_at) {
      touch(p);
      ++n;
    }
  return n;
}

const model::ProjectMembers& SimState::members(WorkspaceKey key, Id id) { return member_list(key, id); }

model::ProjectMembers& SimState::member_list(WorkspaceKey key, Id id) {
  Workspace& ws = workspace(key);
  live(ws, id);
  auto& m = ws.members[id];
  m.project_id = id;
  return m;
}

void SimState::add_members(WorkspaceKey key, Id id, const model::MembersAdd& body) {
  check_body(model::validate_members_add(body));
  Workspace& ws = workspace(key);
  live(ws, id);
  for (Id u : body.user_ids)
    if (std::find(ws.users.begin(), ws.users.end(), u) == ws.users.end())
      throw bad_request("user_ids: user " + std::to_string(u) + " is not in this workspace");
  for (Id g : body.group_ids)
    if (std::find(ws.groups.begin(), ws.groups.end(), g) == ws.groups.end())
      throw bad_request("group_ids: group " + std::to_string(g) + " is not in this workspace");
  bool manager = body.role_id == kManagerRole;
  auto& m = ws.members[id];
  m.project_id = id;
  for (Id u : body.user_ids) {
    auto it = std::find_if(m.user_ids.begin(), m.user_ids.end(), [&](auto& x) { return x.user_id == u; });
    if (it == m.user_ids.end()) m.user_ids.push_back({u, manager});
    else it->manager = manager;
  }
  for (Id g : body.group_ids) {
    auto it = std::find_if(m.group_ids.begin(), m.group_ids.end(), [&](auto& x) { return x.group_id == g; });
    if (it == m.group_ids.end()) m.group_ids.push_back({g, manager});
    else it->manager = manager;
  }
}

void SimState::change_member_role(WorkspaceKey key, Id id, const model::MemberRoleChange& body) {
  check_body(model::validate_member_role_change(body));
  auto& mm = member_list(key, id);
  bool manager = body.role_id == kManagerRole;
  if (body.user_id) {
    auto it = std::find_if(mm.user_ids.begin(), mm.user_ids.end(), [&](auto& x) { return x.user_id == *body.user_id; });
    if (it == mm.user_ids.end())
      throw not_found("user " + std::to_string(*body.user_id) + " is not a member of " + project_label(id));
    it->manager = manager;
  } else {
    auto it = std::find_if(mm.group_ids.begin(), mm.group_ids.end(), [&](auto& x) { return x.group_id == *body.group_id; });
    if (it == mm.group_ids.end())
      throw not_found("group " + std::to_string(*body.group_id) + " is not a member of " + project_label(id));
    it->manager = manager;
  }
}

void SimState::remove_member(WorkspaceKey key, Id id, const model::MemberRemoval& body) {
  check_body(model::validate_member_removal(body));
  auto& m = member_list(key, id);
  std::size_t before = m.user_ids.size() + m.group_ids.size();
  if (body.user_id) std::erase_if(m.user_ids, [&](auto& x) { return x.user_id == *body.user_id; });
  if (body.group_id) std::erase_if(m.group_ids, [&](auto& x) { return x.group_id == *body.group_id; });
  if (m.user_ids.size() + m.group_ids.size() == before)
    throw not_found(std::string(body.user_id ? "user " + std::to_string(*body.user_id)
                                             : "group " + std::to_string(*body.group_id)) +
                    " is not a member of " + project_label(id));
}

}  // namespace focus::sim
