// Every Focus operation through FocusApi against a real focus-sim, each
// result checked against the simulator's own state.
#include "fixture.hpp"
#include "model/project_codec.hpp"

#include <doctest/doctest.h>

using namespace focus;
using namespace focus::test;
using namespace focus::upstream;
using nlohmann::json;

namespace {

json state_project(SimProcess& sim, model::Id id) {
  json state = sim.control("GET", "state");
  for (auto& p : state["projects"])
    if (p["id"] == id) return p;
  return nullptr;
}

}  // namespace

TEST_CASE("list with every filter, get, and the full listing equals the simulator's state") {
  SimProcess sim({"--projects", "60", "--seed", "4", "--api-key", kKey});
  Upstream up(sim);
  ListParams all;
  all.archived = ArchivedFilter::all;
  all.paging.per_page = 200;
  all.include_rates = true;
  auto page = up(up.api->list_projects(up.ws, all));
  REQUIRE(page.ok());
  auto state = sim.control("GET", "state")["projects"];
  REQUIRE(page->total == static_cast<std::int64_t>(state.size()));
  for (std::size_t i = 0; i < state.size(); ++i) CHECK(page->data[i] == model::decode_project(state[i]));

  ListParams filtered;
  filtered.archived = ArchivedFilter::all;
  filtered.name = page->data[2].name.substr(0, 4);
  filtered.client_ids = {*page->data[0].client_id};
  filtered.paging.order_by = {"-updated_at"};
  auto some = up(up.api->list_projects(up.ws, filtered));
  REQUIRE(some.ok());
  for (const auto& p : some->data) {
    CHECK(p.client_id == page->data[0].client_id);
    CHECK(p.name.find(*filtered.name) != std::string::npos);
  }

  auto one = up(up.api->get_project(up.ws, page->data[7].id));
  REQUIRE(one.ok());
  CHECK(*one == page->data[7]);
}

TEST_CASE("create, update, patch (absent vs null on the wire), and the archive/pin/delete family") {
  SimProcess sim({"--projects", "5", "--api-key", kKey});
  Upstream up(sim);
  model::ProjectWrite body;
  body.name = "Via FocusApi";
  body.color = "#112233";
  body.description = "first";
  auto created = up(up.api->create_project(up.ws, body));
  REQUIRE(created.ok());
  REQUIRE(created->has_value());
  const model::Id id = (*created)->id;
  CHECK(state_project(sim, id)["name"] == "Via FocusApi");

  model::ProjectPatch patch;
  patch.color = model::PatchField<std::string>::null();
  patch.estimated_mins = model::PatchField<std::int64_t>::of(45);
  auto patched = up(up.api->patch_project(up.ws, id, patch));
  REQUIRE(patched.ok());
  auto s = state_project(sim, id);
  CHECK(s["color"].is_null());
  CHECK(s["estimated_mins"] == 45);
  CHECK(s["description"] == "first");  // absent: untouched

  model::ProjectWrite replacement;
  replacement.name = "Replaced";
  REQUIRE(up(up.api->update_project(up.ws, id, replacement)).ok());
  CHECK(state_project(sim, id)["description"].is_null());

  REQUIRE(up(up.api->archive_project(up.ws, id)).ok());
  CHECK_FALSE(state_project(sim, id)["archived_at"].is_null());
  REQUIRE(up(up.api->unarchive_project(up.ws, id)).ok());
  CHECK(state_project(sim, id)["archived_at"].is_null());
  REQUIRE(up(up.api->pin_project(up.ws, id)).ok());
  CHECK(state_project(sim, id)["pinned"] == true);
  REQUIRE(up(up.api->unpin_project(up.ws, id)).ok());
  CHECK(state_project(sim, id)["pinned"] == false);
  REQUIRE(up(up.api->delete_project(up.ws, id)).ok());
  auto gone = up(up.api->get_project(up.ws, id));
  REQUIRE_FALSE(gone.ok());
  CHECK(gone.error().is(Errc::not_found));
  CHECK(gone.error().message.find("does not exist") != std::string::npos);
  REQUIRE(up(up.api->restore_project(up.ws, id)).ok());
  CHECK(up(up.api->get_project(up.ws, id)).ok());
}

TEST_CASE("children, parents and members") {
  SimProcess sim({"--projects", "5", "--api-key", kKey});
  Upstream up(sim);
  model::ProjectWrite top;
  top.name = "Top";
  auto a = up(up.api->create_project(up.ws, top));
  REQUIRE(a.ok());
  model::ProjectWrite child;
  child.name = "Child";
  child.parent_project_id = (*a)->id;
  auto b = up(up.api->create_project(up.ws, child));
  REQUIRE(b.ok());
  auto kids = up(up.api->project_children(up.ws, (*a)->id, {}));
  REQUIRE(kids.ok());
  REQUIRE(kids->data.size() == 2);
  CHECK(kids->data[1].id == (*b)->id);
  CHECK_FALSE(kids->total);
  auto up_tree = up(up.api->project_parents(up.ws, (*b)->id, PageParams{1, 1, {}}));
  REQUIRE(up_tree.ok());
  CHECK(up_tree->data.size() == 1);
  CHECK(up_tree->per_page == 1);

  const model::Id id = (*a)->id;
  auto members = up(up.api->list_members(up.ws, id));
  REQUIRE(members.ok());
  model::Id creator = members->user_ids.at(0).user_id;
  model::Id other = creator + 1;  // seeded users are consecutive
  REQUIRE(up(up.api->add_members(up.ws, id, model::MembersAdd{{other}, {}, 2})).ok());
  REQUIRE(up(up.api->set_member_role(up.ws, id, model::MemberRoleChange{other, std::nullopt, 1})).ok());
  members = up(up.api->list_members(up.ws, id));
  CHECK(std::find(members->user_ids.begin(), members->user_ids.end(), model::UserMember{other, false}) !=
        members->user_ids.end());
  REQUIRE(up(up.api->remove_member(up.ws, id, model::MemberRemoval{other, std::nullopt})).ok());
  auto again = up(up.api->remove_member(up.ws, id, model::MemberRemoval{other, std::nullopt}));
  CHECK(again.error().is(Errc::not_found));
}

TEST_CASE("Basic auth works as well as a key") {
  SimProcess sim({"--projects", "2", "--user", "ada@example.com:pa55word"});
  Upstream up(sim, {}, Upstream::fast_retry(), Credentials::basic("ada@example.com", "pa55word", "(test)"));
  CHECK(up(up.api->list_projects(up.ws, {})).ok());
}
