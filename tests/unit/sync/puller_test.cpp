// The puller against a real focus-sim and a real SQLite file: the mirror
// equals the server, reruns change nothing, other users' changes are logged
// once with their fields, drift never deletes, mass disappearance is held.
#include "http/client.hpp"
#include "model/project_codec.hpp"
#include "store/database.hpp"
#include "store/mirror.hpp"
#include "support/sync_parts.hpp"
#include "sync/members_sync.hpp"
#include "sync/puller.hpp"

#include <SQLiteCpp/Statement.h>
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

using namespace focus;
using namespace focus::test;
using nlohmann::json;

namespace {

struct World : SyncParts {
  explicit World(std::vector<std::string> sim_args, config::Sync settings = {})
      : SyncParts({std::move(sim_args), settings, std::nullopt, std::nullopt, "focus-pull-"}) {}

  sync::PullReport pull() {
    auto r = run(io, puller->full_sync(ws));
    REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message));
    return *r;
  }

  // The server's live projects as it encodes them, by id.
  std::map<model::Id, json> server_json() {
    std::map<model::Id, json> out;
    json state = sim.control("GET", "state");
    for (auto& p : state["projects"])
      if (p["deleted_at"].is_null()) out.emplace(p["id"].get<model::Id>(), p);
    return out;
  }
  // The same, decoded.
  std::map<model::Id, model::Project> server() {
    std::map<model::Id, model::Project> out;
    for (auto& [id, p] : server_json()) out.emplace(id, model::decode_project(p));
    return out;
  }
  std::map<model::Id, model::Project> local() {
    std::map<model::Id, model::Project> out;
    for (auto& body : mirror->live_bodies({1, 1})) {
      auto p = model::decode_project(std::string_view(body));
      out.emplace(p.id, p);
    }
    return out;
  }

  WorkspaceKey ws{1, 1};
};

// "" when equal, else the first difference, for a readable failure.
std::string difference(const std::map<model::Id, model::Project>& local, const std::map<model::Id, model::Project>& server) {
  if (local.size() != server.size())
    for (auto& [id, p] : server)
      if (!local.contains(id)) return "missing locally: " + std::to_string(id) + " (sizes " + std::to_string(local.size()) + " vs " + std::to_string(server.size()) + ")";
  for (auto& [id, p] : local) {
    auto it = server.find(id);
    if (it == server.end()) return "not on the server: " + std::to_string(id);
    if (!(it->second == p)) return "differs: " + std::to_string(id) + "\n local " + model::canonical_json(p) + "\n server " + model::canonical_json(it->second);
  }
  return "";
}

// The top-level members whose values differ between two objects, sorted;
// worked out here from the server's own JSON, not by the store's diff.
std::vector<std::string> fields_that_differ(const json& a, const json& b) {
  std::set<std::string> keys;
  for (auto& [k, v] : a.items())
    if (!b.contains(k) || b.at(k) != v) keys.insert(k);
  for (auto& [k, v] : b.items())
    if (!a.contains(k)) keys.insert(k);
  return {keys.begin(), keys.end()};
}

std::set<model::Id> ids_of(const json& array) {
  std::set<model::Id> out;
  for (auto& v : array) out.insert(v.get<model::Id>());
  return out;
}

}  // namespace

TEST_CASE("the first sync equals the server exactly; a rerun writes nothing and logs nothing") {
  World w({"--projects", "1500", "--seed", "8"});
  auto first = w.pull();
  CHECK(first.inserted == 1500);
  CHECK(first.pages == 8);
  CHECK(first.requests == 8);
  CHECK(difference(w.local(), w.server()) == "");
  CHECK(w.mirror->last_change_seq() == 1500);

  auto changed_at = w.db->sql().execAndGet("SELECT max(changed_at) FROM projects").getString();
  auto second = w.pull();
  CHECK(second.inserted + second.updated + second.deleted + second.restored == 0);
  CHECK(second.requests == 8);
  CHECK(w.mirror->last_change_seq() == 1500);
  CHECK(w.db->sql().execAndGet("SELECT max(changed_at) FROM projects").getString() == changed_at);
  auto state = w.mirror->sync_state({1, 1});
  CHECK(state.project_count == 1500);
  CHECK(state.last_success_at);
  CHECK_FALSE(state.last_error);
}

