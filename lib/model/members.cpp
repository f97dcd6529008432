#include "model/members.hpp"

#include "model/json_reader.hpp"

namespace focus::model {
namespace {

using nlohmann::json;
using detail::JsonReader;

// Reads an array of objects at `key`, calling `each` with a reader per item.
template <class Each>
void for_each_object(const JsonReader& r, std::string_view key, Each each) {
  auto v = r.find(key);
  if (!v || v->is_null()) return;
  if (!v->is_array()) r.type_error(key, *v, "array of objects");
  v->for_each_element([&](std::size_t i, const detail::NlohmannValue& item) {
    std::string item_key = std::string(key) + "[" + std::to_string(i) + "]";
    if (!item.is_object()) r.type_error(item_key, item, "object");
    each(JsonReader(item, r.what(), item_key + "."));
  });
}

std::optional<FieldProblem> positive(std::string_view field, std::optional<Id> id) {
  if (id && *id <= 0)
    return FieldProblem{std::string(field), "field '" + std::string(field) + "' must be a positive id"};
  return std::nullopt;
}

std::optional<FieldProblem> exactly_one_member(const std::optional<Id>& user,
                                               const std::optional<Id>& group) {
  if (user.has_value() == group.has_value())
    return FieldProblem{"user_id", "exactly one of fields 'user_id' and 'group_id' is required"};
  if (auto p = positive("user_id", user)) return p;
  return positive("group_id", group);
}

void put(json& j, const char* key, const std::optional<Id>& v) {
  if (v) j[key] = *v;
}

}  // namespace

ProjectMembers decode_project_members(const json& value) {
  JsonReader r = detail::object_reader(value, "project members");
  ProjectMembers m;
  m.project_id = r.optional_id("project_id").value_or(0);
  for_each_object(r, "user_ids", [&](const JsonReader& u) {
    m.user_ids.push_back(UserMember{u.required_id("user_id"), u.optional_bool("manager").value_or(false)});
  });
  for_each_object(r, "group_ids", [&](const JsonReader& g) {
    m.group_ids.push_back(GroupMember{g.required_id("group_id"), g.optional_bool("manager")});
  });
  return m;
}

json encode_project_members(const ProjectMembers& m) {
  json users = json::array(), groups = json::array();
  for (const auto& u : m.user_ids) users.push_back({{"user_id", u.user_id}, {"manager", u.manager}});
  for (const auto& g : m.group_ids)
    groups.push_back({{"group_id", g.group_id},
                      {"manager", g.manager ? json(*g.manager) : json(nullptr)}});
  return {{"project_id", m.project_id}, {"user_ids", users}, {"group_ids", groups}};
}

MembersAdd decode_members_add(const json& body) {
  JsonReader r = detail::object_reader(body, "members body");
  return MembersAdd{r.optional_id_array("user_ids").value_or(std::vector<Id>{}),
                    r.optional_id_array("group_ids").value_or(std::vector<Id>{}),
                    r.optional_id("role_id")};
}

json encode_members_add(const MembersAdd& b) {
  json j{{"user_ids", b.user_ids}, {"group_ids", b.group_ids}};
  put(j, "role_id", b.role_id);
  return j;
}

MemberRoleChange decode_member_role_change(const json& body) {
  JsonReader r = detail::object_reader(body, "member role body");
  return MemberRoleChange{r.optional_id("user_id"), r.optional_id("group_id"), r.optional_id("role_id")};
}

json encode_member_role_change(const MemberRoleChange& b) {
  json j = json::object();
  put(j, "user_id", b.user_id);
  put(j, "group_id", b.group_id);
  put(j, "role_id", b.role_id);
  return j;
}

MemberRemoval decode_member_removal(const json& body) {
  JsonReader r = detail::object_reader(body, "member removal body");
  return MemberRemoval{r.optional_id("user_id"), r.optional_id("group_id")};
}

json encode_member_removal(const MemberRemoval& b) {
  json j = json::object();
  put(j, "user_id", b.user_id);
  put(j, "group_id", b.group_id);
  return j;
}

std::optional<FieldProblem> validate_members_add(const MembersAdd& b) {
  if (b.user_ids.empty() && b.group_ids.empty())
    return FieldProblem{"user_ids", "at least one of fields 'user_ids' and 'group_ids' must name a member"};
  for (Id id : b.user_ids)
    if (auto p = positive("user_ids", id)) return p;
  for (Id id : b.group_ids)
    if (auto p = positive("group_ids", id)) return p;
  return positive("role_id", b.role_id);
}

std::optional<FieldProblem> validate_member_role_change(const MemberRoleChange& b) {
  if (auto p = exactly_one_member(b.user_id, b.group_id)) return p;
  if (!b.role_id) return FieldProblem{"role_id", "field 'role_id' is required"};
  return positive("role_id", b.role_id);
}

std::optional<FieldProblem> validate_member_removal(const MemberRemoval& b) {
  return exactly_one_member(b.user_id, b.group_id);
}

}  // namespace focus::model
