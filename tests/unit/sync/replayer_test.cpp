// Offline edits against a real focus-sim and a real SQLite file: every
// operation queued while the server is unreachable reaches it exactly once
// when it is back; reads show edits at once; temporary ids chain; compaction
// saves requests; conflicts follow the policy; failures block nothing; lost
// answers are read back, never blindly resent.
#include "core/utf8.hpp"
#include "http/client.hpp"
#include "http/server.hpp"
#include "model/project_codec.hpp"
#include "store/database.hpp"
#include "store/edit_queue.hpp"
#include "store/mirror.hpp"
#include "support/sync_parts.hpp"
#include "sync/puller.hpp"
#include "sync/replayer.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <thread>

using namespace focus;
using namespace focus::test;
using model::EditOp;
using model::Id;
using nlohmann::json;
using store::EditState;

namespace {

struct World : SyncParts {
  explicit World(config::ConflictPolicy policy = config::ConflictPolicy::manual, std::vector<std::string> more_sim_args = {})
      : SyncParts({sim_args(std::move(more_sim_args)), with_policy(policy), std::chrono::seconds(5), quick_retries(),
                   "focus-replay-"}) {}
  static config::Sync with_policy(config::ConflictPolicy policy) {
    config::Sync s;
    s.conflicts = policy;
    return s;
  }
  static upstream::RetryPolicy quick_retries() {
    upstream::RetryPolicy quick;
    quick.base = std::chrono::milliseconds(5);
    quick.cap = std::chrono::milliseconds(20);
    return quick;
  }
  static std::vector<std::string> sim_args(std::vector<std::string> more) {
    std::vector<std::string> args{"--projects", "30", "--seed", "4"};
    args.insert(args.end(), more.begin(), more.end());
    return args;
  }

  void pull() {
    auto r = run(io, puller->full_sync(ws));
    REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message));
    replayer->mirror_changed(ws);
  }
  sync::ReplayReport replay() { return run(io, replayer->replay(ws)); }
  // Back online after an outage: unknown outcomes are read back, then the rest
  // is sent; an edit that was backing off is made due.
  sync::ReplayReport sync_and_replay() {
    pull();
    return replay();
  }

  store::Submitted submit(EditOp op, Id id, json body = nullptr) {
    return queue->submit(key, op, id, body, now_utc());
  }
  store::EditRecord edit(store::EditId id) { return queue->get(id).value(); }
  std::optional<json> view(Id id) {
    auto v = queue->view(key, id);
    if (!v || v->deleted) return std::nullopt;
    return json::parse(v->body);
  }

  void offline(bool on) { sim.control("PUT", "faults", {{"offline", on}}); }
  void faults(json f) { sim.control("PUT", "faults", f); }
  // Every project the server has, deleted ones too, by id.
  std::map<Id, json> server() {
    std::map<Id, json> out;
    json state = sim.control("GET", "state");
    for (auto& p : state["projects"]) out.emplace(p["id"].get<Id>(), p);
    return out;
  }
  json server(Id id) { return server().at(id); }
  std::vector<json> named(const std::string& name) {
    std::vector<json> out;
    for (auto& [id, p] : server())
      if (p["name"] == name && p["deleted_at"].is_null()) out.push_back(p);
    return out;
  }
  std::int64_t route_count(const std::string& route) {
    auto by = sim.control("GET", "stats")["by_route"];
    return by.contains(route) ? by[route].get<std::int64_t>() : 0;
  }
  // As another user: straight to the server, around the queue.
  json other_user_patch(Id id, json body) {
    auto r = run(io, api->patch_project(ws, id, model::decode_project_patch(body)));
    REQUIRE(r.ok());
    return model::encode_project(**r);
  }
  // As another user, a project of their own: created on the server, by
  // `creator` (the workspace's second user unless given).
  Id other_user_create(json body, std::optional<Id> creator = std::nullopt) {
    json spec = {{"body", std::move(body)}};
    if (creator) spec["creator"] = *creator;
    return sim.control("POST", "mutate", {{"create", spec}})["created"].at(0).get<Id>();
  }
  // One create whose answer comes back: the replayer learns this key's user.
  void learn_own_user() {
    submit(EditOp::create, 0, {{"name", "Warm-up " + std::to_string(warmups++)}});
    replay();
    REQUIRE(queue->own_user(ws.organization_id, api->key_id()).has_value());
  }
  // Live projects of the mirror that satisfy `pred`, by id.
  std::vector<Id> mirror_ids(const std::function<bool(const model::Project&)>& pred) {
    std::vector<Id> out;
    for (auto& body : mirror->live_bodies(key)) {
      auto p = model::decode_project(std::string_view(body));
      if (pred(p)) out.push_back(p.id);
    }
    return out;
  }

  WorkspaceKey ws{1, 1};
  store::WorkspaceKey key{1, 1};
  int warmups = 0;
};

auto any = [](const model::Project&) { return true; };

}  // namespace

