// The change log tells the truth (issue 18): what the mirror merely saw for
// the first time is not "created", and an edit answered without a body is
// one change, not that change and then another user's update when the
// listing brings the server's own timestamps. A real SQLite file.
#include "fixture.hpp"
#include "model/edit.hpp"
#include "store/database.hpp"
#include "store/edit_queue.hpp"
#include "store/mirror.hpp"
#include "support/sim_process.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <filesystem>

using namespace focus;
using namespace focus::store;
using nlohmann::json;
using test::TempDir;

namespace {

const WorkspaceKey kWs{1, 1}, kOther{1, 2};

// A full listing as the puller records it.
void list(Mirror& mirror, WorkspaceKey ws, const std::vector<FetchedProject>& projects) {
  mirror.clear_staging(ws);
  mirror.stage(ws, projects);
  mirror.reconcile(ws, now_utc());
  mirror.record_success(ws, now_utc(), true, std::nullopt, std::nullopt);
}

std::vector<Change> changes_after(Mirror& mirror, std::int64_t seq) { return mirror.changes_since(seq, 1000); }

}  // namespace

TEST_CASE("a workspace's first mirroring logs first-seen inserts; a project created later is a plain insert") {
  TempDir dir;
  Database db(dir.path + "/cache.db");
  Mirror mirror(db);
  list(mirror, kWs, {test::listed_project(kWs, 1), test::listed_project(kWs, 2)});
  auto first = changes_after(mirror, 0);
  REQUIRE(first.size() == 2);
  for (const auto& c : first) {
    CHECK(c.kind == model::ChangeKind::insert);
    CHECK(c.initial);
  }
  const auto seq = mirror.last_change_seq();
  list(mirror, kWs, {test::listed_project(kWs, 1), test::listed_project(kWs, 2), test::listed_project(kWs, 3)});
  auto later = changes_after(mirror, seq);
  REQUIRE(later.size() == 1);
  CHECK(later[0].project_id == 3);
  CHECK_FALSE(later[0].initial);

  // A workspace configured later is mirrored for the first time too.
  list(mirror, kOther, {test::listed_project(kOther, 10)});
  auto other = changes_after(mirror, mirror.last_change_seq() - 1);
  REQUIRE(other.size() == 1);
  CHECK(other[0].initial);

  // A workspace whose projects were all deleted is not new: what comes back is not first seen.
  mirror.confirm_deleted(kOther, 10, now_utc());
  list(mirror, kOther, {test::listed_project(kOther, 11)});
  auto back = changes_after(mirror, mirror.last_change_seq() - 1);
  REQUIRE(back.size() == 1);
  CHECK_FALSE(back[0].initial);
}

TEST_CASE("an empty workspace, once listed, is not new: its first project is created, not first seen") {
  TempDir dir;
  Database db(dir.path + "/cache.db");
  Mirror mirror(db);
  list(mirror, kWs, {});
  list(mirror, kWs, {test::listed_project(kWs, 1)});
  auto changes = changes_after(mirror, 0);
  REQUIRE(changes.size() == 1);
  CHECK(changes[0].kind == model::ChangeKind::insert);
  CHECK_FALSE(changes[0].initial);
}

TEST_CASE("one listing's changes: its inserts first, then its updates and restores, each in project id order") {
  TempDir dir;
  Database db(dir.path + "/cache.db");
  Mirror mirror(db);
  list(mirror, kWs, {test::listed_project(kWs, 20), test::listed_project(kWs, 30), test::listed_project(kWs, 40)});
  mirror.confirm_deleted(kWs, 20, now_utc());
  const auto seq = mirror.last_change_seq();
  // New: 10 and 35; changed: 40 and 30; back from deletion: 20. Staged out of order.
  list(mirror, kWs,
       {test::listed_project(kWs, 40, {{"name", "renamed 40"}}), test::listed_project(kWs, 35),
        test::listed_project(kWs, 20), test::listed_project(kWs, 30, {{"name", "renamed 30"}}),
        test::listed_project(kWs, 10)});
  auto changes = changes_after(mirror, seq);
  std::vector<std::pair<model::ChangeKind, Id>> logged;
  for (const auto& c : changes) logged.emplace_back(c.kind, c.project_id);
  using K = model::ChangeKind;
  CHECK(logged == std::vector<std::pair<K, Id>>{
                      {K::insert, 10}, {K::insert, 35}, {K::restore, 20}, {K::update, 30}, {K::update, 40}});
  for (std::size_t i = 1; i < changes.size(); ++i) CHECK(changes[i].seq > changes[i - 1].seq);
}