TEST_CASE("a listing decodes only what changed since the last one; deletions are still seen") {
  World w({"--projects", "600", "--seed", "4"});
  auto first = w.pull();
  CHECK(first.inserted == 600);
  CHECK(first.unchanged == 0);  // nothing known yet: every project decoded
  auto digests = w.db->sql().execAndGet("SELECT count(*) FROM projects WHERE listing_digest IS NOT NULL").getInt();
  CHECK(digests == 600);

  auto again = w.pull();
  CHECK(again.unchanged == 600);  // each listed as stored: none decoded or staged
  CHECK(again.inserted + again.updated + again.deleted + again.restored == 0);

  auto touched = w.sim.control("POST", "mutate", {{"creates", 2}, {"updates", 3}, {"deletes", 2}});
  auto third = w.pull();
  CHECK(third.inserted == 2);
  CHECK(third.deleted == 2);
  CHECK(third.updated >= 1);
  CHECK(third.unchanged == 600 - 2 - third.updated);
  CHECK(difference(w.local(), w.server()) == "");
  // A digest the mirror no longer trusts (an older cache, a row written by a
  // read-back) only costs a decode: the row is compared and nothing is logged.
  w.db->sql().exec("UPDATE projects SET listing_digest = NULL WHERE id IN (SELECT id FROM projects LIMIT 50)");
  auto seq = w.mirror->last_change_seq();
  auto fourth = w.pull();
  CHECK(fourth.unchanged == 600 - 50);
  CHECK(fourth.inserted + fourth.updated + fourth.deleted + fourth.restored == 0);
  CHECK(w.mirror->last_change_seq() == seq);
  CHECK(w.db->sql().execAndGet("SELECT count(*) FROM projects WHERE listing_digest IS NULL").getInt() == 0);
  CHECK(w.pull().unchanged == 600);
  // Every digest made otherwise (a build that took SHA-256 for them): each
  // project is decoded once, nothing is logged, and every digest is made
  // again as this build makes it.
  w.db->sql().exec("UPDATE projects SET listing_digest = lower(hex(randomblob(16)))");
  auto upgraded = w.pull();
  CHECK(upgraded.unchanged == 0);
  CHECK(upgraded.inserted + upgraded.updated + upgraded.deleted + upgraded.restored == 0);
  CHECK(w.mirror->last_change_seq() == seq);
  CHECK(w.pull().unchanged == 600);
  CHECK(difference(w.local(), w.server()) == "");
}

TEST_CASE("other users' changes are logged once each, with the fields that changed") {
  World w({"--projects", "300", "--seed", "2"});
  w.pull();
  auto seq = w.mirror->last_change_seq();
  auto before = w.server_json();
  auto touched = w.sim.control("POST", "mutate", {{"creates", 3}, {"updates", 4}, {"deletes", 2}, {"archives", 2}});
  auto after = w.server_json();
  auto report = w.pull();
  CHECK(report.inserted == 3);
  CHECK(report.deleted == 2);
  CHECK(difference(w.local(), w.server()) == "");

  std::map<std::string, std::set<model::Id>> by_kind;
  std::map<model::Id, std::vector<std::string>> fields;
  for (const auto& c : w.mirror->changes_since(seq, 100)) {
    CHECK_MESSAGE(by_kind[std::string(to_text(c.kind))].insert(c.project_id).second, "logged twice: " << c.project_id);
    fields[c.project_id] = c.fields;
  }
  CHECK(by_kind["insert"] == ids_of(touched["created"]));
  CHECK(by_kind["delete"] == ids_of(touched["deleted"]));
  for (auto id : ids_of(touched["archived"])) {
    if (ids_of(touched["deleted"]).contains(id)) continue;
    CHECK(by_kind["update"].contains(id));
    auto& f = fields[id];
    CHECK(std::find(f.begin(), f.end(), "archived_at") != f.end());
    CHECK(std::find(f.begin(), f.end(), "active") != f.end());
  }
  for (auto id : ids_of(touched["updated"]))
    if (!ids_of(touched["deleted"]).contains(id)) CHECK(by_kind["update"].contains(id));
  for (auto& [id, f] : fields)
    if (by_kind["update"].contains(id)) CHECK(std::find(f.begin(), f.end(), "updated_at") != f.end());
  // Exactly the fields whose values the server changed, each named once,
  // and an update logged for every project (and only those) it changed.
  for (auto id : by_kind["update"]) CHECK_MESSAGE((before.contains(id) && after.contains(id)), "project " << id);
  for (auto& [id, old_json] : before) {
    auto now = after.find(id);
    if (now == after.end()) continue;  // deleted: logged as such above
    auto expected = fields_that_differ(old_json, now->second);
    CHECK_MESSAGE(by_kind["update"].contains(id) == !expected.empty(), "project " << id);
    if (!expected.empty()) CHECK_MESSAGE(fields[id] == expected, "project " << id);
  }

  auto again = w.mirror->last_change_seq();
  w.pull();
  CHECK(w.mirror->last_change_seq() == again);
}