// One of each operation, queued while the server is unreachable, against
// targets prepared on the server: live, archived, pinned by someone else and
// deleted by someone else.
struct EveryOperationOffline {
  explicit EveryOperationOffline(World& w) : w(w) {
    w.pull();
    live = w.mirror_ids([](const model::Project& p) { return !p.archived_at && !p.pinned; });
    REQUIRE(live.size() >= 8);
    archived = w.mirror_ids([](const model::Project& p) { return p.archived_at.has_value(); });
    REQUIRE(!archived.empty());
    // One project pinned and one deleted by someone else, so unpin and restore have targets.
    w.other_user_patch(live[7], {{"pinned", true}});
    gone = w.sim.control("POST", "mutate", {{"deletes", 1}})["deleted"][0].get<Id>();
    w.pull();
    REQUIRE(w.mirror->row(w.key, gone)->deleted);
  }

  void queue_one_of_each() {
    w.offline(true);
    created = w.submit(EditOp::create, 0, {{"name", "Offline project"}, {"color", "#abcdef"}});
    put = w.submit(EditOp::update, live[0], {{"name", "Replaced"}, {"billable", true}});
    patched = w.submit(EditOp::patch, live[1], {{"description", "written on a train"}});
    w.submit(EditOp::remove, live[2]);
    w.submit(EditOp::archive, live[3]);
    w.submit(EditOp::unarchive, archived[0]);
    w.submit(EditOp::restore, gone);
    w.submit(EditOp::pin, live[4]);
    w.submit(EditOp::unpin, live[7]);
    w.submit(EditOp::members_add, live[5], {{"user_ids", {1520, 1521}}, {"role_id", 2}});
    w.submit(EditOp::members_role, live[5], {{"user_id", 1520}, {"role_id", 3}});
    w.submit(EditOp::members_remove, live[5], {{"user_id", 1521}});
  }

  void check_reads_show_every_edit() {
    CHECK(created.edit.project_id < 0);
    REQUIRE(created.project);
    CHECK(json::parse(*created.project)["id"] == created.edit.project_id);
    CHECK(w.view(created.edit.project_id).value()["color"] == "#abcdef");
    CHECK(json::parse(*put.project)["billable"] == true);
    CHECK(w.view(live[1]).value()["description"] == "written on a train");
    CHECK_FALSE(w.view(live[2]).has_value());
    CHECK_FALSE(w.view(live[3]).value()["archived_at"].is_null());
    CHECK(w.view(archived[0]).value()["archived_at"].is_null());
    CHECK(w.view(gone).has_value());
    CHECK(w.view(live[4]).value()["pinned"] == true);
    CHECK(w.view(live[7]).value()["pinned"] == false);
  }

  // Returns the server's id of the one project the create made.
  Id check_server_has_every_edit() {
    auto made = w.named("Offline project");
    REQUIRE(made.size() == 1);  // exactly once, even though the first try was cut off
    CHECK(made[0]["color"] == "#abcdef");
    CHECK(w.edit(created.edit.id).result_id == made[0]["id"].get<Id>());
    CHECK(w.server(live[0])["name"] == "Replaced");
    CHECK(w.server(live[0])["color"].is_null());  // PUT resets what it leaves out
    CHECK(w.server(live[1])["description"] == "written on a train");
    CHECK_FALSE(w.server(live[2])["deleted_at"].is_null());
    CHECK_FALSE(w.server(live[3])["archived_at"].is_null());
    CHECK(w.server(archived[0])["archived_at"].is_null());
    CHECK(w.server(gone)["deleted_at"].is_null());
    CHECK(w.server(live[4])["pinned"] == true);
    CHECK(w.server(live[7])["pinned"] == false);
    json state = w.sim.control("GET", "state");
    json members = state["members"][std::to_string(live[5])]["user_ids"];
    bool has_1520 = false, has_1521 = false;
    for (auto& m : members) {
      if (m["user_id"] == 1520) has_1520 = m["manager"] == false;  // added as manager, then made a member
      if (m["user_id"] == 1521) has_1521 = true;
    }
    CHECK(has_1520);
    CHECK_FALSE(has_1521);
    return made[0]["id"].get<Id>();
  }

  World& w;
  std::vector<Id> live, archived;
  Id gone = 0;
  store::Submitted created, put, patched;
};

TEST_CASE("every operation queued offline is visible at once and reaches the server once it is back") {
  World w;
  EveryOperationOffline ops(w);
  ops.queue_one_of_each();
  ops.check_reads_show_every_edit();

  auto offline_report = w.replay();
  CHECK(offline_report.stopped.has_value());  // the server is unreachable: nothing settles
  CHECK(w.queue->counts().done == 0);

  w.offline(false);
  auto report = w.sync_and_replay();
  CHECK_FALSE(report.stopped.has_value());
  auto counts = w.queue->counts();
  CHECK(counts.pending + counts.unknown_outcome + counts.in_flight + counts.conflict + counts.failed == 0);
  CHECK(counts.done == 12);
  const Id made = ops.check_server_has_every_edit();

  // Reads now come from the mirror, with the server's values: no overlay is left.
  const auto& live = ops.live;
  for (Id id : {live[0], live[1], live[3], live[4]}) CHECK_FALSE(w.queue->view(w.key, id)->from_overlay);
  CHECK(w.view(live[1]).value() == w.server(live[1]));
  CHECK(w.queue->view(w.key, ops.patched.edit.project_id)->body == w.mirror->row(w.key, live[1])->body);
  // The temporary id still finds the project.
  CHECK(w.queue->real_id_for(w.key, ops.created.edit.project_id) == made);
  // Watchers learn of every settled edit.
  int settled = 0;
  for (auto& c : w.mirror->changes_since(0, 10000))
    if (to_text(c.kind) == "edit" && json::parse(*c.detail)["state"] == "done") ++settled;
  CHECK(settled == 12);
}