TEST_CASE("the known digests answer a project's digest by id, and only for digests of ours") {
  KnownDigests known;
  const std::string a(KnownDigests::kDigestSize, 'a'), b(KnownDigests::kDigestSize, 'b');
  known.add(3, a);
  known.add(5, "short");  // not one of ours: as if the project had none
  known.add(7, b);
  REQUIRE(known.digest_of(3).has_value());
  CHECK(*known.digest_of(3) == a);
  CHECK(*known.digest_of(7) == b);
  CHECK_FALSE(known.digest_of(5).has_value());
  CHECK_FALSE(known.digest_of(4).has_value());
  CHECK_FALSE(known.digest_of(8).has_value());
  CHECK(known.size() == 2);
}

TEST_CASE("an archive answered without a body is logged once: the listing's server times are the edit's, not an update") {
  TempDir dir;
  Database db(dir.path + "/cache.db");
  Mirror mirror(db);
  EditQueue queue(db, mirror);
  list(mirror, kWs, {test::listed_project(kWs, 1), test::listed_project(kWs, 2)});
  auto made = queue.submit(kWs, model::EditOp::archive, 1, json::object(), now_utc());
  auto archived = queue.submit(kWs, model::EditOp::archive, 2, json::object(), now_utc());
  const auto before = mirror.last_change_seq();
  queue.settle_applied(*queue.get(made.edit.id), std::nullopt, std::nullopt, "answered 204", now_utc());
  queue.settle_applied(*queue.get(archived.edit.id), std::nullopt, std::nullopt, "answered 204", now_utc());

  // What the replay logs: for each edit, the predicted update (naming the edit) and the edit's settlement.
  auto replayed = changes_after(mirror, before);
  REQUIRE(replayed.size() == 4);
  CHECK(replayed[0].kind == model::ChangeKind::update);
  CHECK(replayed[0].fields == std::vector<std::string>{"active", "archived_at", "updated_at"});
  CHECK(json::parse(replayed[0].detail.value())["edit"] == made.edit.id);
  CHECK(replayed[1].kind == model::ChangeKind::edit);

  // The server's own times for the archive (they differ from the mirror's
  // prediction), and on project 2 a rename by another user as well.
  const auto seq = mirror.last_change_seq();
  const json server_archive = {{"active", false},
                               {"archived_at", "2026-12-02T08:00:00.5Z"},
                               {"updated_at", "2026-12-02T08:00:00.5Z"}};
  json renamed = server_archive;
  renamed["name"] = "renamed upstream";
  list(mirror, kWs, {test::listed_project(kWs, 1, server_archive), test::listed_project(kWs, 2, renamed)});
  auto listed = changes_after(mirror, seq);
  REQUIRE(listed.size() == 1);
  CHECK(listed[0].project_id == 2);
  CHECK(listed[0].fields == std::vector<std::string>{"name"});
  // The mirror holds the server's values.
  CHECK(json::parse(mirror.row(kWs, 1)->body)["archived_at"] == "2026-12-02T08:00:00.500000Z");

  // The prediction is settled: a later change by another user to the same field is logged.
  const auto settled = mirror.last_change_seq();
  list(mirror, kWs, {test::listed_project(kWs, 1, {{"active", false}, {"archived_at", "2026-12-03T08:00:00Z"},
                                       {"updated_at", "2026-12-03T08:00:00Z"}}),
                     test::listed_project(kWs, 2, renamed)});
  auto after = changes_after(mirror, settled);
  REQUIRE(after.size() == 1);
  CHECK(after[0].fields == std::vector<std::string>{"archived_at", "updated_at"});
}

TEST_CASE("a colleague who undoes a predicted edit before the listing is logged: only the server's own stamps are the edit's") {
  TempDir dir;
  Database db(dir.path + "/cache.db");
  Mirror mirror(db);
  EditQueue queue(db, mirror);
  list(mirror, kWs, {test::listed_project(kWs, 1)});
  auto archive = queue.submit(kWs, model::EditOp::archive, 1, json::object(), now_utc());
  queue.settle_applied(*queue.get(archive.edit.id), std::nullopt, std::nullopt, "answered 204", now_utc());
  // Before the next listing another user unarchived it: the server shows it
  // active again, with a later updated_at.
  const auto seq = mirror.last_change_seq();
  list(mirror, kWs, {test::listed_project(kWs, 1, {{"active", true}, {"archived_at", nullptr}, {"updated_at", "2026-12-04T09:00:00Z"}})});
  auto listed = changes_after(mirror, seq);
  REQUIRE(listed.size() == 1);
  CHECK(listed[0].kind == model::ChangeKind::update);
  CHECK(listed[0].fields == std::vector<std::string>{"active", "archived_at"});  // updated_at: a stamp on both sides
  CHECK(json::parse(mirror.row(kWs, 1)->body)["archived_at"].is_null());
}