namespace {

// The tag table as the mirror keeps it, and the tags the server's projects carry.
std::map<model::Id, std::set<model::Id>> local_tags(World& w) {
  std::map<model::Id, std::set<model::Id>> out;
  SQLite::Statement st(w.db->sql(), "SELECT project_id, tag_id FROM project_tags WHERE organization_id = 1 AND workspace_id = 1");
  while (st.executeStep()) out[st.getColumn(0).getInt64()].insert(st.getColumn(1).getInt64());
  return out;
}

std::map<model::Id, std::set<model::Id>> server_tags(World& w) {
  std::map<model::Id, std::set<model::Id>> out;
  for (const auto& [id, p] : w.server())
    if (!p.tag_ids.empty()) out[id] = std::set<model::Id>(p.tag_ids.begin(), p.tag_ids.end());
  return out;
}

}  // namespace

TEST_CASE("the tag table follows the listing: new tags, removed tags, and projects left alone") {
  World w({"--projects", "120", "--seed", "4"});
  w.pull();
  REQUIRE(local_tags(w) == server_tags(w));
  // Another user retags two projects: one gets new tags, one loses all of its own.
  auto live = w.server();
  auto tagged = std::find_if(live.begin(), live.end(), [](auto& e) { return !e.second.tag_ids.empty(); });
  REQUIRE(tagged != live.end());
  const model::Id cleared = tagged->first;
  const model::Id retagged = std::next(live.begin())->first == cleared ? live.begin()->first : std::next(live.begin())->first;
  const auto new_tags = tagged->second.tag_ids;  // tags the workspace has
  model::ProjectPatch clear, retag;
  clear.tag_ids = model::PatchField<std::vector<model::Id>>::of({});
  retag.tag_ids = model::PatchField<std::vector<model::Id>>::of(new_tags);
  REQUIRE(run(w.io, w.api->patch_project(w.ws, cleared, clear)).ok());
  REQUIRE(run(w.io, w.api->patch_project(w.ws, retagged, retag)).ok());
  w.pull();
  auto tags = local_tags(w);
  CHECK_FALSE(tags.contains(cleared));
  CHECK(tags[retagged] == std::set<model::Id>(new_tags.begin(), new_tags.end()));
  CHECK(local_tags(w) == server_tags(w));
}

TEST_CASE("a restored project is logged as a restore") {
  World w({"--projects", "40"});
  w.pull();
  auto gone = w.sim.control("POST", "mutate", {{"deletes", 1}})["deleted"][0].get<model::Id>();
  w.pull();
  CHECK(w.mirror->deleted_ids({1, 1}) == std::vector<model::Id>{gone});
  w.sim.control("POST", "mutate", {{"restores", 1}});
  auto seq = w.mirror->last_change_seq();
  auto report = w.pull();
  CHECK(report.restored == 1);
  auto changes = w.mirror->changes_since(seq, 10);
  REQUIRE(changes.size() == 1);
  CHECK(to_text(changes[0].kind) == "restore");
  CHECK(changes[0].project_id == gone);
  CHECK(difference(w.local(), w.server()) == "");
}

TEST_CASE("drift while paging never deletes a project that still exists") {
  World w({"--projects", "2000", "--seed", "13"});
  w.pull();
  w.sim.control("PUT", "faults", {{"drift", true}});
  for (int round = 0; round < 3; ++round) {
    w.pull();
    auto server_all = w.sim.control("GET", "state")["projects"];
    std::set<model::Id> really_deleted;
    for (auto& p : server_all)
      if (!p["deleted_at"].is_null()) really_deleted.insert(p["id"].get<model::Id>());
    for (auto id : w.mirror->deleted_ids({1, 1})) CHECK_MESSAGE(really_deleted.contains(id), "false delete of " << id);
  }
  w.sim.control("PUT", "faults", {{"drift", false}});
  w.pull();
  CHECK(difference(w.local(), w.server()) == "");
}