TEST_CASE("temporary ids chain: a parent, a child under it and a grandchild, all made offline") {
  World w;
  w.pull();
  w.offline(true);
  auto parent = w.submit(EditOp::create, 0, {{"name", "Parent (offline)"}});
  Id tp = parent.edit.project_id;
  auto child = w.submit(EditOp::create, 0, {{"name", "Child (offline)"}, {"parent_project_id", tp}});
  Id tc = child.edit.project_id;
  auto grandchild = w.submit(EditOp::create, 0, {{"name", "Grandchild (offline)"}, {"parent_project_id", tc}});
  w.submit(EditOp::patch, tp, {{"color", "#010203"}});
  w.submit(EditOp::patch, tc, {{"description", "under a parent that does not exist yet"}});
  auto archive = w.submit(EditOp::archive, tp);  // cannot fold into the create: it waits for the real id
  CHECK(w.view(tc).value()["parent_project_id"] == tp);
  CHECK(w.view(tp).value()["color"] == "#010203");
  CHECK_THROWS_AS(w.submit(EditOp::create, 0, {{"name", "x"}, {"parent_project_id", -999}}), store::EditRejected);

  w.offline(false);
  auto report = w.sync_and_replay();
  CHECK(report.compacted == 2);  // each patch folded into its create
  CHECK(report.failed == 0);
  auto p = w.named("Parent (offline)");
  auto c = w.named("Child (offline)");
  auto g = w.named("Grandchild (offline)");
  REQUIRE(p.size() == 1);
  REQUIRE(c.size() == 1);
  REQUIRE(g.size() == 1);
  Id real_parent = p[0]["id"].get<Id>(), real_child = c[0]["id"].get<Id>();
  CHECK(c[0]["parent_project_id"] == real_parent);
  CHECK(g[0]["parent_project_id"] == real_child);
  CHECK(p[0]["color"] == "#010203");
  CHECK_FALSE(p[0]["archived_at"].is_null());
  CHECK(c[0]["description"] == "under a parent that does not exist yet");
  // The queued archive was rewritten to the real id before it was sent.
  CHECK(w.edit(archive.edit.id).project_id == real_parent);
  CHECK(w.edit(grandchild.edit.id).state == EditState::done);
  // Tools that kept the temporary id still reach the project.
  auto later = w.submit(EditOp::patch, tc, {{"billable", true}});
  CHECK(later.edit.project_id == real_child);
  w.replay();
  CHECK(w.server(real_child)["billable"] == true);
}

TEST_CASE("compaction saves requests: nothing is sent for edits that cancel out") {
  World w;
  w.pull();
  auto plain = w.mirror_ids([](const model::Project& p) { return !p.pinned && !p.archived_at; });
  REQUIRE(plain.size() >= 3);
  auto before = w.server(plain[0]);
  w.offline(true);
  w.submit(EditOp::pin, plain[0]);
  w.submit(EditOp::unpin, plain[0]);
  w.submit(EditOp::archive, plain[0]);
  w.submit(EditOp::unarchive, plain[0]);
  auto t = w.submit(EditOp::create, 0, {{"name", "Never sent"}});
  w.submit(EditOp::patch, t.edit.project_id, {{"color", "#000000"}});
  w.submit(EditOp::remove, t.edit.project_id);
  w.submit(EditOp::patch, plain[1], {{"name", "First"}});
  w.submit(EditOp::patch, plain[1], {{"name", "Second"}, {"billable", true}});
  w.submit(EditOp::patch, plain[1], {{"description", "Third"}});
  CHECK_FALSE(w.view(t.edit.project_id).has_value());

  w.offline(false);
  w.pull();
  auto patches_before = w.route_count("PATCH /projects/{id}");
  auto report = w.replay();
  CHECK(report.compacted == 6);
  CHECK(report.requests == 1);  // one PATCH for the three patches; nothing for the rest
  CHECK(w.route_count("PATCH /projects/{id}") == patches_before + 1);
  CHECK(w.route_count("POST /projects") == 0);
  CHECK(w.named("Never sent").empty());
  auto after = w.server(plain[1]);
  CHECK(after["name"] == "Second");
  CHECK(after["billable"] == true);
  CHECK(after["description"] == "Third");
  CHECK(w.server(plain[0])["updated_at"] == before["updated_at"]);  // never touched
  CHECK(w.queue->counts().done == 10);
}

TEST_CASE("a conflict retried while the server still differs is refused, and sent once the server agrees") {
  World w;
  w.pull();
  auto ids = w.mirror_ids(any);
  const auto original = w.server(ids[0])["name"].get<std::string>();
  auto mine = w.submit(EditOp::patch, ids[0], {{"name", "Mine"}});
  w.other_user_patch(ids[0], {{"name", "Theirs"}});
  w.pull();
  w.replay();
  REQUIRE(w.edit(mine.edit.id).state == EditState::conflict);
  // Retried now, it would be back in conflict before anything was sent:
  // refused, with the field and the way to settle it.
  try {
    w.queue->retry(mine.edit.id, now_utc());
    FAIL("a standing conflict was accepted for a retry");
  } catch (const store::EditRejected& e) {
    CHECK(e.status() == 409);
    CHECK(std::string(e.what()).find("name") != std::string::npos);
    CHECK(std::string(e.what()).find("resolve") != std::string::npos);
  }
  CHECK(w.edit(mine.edit.id).state == EditState::conflict);
  // Where the replayer settles conflicts itself ([sync] conflicts =
  // "local_wins" or "remote_wins"), a retry is taken.
  w.queue->retry(mine.edit.id, now_utc(), /*conflicts_wait_for_user=*/false);
  CHECK(w.edit(mine.edit.id).state == EditState::pending);
  // The other user puts the name back: the edit's base holds again, and a retry sends it.
  w.other_user_patch(ids[0], {{"name", original}});
  w.pull();
  w.queue->retry(mine.edit.id, now_utc());
  w.replay();
  CHECK(w.edit(mine.edit.id).state == EditState::done);
  CHECK(w.server(ids[0])["name"] == "Mine");
}

