#include "model/decode_error.hpp"
#include "model/members.hpp"

#include <doctest/doctest.h>

using namespace focus::model;
using nlohmann::json;

TEST_CASE("members round-trip, a group's manager flag may be null") {
  json j = json::parse(R"({"project_id": 5, "user_ids": [{"user_id": 1, "manager": true}],
                           "group_ids": [{"group_id": 8, "manager": null}]})");
  ProjectMembers m = decode_project_members(j);
  CHECK(m.user_ids == std::vector<UserMember>{{1, true}});
  CHECK(m.group_ids == std::vector<GroupMember>{{8, std::nullopt}});
  CHECK(encode_project_members(m) == j);
}

TEST_CASE("member bodies are validated") {
  CHECK(validate_members_add(decode_members_add(json{{"user_ids", {1}}, {"role_id", 2}})) == std::nullopt);
  CHECK(validate_members_add(decode_members_add(json::object()))->field == "user_ids");
  CHECK(validate_member_role_change(decode_member_role_change(json{{"user_id", 1}}))->message ==
        "field 'role_id' is required");
  CHECK(validate_member_role_change(decode_member_role_change(json{{"user_id", 1}, {"group_id", 2}, {"role_id", 1}}))
            ->message == "exactly one of fields 'user_id' and 'group_id' is required");
  CHECK(validate_member_removal(decode_member_removal(json{{"group_id", 3}})) == std::nullopt);
  CHECK_THROWS_WITH_AS(decode_members_add(json{{"user_ids", "1,2"}}),
                       "members body: field 'user_ids': expected array of integers, got string", DecodeError);
}
