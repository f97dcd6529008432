#pragma once
// focus-sim's world: the organizations' workspaces with their projects,
// clients, tags and project members, and every Focus operation's semantics
// over them (soft delete, archive, pin, trees, membership). Operations throw
// ApiError with the status and message the Focus API would answer; nothing is
// changed when they throw. Every write stamps a strictly increasing
// updated_at. Owned by the Simulator; single-threaded (the io_context thread).

#include "model/members.hpp"
#include "model/project.hpp"
#include "model/workspace.hpp"
#include "model/project_write.hpp"
#include "upstream/list_query.hpp"

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace focus::sim {

using model::ArchivedScope;
using model::ListQuery;
using model::OrderKey;
using model::Paging;
using model::matches;
using model::ordered_before;
using upstream::QueryError;
using upstream::parse_list_query;
using upstream::parse_paging;

using model::Id;

using model::WorkspaceKey;

struct Workspace {
  WorkspaceKey key;
  std::map<Id, model::Project> projects;  // deleted ones too (deleted_at set)
  std::map<Id, model::ProjectMembers> members;
  std::map<Id, std::string> clients;  // id -> name
  std::map<Id, model::Tag> tags;
  std::vector<Id> users;   // users of the workspace
  std::vector<Id> groups;  // groups of the workspace
};

struct Page {
  std::vector<const model::Project*> items;
  std::int64_t page = 1;
  std::int64_t per_page = 50;
  std::int64_t total = 0;
};

class SimState {
 public:
  // Role ids: kManagerRole makes a member a manager; any other is a plain member.
  static constexpr Id kManagerRole = 2;

  explicit SimState(Id first_project_id = 1000);

  Workspace& add_workspace(WorkspaceKey key);
  // Throws ApiError(404) for an unknown pair.
  Workspace& workspace(WorkspaceKey key);
  std::vector<Workspace*> workspaces();
  Id next_project_id() { return next_id_++; }
  // A write's updated_at: now, but always later than the previous one.
  Timestamp next_write_time();
  // The server's clock: the local one plus a skew (--clock-skew), which
  // every write time and the Date header of every answer follow.
  Timestamp now() const { return now_utc() + clock_skew_; }
  void set_clock_skew(std::chrono::seconds skew) { clock_skew_ = skew; }

  Page list(WorkspaceKey ws, const ListQuery& query);
  const model::Project& get(WorkspaceKey ws, Id id);
  const model::Project& create(WorkspaceKey ws, const model::ProjectWrite& body, Id creator);
  const model::Project& update(WorkspaceKey ws, Id id, const model::ProjectWrite& body);
  const model::Project& patch(WorkspaceKey ws, Id id, const model::ProjectPatch& body);
  void remove(WorkspaceKey ws, Id id);
  void restore(WorkspaceKey ws, Id id);
  void set_archived(WorkspaceKey ws, Id id, bool archived);
  void set_pinned(WorkspaceKey ws, Id id, bool pinned);
  // What no operation allows, for the hostile tests: `a` and `b` (live, distinct)
  // made each other's parent, both touched, without any check.
  void make_cycle(WorkspaceKey ws, Id a, Id b);
  // Every live project saved again unchanged: a new updated_at, nothing else.
  // Answers how many.
  std::int64_t touch_live(WorkspaceKey ws);
  // The project first, then its live descendants (breadth first) / ancestors,
  // each once even when the state holds a cycle.
  std::vector<const model::Project*> children(WorkspaceKey ws, Id id);
  std::vector<const model::Project*> parents(WorkspaceKey ws, Id id);

  const model::ProjectMembers& members(WorkspaceKey ws, Id id);
  void add_members(WorkspaceKey ws, Id id, const model::MembersAdd& body);
  void change_member_role(WorkspaceKey ws, Id id, const model::MemberRoleChange& body);
  void remove_member(WorkspaceKey ws, Id id, const model::MemberRemoval& body);

  // Sets the derived fields (client, tags) from the ids; used by the seeder.
  void resolve_references(Workspace& ws, model::Project& p);

 private:
  model::Project& live(Workspace& ws, Id id);  // 404 unless present and not deleted
  model::ProjectMembers& member_list(WorkspaceKey ws, Id id);  // 404 as live()
  void check_references(Workspace& ws, Id self, const std::optional<Id>& client_id,
                        const std::optional<Id>& parent_id, const std::vector<Id>& tag_ids);
  void touch(model::Project& p);
  bool visible_to_users(const Workspace& ws, const model::Project& p, const std::vector<Id>& users) const;

  std::map<WorkspaceKey, Workspace> workspaces_;
  Id next_id_;
  Timestamp last_write_{};
  std::chrono::seconds clock_skew_{0};
};

}  // namespace focus::sim