TEST_CASE("conflicts: manual waits for the user, who may take local, remote or a new body") {
  World w;  // manual is the default policy
  w.pull();
  auto ids = w.mirror_ids(any);
  auto mine = w.submit(EditOp::patch, ids[0], {{"name", "Mine"}, {"billable", true}});
  w.other_user_patch(ids[0], {{"name", "Theirs"}, {"description", "their note"}});
  w.pull();
  auto report = w.replay();
  CHECK(report.conflicts == 1);
  auto e = w.edit(mine.edit.id);
  CHECK(e.state == EditState::conflict);
  CHECK(e.last_error->find("field 'name'") != std::string::npos);
  CHECK(e.last_error->find("\"Theirs\"") != std::string::npos);
  CHECK(w.server(ids[0])["name"] == "Theirs");        // nothing was sent
  CHECK(w.view(ids[0]).value()["name"] == "Mine");    // the local view keeps the edit, visibly
  // A later edit of the same project waits behind it; other projects do not.
  auto behind = w.submit(EditOp::pin, ids[0]);
  auto other = w.submit(EditOp::patch, ids[1], {{"name", "Unrelated"}});
  w.replay();
  CHECK(w.edit(behind.edit.id).state == EditState::pending);
  CHECK(w.edit(other.edit.id).state == EditState::done);

  SUBCASE("take local: the edit is sent as it was") {
    w.queue->settle_by_user(mine.edit.id, {store::Resolution::Take::local, {}}, now_utc());
    w.replay();
    CHECK(w.server(ids[0])["name"] == "Mine");
    CHECK(w.server(ids[0])["description"] == "their note");  // a field the edit never touched is theirs
  }
  SUBCASE("take remote: only the fields not in conflict are sent") {
    w.queue->settle_by_user(mine.edit.id, {store::Resolution::Take::remote, {}}, now_utc());
    w.replay();
    CHECK(w.server(ids[0])["name"] == "Theirs");
    CHECK(w.server(ids[0])["billable"] == true);
  }
  SUBCASE("a new body, checked like any other") {
    CHECK_THROWS_AS(w.queue->settle_by_user(mine.edit.id, {store::Resolution::Take::body, {{"color", "blue"}}}, now_utc()),
                    store::EditRejected);
    CHECK(w.edit(mine.edit.id).state == EditState::conflict);  // a rejected resolution changes nothing
    w.queue->settle_by_user(mine.edit.id, {store::Resolution::Take::body, {{"name", "Both of us"}}}, now_utc());
    w.replay();
    CHECK(w.server(ids[0])["name"] == "Both of us");
  }
  CHECK(w.edit(mine.edit.id).state == EditState::done);
  CHECK(w.edit(behind.edit.id).state == EditState::done);
  CHECK(w.server(ids[0])["pinned"] == true);
}

TEST_CASE("conflicts: local_wins sends the edit, remote_wins keeps the server's fields") {
  for (auto policy : {config::ConflictPolicy::local_wins, config::ConflictPolicy::remote_wins}) {
    CAPTURE(static_cast<int>(policy));
    World w(policy);
    w.pull();
    auto ids = w.mirror_ids(any);
    w.submit(EditOp::patch, ids[0], {{"name", "Mine"}, {"billable", true}});
    w.other_user_patch(ids[0], {{"name", "Theirs"}, {"description", "their note"}});
    w.pull();
    auto report = w.replay();
    CHECK(report.conflicts == 0);
    auto server = w.server(ids[0]);
    CHECK(server["name"] == (policy == config::ConflictPolicy::local_wins ? "Mine" : "Theirs"));
    CHECK(server["billable"] == true);               // not in conflict: sent either way
    CHECK(server["description"] == "their note");    // untouched: never overwritten
    CHECK(w.queue->counts().done == 1);
  }
}

