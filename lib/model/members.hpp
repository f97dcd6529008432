#pragma once
// Project membership, as the members routes carry it:
//  - ProjectMembers: GET .../members (users and groups, each maybe a manager)
//  - MembersAdd: POST .../members (user_ids and/or group_ids, one role_id)
//  - MemberRoleChange: PUT .../members (one user or one group, its role_id)
//  - MemberRemoval: DELETE .../members (one user or one group)
// Decoders throw DecodeError naming the field; validate_* return the first
// problem. Pure functions; any thread.

#include "model/project.hpp"
#include "model/project_write.hpp"

#include <nlohmann/json_fwd.hpp>

#include <optional>
#include <vector>

namespace focus::model {

struct UserMember {
  Id user_id = 0;
  bool manager = false;
  bool operator==(const UserMember&) const = default;
};

struct GroupMember {
  Id group_id = 0;
  std::optional<bool> manager;
  bool operator==(const GroupMember&) const = default;
};

struct ProjectMembers {
  Id project_id = 0;
  std::vector<UserMember> user_ids;
  std::vector<GroupMember> group_ids;
  bool operator==(const ProjectMembers&) const = default;
};

struct MembersAdd {
  std::vector<Id> user_ids;
  std::vector<Id> group_ids;
  std::optional<Id> role_id;
  bool operator==(const MembersAdd&) const = default;
};

struct MemberRoleChange {
  std::optional<Id> user_id;
  std::optional<Id> group_id;
  std::optional<Id> role_id;
  bool operator==(const MemberRoleChange&) const = default;
};

struct MemberRemoval {
  std::optional<Id> user_id;
  std::optional<Id> group_id;
  bool operator==(const MemberRemoval&) const = default;
};

ProjectMembers decode_project_members(const nlohmann::json& value);
nlohmann::json encode_project_members(const ProjectMembers& members);

MembersAdd decode_members_add(const nlohmann::json& body);
nlohmann::json encode_members_add(const MembersAdd& body);
MemberRoleChange decode_member_role_change(const nlohmann::json& body);
nlohmann::json encode_member_role_change(const MemberRoleChange& body);
MemberRemoval decode_member_removal(const nlohmann::json& body);
nlohmann::json encode_member_removal(const MemberRemoval& body);

// Add needs at least one id; role change needs exactly one of user_id /
// group_id and a role_id; removal exactly one of user_id / group_id.
std::optional<FieldProblem> validate_members_add(const MembersAdd& body);
std::optional<FieldProblem> validate_member_role_change(const MemberRoleChange& body);
std::optional<FieldProblem> validate_member_removal(const MemberRemoval& body);

}  // namespace focus::model
