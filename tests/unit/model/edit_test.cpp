// The pure rules of local edits: bodies are checked and normalized, an edit's
// effect on a project is what the server would make of it, conflicts are
// the fields someone else moved, and consecutive edits collapse only when
// the result is the same.
#include "model/compaction.hpp"
#include "model/edit.hpp"
#include "model/project_codec.hpp"

#include <doctest/doctest.h>

using namespace focus;
using namespace focus::model;
using nlohmann::json;

namespace {

Project sample() {
  Project p;
  p.id = 7;
  p.workspace_id = 1;
  p.name = "Website";
  p.color = "#112233";
  p.client_id = 100;
  p.client = ClientRef{100, "Acme"};
  p.tag_ids = {1, 2};
  p.tags = {{1, "a", "#000000"}, {2, "b", "#000000"}};
  return p;
}

std::string problem_field(EditOp op, const json& body) {
  auto r = normalize_edit_body(op, body);
  auto* p = std::get_if<FieldProblem>(&r);
  return p ? p->field : "(valid)";
}

Collapse collapsed(QueuedEdit a, QueuedEdit b, std::optional<Project> before = sample()) {
  auto c = collapse(a, b, before);
  REQUIRE(c.has_value());
  return *c;
}

const Timestamp kNow = *parse_rfc3339("2026-11-27T10:00:00Z");

}  // namespace

TEST_CASE("operation names round-trip, and unknown names are refused") {
  for (auto op : {EditOp::create, EditOp::update, EditOp::patch, EditOp::remove, EditOp::archive, EditOp::unarchive,
                  EditOp::restore, EditOp::pin, EditOp::unpin, EditOp::members_add, EditOp::members_role,
                  EditOp::members_remove})
    CHECK(from_text<EditOp>(to_text(op)) == op);
  CHECK(to_text(EditOp::remove) == "delete");
  CHECK_FALSE(from_text<EditOp>("rename").has_value());
}

TEST_CASE("a bad body names the field that is wrong") {
  CHECK(problem_field(EditOp::create, {{"color", "#000000"}}) == "name");
  CHECK(problem_field(EditOp::create, {{"name", "x"}, {"color", "red"}}) == "color");
  CHECK(problem_field(EditOp::patch, {{"estimated_mins", "ten"}}) == "estimated_mins");
  CHECK(problem_field(EditOp::patch, {{"name", nullptr}}) == "name");
  CHECK(problem_field(EditOp::patch, json::object()) == "");  // names nothing to change
  CHECK(problem_field(EditOp::members_add, {{"role_id", 3}}) == "user_ids");
  CHECK(problem_field(EditOp::members_role, {{"user_id", 4}}) == "role_id");
  CHECK(problem_field(EditOp::create, {{"name", "child"}, {"parent_project_id", -3}}) == "(valid)");  // a temporary id
  CHECK(problem_field(EditOp::pin, nullptr) == "(valid)");
}

TEST_CASE("a normalized patch keeps null apart from absent and drops unknown keys") {
  auto r = normalize_edit_body(EditOp::patch, {{"color", nullptr}, {"name", "N"}, {"bogus", 1}});
  REQUIRE(std::holds_alternative<json>(r));
  CHECK(std::get<json>(r) == json{{"color", nullptr}, {"name", "N"}});
}

TEST_CASE("edits change a project as the server would") {
  Project p = sample();
  bool deleted = false;
  apply_edit(p, deleted, EditOp::patch, {{"name", "Renamed"}, {"client_id", nullptr}, {"tag_ids", {2}}}, kNow);
  CHECK(p.name == "Renamed");
  CHECK_FALSE(p.client_id.has_value());
  CHECK_FALSE(p.client.has_value());  // no stale client name left behind
  CHECK(p.tags.size() == 1);
  CHECK(p.color == "#112233");  // untouched
  CHECK(p.updated_at == kNow);

  apply_edit(p, deleted, EditOp::update, {{"name", "Put"}}, kNow);
  CHECK(p.name == "Put");
  CHECK_FALSE(p.color.has_value());  // PUT resets what it leaves out
  CHECK(p.tag_ids.empty());

  apply_edit(p, deleted, EditOp::archive, nullptr, kNow);
  CHECK(p.archived_at == kNow);
  CHECK_FALSE(p.active);
  apply_edit(p, deleted, EditOp::unarchive, nullptr, kNow);
  CHECK_FALSE(p.archived_at.has_value());
  apply_edit(p, deleted, EditOp::pin, nullptr, kNow);
  CHECK(p.pinned);
  apply_edit(p, deleted, EditOp::remove, nullptr, kNow);
  CHECK(deleted);
  apply_edit(p, deleted, EditOp::restore, nullptr, kNow);
  CHECK_FALSE(deleted);

  auto created = project_from_create(-4, 1, {{"name", "New"}, {"pinned", true}, {"parent_project_id", -2}}, kNow);
  CHECK(created.id == -4);
  CHECK(created.pinned);
  CHECK(created.parent_project_id == -2);
  CHECK(created.created_at == kNow);
}