TEST_CASE("a refused edit fails alone, with the server's words, and its overlay goes") {
  World w;
  w.pull();
  auto ids = w.mirror_ids(any);
  auto bad = w.submit(EditOp::patch, ids[0], {{"client_id", 987654}});
  auto good = w.submit(EditOp::patch, ids[1], {{"name", "Fine"}});
  auto bad_create = w.submit(EditOp::create, 0, {{"name", "Bad child"}, {"tag_ids", {424242}}});
  auto dependent = w.submit(EditOp::archive, bad_create.edit.project_id);
  auto report = w.replay();
  CHECK(report.failed == 2);  // the two the server refused (the archive of the bad create fails with it)
  auto failed = w.edit(bad.edit.id);
  CHECK(failed.state == EditState::failed);
  CHECK(failed.last_error->find("987654") != std::string::npos);  // the server's message
  CHECK(w.edit(good.edit.id).state == EditState::done);
  CHECK(w.edit(dependent.edit.id).state == EditState::failed);
  CHECK(w.server(ids[1])["name"] == "Fine");
  CHECK(w.view(ids[0]).value() == json::parse(w.mirror->row(w.key, ids[0])->body));  // back to the server's version
  CHECK_FALSE(w.view(bad_create.edit.project_id).has_value());
  // Nothing queued for a bad request in the first place.
  auto before = w.queue->counts();
  CHECK_THROWS_AS(w.submit(EditOp::patch, ids[2], {{"estimated_mins", -5}}), store::EditRejected);
  CHECK_THROWS_AS(w.submit(EditOp::patch, 99999999, {{"name", "x"}}), store::EditRejected);
  CHECK_THROWS_AS(w.submit(EditOp::restore, ids[2]), store::EditRejected);
  auto after = w.queue->counts();
  CHECK(after.pending == before.pending);
  CHECK(after.failed == before.failed);
}

TEST_CASE("a lost answer is read back: an applied edit is never sent twice, an unapplied one is") {
  World w;
  w.pull();
  auto ids = w.mirror_ids(any);
  w.faults({{"drop_rate", 1}});  // applied, then the connection is closed unanswered
  auto create = w.submit(EditOp::create, 0, {{"name", "Answer lost"}, {"billable", true}});
  auto patch = w.submit(EditOp::patch, ids[0], {{"name", "Patched, answer lost"}});
  w.replay();
  CHECK(w.edit(create.edit.id).state == EditState::unknown_outcome);
  w.faults({{"drop_rate", 0}});
  auto posts = w.route_count("POST /projects");
  auto patches = w.route_count("PATCH /projects/{id}");
  w.replay();
  CHECK(w.route_count("POST /projects") == posts);      // found by name, not created again
  CHECK(w.route_count("PATCH /projects/{id}") <= patches + 1);
  CHECK(w.named("Answer lost").size() == 1);
  auto settled = w.edit(create.edit.id);
  CHECK(settled.state == EditState::done);
  CHECK(settled.note->find("proven applied") != std::string::npos);
  CHECK(w.server(ids[0])["name"] == "Patched, answer lost");
  CHECK(w.edit(patch.edit.id).state == EditState::done);

  // A project of the same name that existed before does not fool the lookup.
  w.offline(true);
  auto twin = w.submit(EditOp::create, 0, {{"name", "Answer lost"}, {"billable", true}});
  w.replay();  // offline: sent, never answered, not applied
  CHECK(w.edit(twin.edit.id).state == EditState::unknown_outcome);
  w.offline(false);
  w.replay();
  CHECK(w.edit(twin.edit.id).state == EditState::done);
  CHECK(w.named("Answer lost").size() == 2);  // the second was really made, once
  CHECK(w.edit(twin.edit.id).result_id != settled.result_id);
}

TEST_CASE("a create whose answer was lost is found even after another user edited the new project") {
  // Found by the torture harness: the read-back wanted every value the create
  // set, so another user's edit in between made it send the create again.
  World w;
  w.pull();
  w.learn_own_user();  // so the read-back can tell the project is this key's own
  w.faults({{"drop_rate", 1}});
  auto create = w.submit(EditOp::create, 0, {{"name", "Edited by another"}, {"billable", true}});
  w.replay();
  REQUIRE(w.edit(create.edit.id).state == EditState::unknown_outcome);
  w.faults({{"drop_rate", 0}});
  REQUIRE(w.named("Edited by another").size() == 1);
  const Id made = w.named("Edited by another").at(0)["id"].get<Id>();
  w.other_user_patch(made, {{"billable", false}, {"color", "#101010"}});
  const auto posts = w.route_count("POST /projects");
  w.replay();
  CHECK(w.route_count("POST /projects") == posts);
  CHECK(w.named("Edited by another").size() == 1);
  CHECK(w.edit(create.edit.id).state == EditState::done);
  CHECK(w.edit(create.edit.id).result_id == made);
}

TEST_CASE("creates answered with garbage are read back, not sent again, also while answers stay spoilt") {
  World w;
  w.pull();
  w.faults({{"garbage_rate", 1}});
  auto create = w.submit(EditOp::create, 0, {{"name", "Answered with garbage"}});
  w.replay();
  REQUIRE(w.edit(create.edit.id).state == EditState::unknown_outcome);
  w.faults({{"garbage_rate", 0}});
  const auto posts = w.route_count("POST /projects");
  w.replay();
  CHECK(w.route_count("POST /projects") == posts);
  CHECK(w.named("Answered with garbage").size() == 1);
  CHECK(w.edit(create.edit.id).state == EditState::done);

  w.faults({{"garbage_rate", 0.5}});
  for (int i = 0; i < 12; ++i) w.submit(EditOp::create, 0, {{"name", "Spoilt " + std::to_string(i)}});
  for (int pass = 0; pass < 40 && w.queue->counts().pending + w.queue->counts().unknown_outcome > 0; ++pass) {
    for (auto& e : w.queue->list({EditState::pending}, 100)) w.queue->retry(e.id, now_utc());
    w.replay();
  }
  w.faults({{"garbage_rate", 0}});
  w.replay();
  for (int i = 0; i < 12; ++i) CHECK_MESSAGE(w.named("Spoilt " + std::to_string(i)).size() == 1, "Spoilt " << i);
}