TEST_CASE("a mass disappearance is held as suspect until a second listing agrees") {
  World w({"--projects", "200", "--seed", "5"});
  w.pull();
  w.sim.control("POST", "mutate", {{"deletes", 60}});
  auto first = w.pull();
  CHECK(first.deleted == 0);
  CHECK(first.held_deletions == 60);
  REQUIRE(first.suspect);
  CHECK(first.suspect->find("60 of 200") != std::string::npos);
  CHECK(w.mirror->live_count({1, 1}) == 200);
  CHECK(w.mirror->sync_state({1, 1}).suspect == first.suspect);
  auto second = w.pull();
  CHECK(second.deleted == 60);
  CHECK_FALSE(second.suspect);
  CHECK_FALSE(w.mirror->sync_state({1, 1}).suspect);
  CHECK(difference(w.local(), w.server()) == "");
}

TEST_CASE("a lower server cap on per_page is detected and paging stays exact") {
  World w({"--projects", "450", "--max-per-page", "100"});
  auto report = w.pull();
  CHECK(report.inserted == 450);
  CHECK(w.mirror->sync_state({1, 1}).per_page_cap == 100);
  CHECK(difference(w.local(), w.server()) == "");
  auto again = w.pull();
  CHECK(again.requests == 5);  // asks for 100 straight away now
}

TEST_CASE("a listing cut short by an error changes nothing in the mirror") {
  World w({"--projects", "600", "--seed", "21"});
  w.pull();
  auto before = w.local();
  auto seq = w.mirror->last_change_seq();
  w.sim.control("POST", "mutate", {{"creates", 5}, {"updates", 5}});
  w.sim.control("PUT", "faults", {{"error_rate", 1}});
  auto r = run(w.io, w.puller->full_sync(w.ws));
  CHECK_FALSE(r.ok());
  CHECK(w.local() == before);
  CHECK(w.mirror->last_change_seq() == seq);
  CHECK(w.mirror->sync_state({1, 1}).last_error);
}

TEST_CASE("a probe applies inserts, updates and archives from one request") {
  World w({"--projects", "400", "--seed", "31"});
  w.pull();
  auto touched = w.sim.control("POST", "mutate", {{"creates", 2}, {"updates", 3}, {"archives", 1}});
  auto seq = w.mirror->last_change_seq();
  auto p = run(w.io, w.puller->probe(w.ws));
  REQUIRE(p.ok());
  CHECK(p->requests == 1);
  CHECK_FALSE(p->needs_full_listing);
  CHECK(p->inserted == 2);
  CHECK(p->updated + p->inserted == static_cast<std::int64_t>(w.mirror->changes_since(seq, 100).size()));
  CHECK(difference(w.local(), w.server()) == "");
  auto quiet = run(w.io, w.puller->probe(w.ws));
  CHECK(quiet->inserted + quiet->updated == 0);
  CHECK_FALSE(quiet->needs_full_listing);
}

TEST_CASE("a probe asks for a full listing after a delete, and that listing confirms it") {
  World w({"--projects", "300", "--seed", "32"});
  w.pull();
  auto gone = w.sim.control("POST", "mutate", {{"deletes", 1}})["deleted"][0].get<model::Id>();
  auto p = run(w.io, w.puller->probe(w.ws));
  REQUIRE(p.ok());
  REQUIRE(p->needs_full_listing);
  CHECK(p->needs_full_listing->find("1 project(s) deleted upstream") != std::string::npos);
  auto full = w.pull();
  CHECK(full.deleted == 1);
  CHECK(w.mirror->deleted_ids({1, 1}) == std::vector<model::Id>{gone});
}

TEST_CASE("a probe asks for a full listing when more changed than its page holds") {
  config::Sync small;
  small.per_page = 10;
  World w({"--projects", "120", "--seed", "33"}, small);
  w.pull();
  w.sim.control("POST", "mutate", {{"updates", 30}});
  auto p = run(w.io, w.puller->probe(w.ws));
  REQUIRE(p.ok());
  REQUIRE(p->needs_full_listing);
  CHECK(p->needs_full_listing->find("more projects changed than one probe page holds") != std::string::npos);
  w.pull();
  CHECK(difference(w.local(), w.server()) == "");
}