TEST_CASE("a conflict is a touched field the server moved away from the base, to something else") {
  json base = encode_project(sample());
  json server = base;
  server["name"] = "Theirs";
  server["color"] = "#445566";
  CHECK(conflicting_fields(EditOp::patch, {{"name", "Mine"}}, base, server) == std::vector<std::string>{"name"});
  CHECK(conflicting_fields(EditOp::patch, {{"description", "x"}}, base, server).empty());  // untouched fields never conflict
  CHECK(conflicting_fields(EditOp::patch, {{"name", "Theirs"}}, base, server).empty());    // both want the same
  // A PUT touches every writable field.
  auto put = conflicting_fields(EditOp::update, {{"name", "Mine"}}, base, server);
  CHECK(put == std::vector<std::string>{"name", "color"});
  CHECK(conflicting_fields(EditOp::pin, nullptr, base, server).empty());

  CHECK(yield_fields(EditOp::patch, {{"name", "Mine"}, {"billable", true}}, {"name"}, server) == json{{"billable", true}});
  CHECK(yield_fields(EditOp::update, {{"name", "Mine"}}, {"name", "color"}, server) ==
        json{{"name", "Theirs"}, {"color", "#445566"}});
}

TEST_CASE("read-back: a project shows an edit when it carries every value the edit sets") {
  json server = encode_project(sample());
  CHECK(edit_applied_to(EditOp::patch, {{"name", "Website"}}, server));
  CHECK_FALSE(edit_applied_to(EditOp::patch, {{"name", "Other"}}, server));
  CHECK(edit_applied_to(EditOp::patch, {{"description", nullptr}}, server));
  // A create is compared with everything it sets (its defaults included).
  CHECK_FALSE(edit_applied_to(EditOp::create, {{"name", "Website"}}, server));  // the server has a colour, the body none
  CHECK(edit_applied_to(EditOp::create, {{"name", "Website"}, {"color", "#112233"}, {"client_id", 100}, {"tag_ids", {1, 2}}},
                        server));
}

TEST_CASE("compaction: a create absorbs what follows it, and a delete cancels it") {
  QueuedEdit create{EditOp::create, {{"name", "A"}, {"color", "#000000"}}};
  auto c = collapsed(create, {EditOp::patch, {{"name", "B"}, {"color", nullptr}}}, std::nullopt);
  CHECK(c.kind == Collapse::Kind::merge);
  CHECK(c.merged.op == EditOp::create);
  CHECK(c.merged.body == json{{"name", "B"}});
  CHECK(c.rule == "create + patch -> create");

  c = collapsed(create, {EditOp::pin, nullptr}, std::nullopt);
  CHECK(c.merged.body["pinned"] == true);
  c = collapsed(create, {EditOp::update, {{"name", "C"}}}, std::nullopt);
  CHECK(c.merged.body == json{{"name", "C"}});
  CHECK(collapsed(create, {EditOp::remove, nullptr}, std::nullopt).kind == Collapse::Kind::cancel_both);
  // An archive cannot be said in a create body: both stay.
  CHECK_FALSE(collapse(create, {EditOp::archive, nullptr}, std::nullopt).has_value());
}

TEST_CASE("compaction: patches merge, later values winning; a PUT replaces a patch") {
  auto c = collapsed({EditOp::patch, {{"name", "A"}, {"color", "#111111"}}}, {EditOp::patch, {{"name", "B"}}});
  CHECK(c.kind == Collapse::Kind::merge);
  CHECK(c.merged.body == json{{"name", "B"}, {"color", "#111111"}});
  CHECK(collapsed({EditOp::patch, {{"name", "A"}}}, {EditOp::update, {{"name", "B"}}}).kind == Collapse::Kind::keep_second);
  c = collapsed({EditOp::update, {{"name", "A"}}}, {EditOp::patch, {{"billable", true}}});
  CHECK(c.merged.op == EditOp::update);
  CHECK(c.merged.body == json{{"name", "A"}, {"billable", true}});
}

TEST_CASE("compaction: flag round trips vanish only when the project started in the final state") {
  Project unpinned = sample();
  CHECK(collapsed({EditOp::pin, nullptr}, {EditOp::unpin, nullptr}, unpinned).kind == Collapse::Kind::cancel_both);
  Project pinned = sample();
  pinned.pinned = true;
  // Pinned to begin with: pin (no-op) + unpin leaves it unpinned; the unpin must still be sent.
  CHECK(collapsed({EditOp::pin, nullptr}, {EditOp::unpin, nullptr}, pinned).kind == Collapse::Kind::keep_second);
  CHECK(collapsed({EditOp::archive, nullptr}, {EditOp::unarchive, nullptr}, sample()).kind == Collapse::Kind::cancel_both);
  CHECK(collapsed({EditOp::remove, nullptr}, {EditOp::restore, nullptr}).kind == Collapse::Kind::cancel_both);
  CHECK(collapsed({EditOp::patch, {{"name", "x"}}}, {EditOp::remove, nullptr}).kind == Collapse::Kind::keep_second);
  CHECK_FALSE(collapse({EditOp::patch, {{"name", "x"}}}, {EditOp::pin, nullptr}, sample()).has_value());
  CHECK_FALSE(collapse({EditOp::members_add, {{"user_ids", {1}}}}, {EditOp::patch, {{"name", "x"}}}, sample()).has_value());
}