TEST_CASE("server errors keep an edit pending with backoff; a retry sends it") {
  World w;
  w.pull();
  auto ids = w.mirror_ids(any);
  w.faults({{"error_rate", 1}});
  auto e = w.submit(EditOp::patch, ids[0], {{"name", "After the outage"}});
  auto report = w.replay();
  CHECK(report.retried == 1);
  auto waiting = w.edit(e.edit.id);
  CHECK(waiting.state == EditState::pending);
  CHECK(waiting.attempts == 1);
  CHECK(waiting.next_attempt_at > now_utc());
  CHECK(waiting.last_error->find("50") != std::string::npos);
  CHECK(w.replay().requests == 0);  // not due yet: nothing is sent
  w.faults({{"error_rate", 0}});
  w.queue->retry(e.edit.id, now_utc());
  w.replay();
  CHECK(w.edit(e.edit.id).state == EditState::done);
  CHECK(w.server(ids[0])["name"] == "After the outage");
}

TEST_CASE("a create whose answer was lost is found in the mirror when a listing came first: no request spent") {
  World w;
  w.pull();
  w.faults({{"drop_rate", 1}});
  auto create = w.submit(EditOp::create, 0, {{"name", "Found in the listing"}});
  w.replay();
  REQUIRE(w.edit(create.edit.id).state == EditState::unknown_outcome);
  w.faults({{"drop_rate", 0}});
  w.pull();  // the listing brings the new project into the mirror
  auto lists = w.route_count("GET /projects");
  auto report = w.replay();
  CHECK(report.requests == 0);
  CHECK(w.route_count("GET /projects") == lists);
  CHECK(w.edit(create.edit.id).state == EditState::done);
  CHECK(w.edit(create.edit.id).result_id == w.named("Found in the listing").at(0)["id"].get<Id>());
  // The temporary project gave way to the real one: one visible, not two.
  CHECK_FALSE(w.view(create.edit.project_id).has_value());
}

TEST_CASE("a spent quota stops replay with the edit pending and not counted as an attempt") {
  World w(config::ConflictPolicy::manual, {"--quota", "2"});
  w.pull();  // one request of the two
  auto ids = w.mirror_ids(any);
  auto first = w.submit(EditOp::patch, ids[0], {{"name", "Within the quota"}});
  auto second = w.submit(EditOp::patch, ids[1], {{"name", "Over the quota"}});
  auto report = w.replay();
  REQUIRE(report.stopped.has_value());
  CHECK(report.stopped->is(Errc::quota_exhausted));
  CHECK(w.edit(first.edit.id).state == EditState::done);
  auto waiting = w.edit(second.edit.id);
  CHECK(waiting.state == EditState::pending);
  CHECK(waiting.attempts == 0);
  CHECK(w.server(ids[1])["name"] != "Over the quota");
  CHECK(w.view(ids[1]).value()["name"] == "Over the quota");  // still shown locally
}

TEST_CASE("discarding an edit removes it and its overlay; a discarded create takes its dependents along") {
  World w;
  w.pull();
  auto ids = w.mirror_ids(any);
  auto server_name = w.server(ids[0])["name"];
  auto patch = w.submit(EditOp::patch, ids[0], {{"name", "Second thoughts"}});
  auto parent = w.submit(EditOp::create, 0, {{"name", "Abandoned"}});
  auto child = w.submit(EditOp::create, 0, {{"name", "Abandoned child"}, {"parent_project_id", parent.edit.project_id}});
  w.queue->discard(patch.edit.id, now_utc());
  w.queue->discard(parent.edit.id, now_utc());
  CHECK_FALSE(w.queue->get(patch.edit.id).has_value());
  CHECK(w.view(ids[0]).value()["name"] == server_name);
  CHECK_FALSE(w.view(parent.edit.project_id).has_value());
  CHECK(w.edit(child.edit.id).state == EditState::failed);
  CHECK(w.edit(child.edit.id).last_error->find("discarded") != std::string::npos);
  CHECK_THROWS_AS(w.queue->discard(patch.edit.id, now_utc()), store::EditRejected);  // gone already
  // Retried, the child would wait for its parent's create for good,
  // pending and never sent: refused, saying why.
  try {
    w.queue->retry(child.edit.id, now_utc());
    FAIL("a retry of an edit whose create was discarded was taken");
  } catch (const store::EditRejected& e) {
    CHECK(std::string(e.what()).find("was discarded: it can never be sent") != std::string::npos);
  }
  CHECK(w.edit(child.edit.id).state == EditState::failed);
  auto report = w.replay();
  CHECK(report.requests == 0);
  CHECK(w.named("Abandoned").empty());
  bool logged = false;
  for (auto& c : w.mirror->changes_since(0, 1000))
    if (to_text(c.kind) == "edit" && json::parse(*c.detail)["state"] == "discarded") logged = true;
  CHECK(logged);
}