TEST_CASE("a probe whose order the server did not honour is not trusted") {
  World w({"--projects", "150", "--seed", "34"});
  w.pull();
  w.sim.control("PUT", "faults", {{"ignore_order", true}});
  w.sim.control("POST", "mutate", {{"updates", 2}});
  auto p = run(w.io, w.puller->probe(w.ws));
  REQUIRE(p.ok());
  CHECK_FALSE(p->order_honoured);
  REQUIRE(p->needs_full_listing);
  CHECK(p->inserted + p->updated == 0);
  CHECK(w.mirror->sync_state({1, 1}).probe_note == p->needs_full_listing);
  // The server orders it again: the probe is trusted, and the note goes.
  w.sim.control("PUT", "faults", {{"ignore_order", false}});
  w.pull();
  auto again = run(w.io, w.puller->probe(w.ws));
  REQUIRE(again.ok());
  CHECK(again->order_honoured);
  CHECK_FALSE(w.mirror->sync_state({1, 1}).probe_note);
}

TEST_CASE("sync state shows attempts, requests spent and the quota seen") {
  World w({"--projects", "250", "--quota", "100", "--quota-window", "3600"});
  w.pull();
  auto s = w.mirror->sync_state({1, 1});
  CHECK(s.requests_spent == 2);
  CHECK(s.quota_remaining == 98);
  REQUIRE(s.quota_resets_at);
  CHECK(*s.quota_resets_at > now_utc() + std::chrono::minutes(59));
  CHECK(s.last_attempt_at);
  CHECK(s.last_full_listing_at);
  CHECK(s.project_count == 250);
}

TEST_CASE("members: fetched for new and changed projects, in budgeted batches, as the server has them") {
  World w({"--projects", "30", "--seed", "35"});
  w.pull();
  sync::MembersSync members(*w.api, *w.mirror, w.settings);
  CHECK(members.wanted(w.ws, 100) == 30);
  auto first = run(w.io, members.refresh(w.ws, 12));
  REQUIRE(first.ok());
  CHECK(*first == 12);
  CHECK(members.wanted(w.ws, 100) == 18);
  CHECK(*run(w.io, members.refresh(w.ws, 100)) == 18);
  CHECK(members.wanted(w.ws, 100) == 0);
  json state = w.sim.control("GET", "state");
  for (auto& [id, m] : state["members"].items()) {
    auto stored = w.mirror->members({1, 1}, std::stoll(id));
    REQUIRE(stored);
    CHECK(json::parse(*stored) == m);
  }
  w.sim.control("POST", "mutate", {{"updates", 2}});
  w.pull();
  CHECK(members.wanted(w.ws, 100) == 2);
  auto sent = w.sim.requests();
  CHECK(*run(w.io, members.refresh(w.ws, 100)) == 2);
  CHECK(w.sim.requests() == sent + 2);
}

TEST_CASE("members policy 'never' fetches nothing") {
  config::Sync never;
  never.members = config::MembersPolicy::never;
  World w({"--projects", "10"}, never);
  w.pull();
  sync::MembersSync members(*w.api, *w.mirror, w.settings);
  CHECK(members.wanted(w.ws, 100) == 0);
  auto sent = w.sim.requests();
  CHECK(*run(w.io, members.refresh(w.ws, 100)) == 0);
  CHECK(w.sim.requests() == sent);
}

TEST_CASE("a listing paused by the budget resumes from the next page and then equals the server") {
  config::Sync paged;
  paged.per_page = 100;
  World w({"--projects", "1000", "--seed", "36"}, paged);
  int allowed = 0;
  auto four_pages = [&allowed] { return allowed++ % 5 != 4; };  // 4 pages, then "no"
  auto first = run(w.io, w.puller->full_sync(w.ws, {}, four_pages));
  REQUIRE(first.ok());
  CHECK(first->paused);
  CHECK(first->requests == 4);
  CHECK(w.mirror->live_count({1, 1}) == 0);  // nothing applied while paused
  auto second = run(w.io, w.puller->full_sync(w.ws, {}, four_pages));
  CHECK(second->paused);
  CHECK(second->requests == 4);
  auto third = run(w.io, w.puller->full_sync(w.ws, {}, four_pages));
  REQUIRE(third.ok());
  CHECK_FALSE(third->paused);
  CHECK(third->requests == 2);
  CHECK(third->inserted == 1000);
  CHECK(difference(w.local(), w.server()) == "");
  CHECK(w.sim.requests() == 10);
}