TEST_CASE("another user's same-named create in the window is not claimed; the edits queued after go to our project") {
  World w;
  w.pull();
  w.learn_own_user();
  w.offline(true);  // sent, never reached the server: not applied
  auto create = w.submit(EditOp::create, 0, {{"name", "Same name"}, {"billable", true}});
  w.replay();
  REQUIRE(w.edit(create.edit.id).state == EditState::unknown_outcome);
  // Queued behind the create (after its send, so nothing folds them together).
  auto remove = w.submit(EditOp::remove, create.edit.project_id);
  // Meanwhile another user makes a project of that name, with the same values, seconds after the send.
  const Id theirs = w.other_user_create({{"name", "Same name"}, {"billable", true}});
  w.offline(false);
  const auto posts = w.route_count("POST /projects");
  w.replay();
  auto settled = w.edit(create.edit.id);
  CHECK(settled.state == EditState::done);
  REQUIRE(settled.result_id.has_value());
  CHECK(*settled.result_id != theirs);  // not claimed: it was sent again, and made once
  CHECK(w.route_count("POST /projects") == posts + 1);
  CHECK(w.edit(remove.edit.id).state == EditState::done);
  CHECK(w.edit(remove.edit.id).project_id == *settled.result_id);
  CHECK(w.server(theirs)["deleted_at"].is_null());  // their project is untouched
  CHECK_FALSE(w.server(*settled.result_id)["deleted_at"].is_null());
}

// A create whose answer was lost while another user made a project of the
// same name and body: the read-back finds two candidates.
struct AmbiguousCreate {
  explicit AmbiguousCreate(World& w) : w(w) {
    w.pull();
    auto ids = w.mirror_ids(any);
    w.faults({{"drop_rate", 1}});  // applied, the answer lost
    create = w.submit(EditOp::create, 0, {{"name", "Twin"}, {"billable", true}});
    w.replay();
    REQUIRE(w.edit(create.edit.id).state == EditState::unknown_outcome);
    follow_up = w.submit(EditOp::patch, create.edit.project_id, {{"color", "#222222"}});
    w.faults({{"drop_rate", 0}});
    ours = w.named("Twin").at(0)["id"].get<Id>();
    theirs = w.other_user_create({{"name", "Twin"}, {"billable", true}});
    elsewhere = w.submit(EditOp::patch, ids[0], {{"name", "Not held up"}});
    posts = w.route_count("POST /projects");
  }

  World& w;
  store::Submitted create, follow_up, elsewhere;
  Id ours = 0, theirs = 0;
  std::int64_t posts = 0;
};

TEST_CASE("an ambiguous read-back keeps the create unknown_outcome with its candidates until the user settles it") {
  World w;  // a fresh key: its user is not known yet
  AmbiguousCreate twin(w);
  const auto& create = twin.create;
  const auto& follow_up = twin.follow_up;
  const Id ours = twin.ours, theirs = twin.theirs;
  const auto posts = twin.posts;
  w.replay();
  auto waiting = w.edit(create.edit.id);
  CHECK(waiting.state == EditState::unknown_outcome);
  CHECK(waiting.candidates == std::vector<Id>{std::min(ours, theirs), std::max(ours, theirs)});
  REQUIRE(waiting.last_error.has_value());
  CHECK(waiting.last_error->find(std::to_string(theirs)) != std::string::npos);
  CHECK(waiting.last_error->find("--created-as") != std::string::npos);
  CHECK(waiting.to_json()["candidates"].size() == 2);
  CHECK(w.route_count("POST /projects") == posts);            // no duplicate made
  CHECK(w.edit(twin.elsewhere.edit.id).state == EditState::done);  // other projects' edits go on
  CHECK(w.edit(follow_up.edit.id).state == EditState::pending);
  // It is not read back again and again: no request, and nothing due.
  CHECK_FALSE(w.replayer->has_ready(w.ws));
  CHECK_FALSE(w.replayer->next_due(w.ws).has_value());
  CHECK(w.replay().requests == 0);
  CHECK_THROWS_AS(w.queue->retry(create.edit.id, now_utc()), store::EditRejected);

  SUBCASE("created_as: the create is done as that project, the temporary id swapped everywhere") {
    CHECK_THROWS_AS(w.queue->settle_by_user(create.edit.id, {store::Resolution::Take::created_as, {}, -5}, now_utc()),
                    store::EditRejected);
    auto e = w.queue->settle_by_user(create.edit.id, {store::Resolution::Take::created_as, {}, ours}, now_utc());
    CHECK(e.state == EditState::done);
    CHECK(e.result_id == ours);
    CHECK(e.candidates.empty());
    CHECK(w.queue->real_id_for(w.key, create.edit.project_id) == ours);
    CHECK(w.edit(follow_up.edit.id).project_id == ours);
    w.replay();
    CHECK(w.server(ours)["color"] == "#222222");
    CHECK(w.server(theirs)["color"] != "#222222");
    CHECK(w.route_count("POST /projects") == posts);
  }
  SUBCASE("send_again: pending, sent once more") {
    auto e = w.queue->settle_by_user(create.edit.id, {store::Resolution::Take::send_again, {}, 0}, now_utc());
    CHECK(e.state == EditState::pending);
    CHECK(e.candidates.empty());
    w.replay();
    auto done = w.edit(create.edit.id);
    CHECK(done.state == EditState::done);
    CHECK(w.route_count("POST /projects") == posts + 1);
    CHECK(w.named("Twin").size() == 3);
    CHECK(done.result_id != ours);
    CHECK(done.result_id != theirs);
    CHECK(w.server(*done.result_id)["color"] == "#222222");
  }
  // Either way a second resolve is refused: it is settled.
  CHECK_THROWS_AS(w.queue->settle_by_user(create.edit.id, {store::Resolution::Take::send_again, {}, 0}, now_utc()),
                  store::EditRejected);
}

TEST_CASE("a create is read back by the server's clock, however far it is from ours") {
  // The server's clock runs two hours behind: its created_at is two hours
  // before our sent_at. Matched against our clock, the project would not be
  // found and the create sent again.
  World w(config::ConflictPolicy::manual, {"--clock-skew", "-7200"});
  w.pull();  // the listing's Date measures the skew
  auto reading = w.api->server_clock().reading(1);
  REQUIRE(reading.has_value());
  CHECK(reading->offset < -std::chrono::seconds(7190));
  CHECK(reading->offset > -std::chrono::seconds(7210));
  w.faults({{"drop_rate", 1}});
  auto create = w.submit(EditOp::create, 0, {{"name", "Skewed"}});
  w.replay();
  REQUIRE(w.edit(create.edit.id).state == EditState::unknown_outcome);
  w.faults({{"drop_rate", 0}});
  const auto posts = w.route_count("POST /projects");
  w.replay();
  CHECK(w.edit(create.edit.id).state == EditState::done);
  CHECK(w.route_count("POST /projects") == posts);
  CHECK(w.named("Skewed").size() == 1);
}

TEST_CASE("a same-named project made before the send, even seconds before, is not the create's") {
  World w;
  w.pull();
  const Id earlier = w.other_user_create({{"name", "Made just before"}});
  std::this_thread::sleep_for(std::chrono::milliseconds(3500));  // past the window's slack before the send
  w.offline(true);
  auto create = w.submit(EditOp::create, 0, {{"name", "Made just before"}});
  w.replay();
  w.offline(false);
  w.replay();
  auto e = w.edit(create.edit.id);
  CHECK(e.state == EditState::done);
  CHECK(e.result_id != earlier);
  CHECK(w.named("Made just before").size() == 2);
}

TEST_CASE("a patch answered 2xx with an unreadable body is read back, not counted as applied") {
  World w;
  w.pull();
  auto ids = w.mirror_ids(any);
  w.faults({{"garbage_rate", 1}});
  auto patch = w.submit(EditOp::patch, ids[0], {{"name", "Garbled answer"}});
  w.replay();
  auto e = w.edit(patch.edit.id);
  CHECK(e.state == EditState::unknown_outcome);
  REQUIRE(e.last_error.has_value());
  CHECK(e.last_error->find("cannot be read") != std::string::npos);
  w.faults({{"garbage_rate", 0}});
  const auto patches = w.route_count("PATCH /projects/{id}");
  w.replay();
  CHECK(w.edit(patch.edit.id).state == EditState::done);
  CHECK(w.edit(patch.edit.id).note->find("proven applied") != std::string::npos);
  CHECK(w.route_count("PATCH /projects/{id}") == patches);  // not sent twice
}

TEST_CASE("a refusal whose text is cut mid-character or is not UTF-8 fails the edit with a readable error") {
  // The observed failure: PATCH answered 400 {"error": "ééé..."} cut in the
  // middle of a character (or in Latin-1) threw while the edit was settled,
  // leaving it in flight and ending the engine.
  std::string e_acute;
  for (int i = 0; i < 200; ++i) e_acute += "\xC3\xA9";
  for (const std::string& body : {R"({"error": ")" + e_acute.substr(0, 301), std::string("{\"error\": \"caf\xE9 refus\xE9\"}"),
                                  std::string("\xFF\xFE not even text \xC3")}) {
    CAPTURE(body.size());
    World w;
    w.pull();
    auto ids = w.mirror_ids(any);
    auto patch = w.submit(EditOp::patch, ids[0], {{"name", "Refused in odd bytes"}});
    // The refusing server runs on a thread of its own: the test's io_context
    // runs until the replay is done, which a listening server never is.
    boost::asio::io_context server_io;
    http::Server refusing(server_io, {}, [&](const http::Request&) {
      http::Response r;
      r.status = 400;
      r.body = body;
      return r;
    });
    refusing.start();
    std::thread serving([&] { server_io.run(); });
    http::ClientOptions options;
    options.base_url = "http://127.0.0.1:" + std::to_string(refusing.port()) + "/api";
    options.total_timeout = std::chrono::seconds(5);
    http::Client client(w.io, options);
    upstream::FocusApi api(client, upstream::Credentials::api_key("k", "(test)"), w.quota);
    sync::Replayer replayer(api, *w.queue, *w.mirror, w.settings);
    sync::ReplayReport report;
    CHECK_NOTHROW(report = run(w.io, replayer.replay(w.ws)));
    server_io.stop();
    serving.join();
    CHECK(report.failed == 1);
    auto e = w.edit(patch.edit.id);
    CHECK(e.state == EditState::failed);
    REQUIRE(e.last_error.has_value());
    CHECK(is_valid_utf8(*e.last_error));
    CHECK(e.last_error->find("400") != std::string::npos);
    CHECK(e.last_error->size() < 1100);
    CHECK_NOTHROW((void)e.to_json().dump());
    bool logged = false;
    for (auto& c : w.mirror->changes_since(0, 10000))
      if (to_text(c.kind) == "edit" && json::parse(*c.detail)["state"] == "failed") logged = is_valid_utf8(*c.detail);
    CHECK(logged);
  }
}
