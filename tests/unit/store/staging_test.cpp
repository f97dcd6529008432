// The listing's staging (issue 17): its own scratch database, dropped whole
// once a listing is applied, without losing a paused listing of another
// workspace. A real SQLite file and SQLite's real temporary files.
#include "fixture.hpp"
#include "store/database.hpp"
#include "store/mirror.hpp"
#include "support/sim_process.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <string>
#include <sys/stat.h>
#include <vector>

using namespace focus;
using namespace focus::store;
using test::TempDir;

namespace {

const WorkspaceKey kWs{1, 1}, kPaused{1, 2};

std::vector<FetchedProject> projects(WorkspaceKey ws, Id first, Id last) {
  std::vector<FetchedProject> out;
  for (Id id = first; id <= last; ++id)
    out.push_back(test::listed_project(
        ws, id, {{"name", "staged project " + std::to_string(id) + " with a name long enough to fill pages"}}));
  return out;
}

std::int64_t staged(Database& db, WorkspaceKey ws) {
  SQLite::Statement st(db.sql(), "SELECT count(*) FROM " + std::string(Mirror::kStagingSchema) +
                                     ".staging WHERE organization_id = ? AND workspace_id = ?");
  st.bind(1, ws.organization_id);
  st.bind(2, ws.workspace_id);
  st.executeStep();
  return st.getColumn(0).getInt64();
}

// Bytes in SQLite's temporary files this process holds open (unlinked
// files named etilqs_*, in SQLite's temporary folder).
std::int64_t scratch_bytes() {
  std::int64_t bytes = 0;
  for (const auto& fd : std::filesystem::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    const auto target = std::filesystem::read_symlink(fd.path(), ec).string();
    struct stat st {};
    if (!ec && target.find("etilqs_") != std::string::npos && ::stat(fd.path().c_str(), &st) == 0) bytes += st.st_size;
  }
  return bytes;
}

}  // namespace

TEST_CASE("an applied listing's staging is dropped whole: its temporary file goes with it") {
  TempDir dir;
  Database db(dir.path + "/cache.db");
  Mirror mirror(db);
  mirror.clear_staging(kWs);
  for (Id page = 0; page < 20; ++page) mirror.stage(kWs, projects(kWs, 1 + page * 200, 200 + page * 200));
  REQUIRE(staged(db, kWs) == 4000);
  const auto before = scratch_bytes();
  MESSAGE("temporary files while staged: " << before << " bytes");
  REQUIRE(before > 1'000'000);  // more than the page cache holds: written out
  CHECK(mirror.reconcile(kWs, now_utc()).inserted == 4000);
  CHECK(staged(db, kWs) == 0);
  CHECK(scratch_bytes() < before / 10);  // deleting the rows would have kept the file at its size
  CHECK(mirror.live_count(kWs) == 4000);
  // And the next listing stages as before.
  mirror.clear_staging(kWs);
  mirror.stage(kWs, projects(kWs, 1, 10));
  CHECK(staged(db, kWs) == 10);
}

TEST_CASE("a paused listing of another workspace keeps its staged pages while this one's is applied") {
  TempDir dir;
  Database db(dir.path + "/cache.db");
  Mirror mirror(db);
  mirror.clear_staging(kPaused);
  mirror.stage(kPaused, projects(kPaused, 1, 300));  // its first page; then its quota ran out
  mirror.clear_staging(kWs);
  mirror.stage(kWs, projects(kWs, 1000, 1049));
  CHECK(mirror.reconcile(kWs, now_utc()).inserted == 50);
  CHECK(staged(db, kWs) == 0);
  CHECK(staged(db, kPaused) == 300);
  // Its listing resumes where it paused, and nothing it staged is missing.
  mirror.stage(kPaused, projects(kPaused, 301, 450));
  const auto outcome = mirror.reconcile(kPaused, now_utc());
  CHECK(outcome.inserted == 450);
  CHECK(outcome.missing.empty());
  CHECK(mirror.live_count(kPaused) == 450);
  CHECK(mirror.live_count(kWs) == 50);
  CHECK(staged(db, kPaused) == 0);
}

TEST_CASE("inside a transaction the staging is cleared by deleting its rows") {
  TempDir dir;
  Database db(dir.path + "/cache.db");
  Mirror mirror(db);
  mirror.stage(kWs, projects(kWs, 1, 20));
  db.in_transaction([&] { mirror.clear_staging(kWs); });
  CHECK(staged(db, kWs) == 0);
}

TEST_CASE("a read left on its row while a page was staged does not stop the staging's detach") {
  TempDir dir;
  Database db(dir.path + "/cache.db");
  Mirror mirror(db);
  mirror.record_attempt(kWs, now_utc(), 20, std::nullopt, std::nullopt);
  mirror.clear_staging(kWs);
  mirror.stage(kWs, projects(kWs, 1, 2000));
  // A kept statement stepped to its row, as a socket read leaves it until
  // the request ends: the next page's commit leaves the staging's database
  // in a read transaction, which SQLite refuses to detach.
  CHECK(mirror.sync_state(kWs).requests_spent == 20);
  mirror.stage(kWs, projects(kWs, 2001, 4000));
  const auto before = scratch_bytes();
  REQUIRE(before > 1'000'000);
  mirror.clear_staging(kWs);
  CHECK(staged(db, kWs) == 0);
  CHECK(scratch_bytes() < before / 10);
}

TEST_CASE("a failed apply keeps every staged page, and the retry applies them and drops the staging") {
  TempDir dir;
  Database db(dir.path + "/cache.db");
  Mirror mirror(db);
  const int own_cache = db.sql().execAndGet("PRAGMA cache_size").getInt();
  mirror.stage(kPaused, projects(kPaused, 1, 30));
  mirror.stage(kWs, projects(kWs, 100, 399));
  // The apply's insert fails, as a full disk would make it.
  db.sql().exec("CREATE TEMP TRIGGER refuse BEFORE INSERT ON main.projects BEGIN SELECT RAISE(ABORT, 'injected'); END");
  CHECK_THROWS(mirror.reconcile(kWs, now_utc()));
  CHECK(staged(db, kWs) == 300);
  CHECK(staged(db, kPaused) == 30);
  CHECK(mirror.live_count(kWs) == 0);
  CHECK(db.sql().execAndGet("PRAGMA cache_size").getInt() == own_cache);
  db.sql().exec("DROP TRIGGER refuse");
  CHECK(mirror.reconcile(kWs, now_utc()).inserted == 300);
  CHECK(staged(db, kWs) == 0);
  CHECK(staged(db, kPaused) == 30);
  // And a workspace staged alone, once its apply has failed, is dropped whole by the retry.
  mirror.stage(kPaused, projects(kPaused, 31, 40));
  db.sql().exec("CREATE TEMP TRIGGER refuse BEFORE INSERT ON main.projects BEGIN SELECT RAISE(ABORT, 'injected'); END");
  CHECK_THROWS(mirror.reconcile(kPaused, now_utc()));
  CHECK(staged(db, kPaused) == 40);
  db.sql().exec("DROP TRIGGER refuse");
  CHECK(mirror.reconcile(kPaused, now_utc()).inserted == 40);
  CHECK(staged(db, kPaused) == 0);
}

TEST_CASE("a staging detached or dropped behind the mirror's back is made again before it is used") {
  TempDir dir;
  Database db(dir.path + "/cache.db");
  Mirror mirror(db);
  db.detach(Mirror::kStagingSchema);  // as if the attach after a detach had failed
  mirror.stage(kWs, projects(kWs, 1, 5));
  CHECK(staged(db, kWs) == 5);
  db.sql().exec("DROP TABLE " + std::string(Mirror::kStagingSchema) + ".staging");  // as if its create had failed
  mirror.clear_staging(kWs);
  mirror.stage(kWs, projects(kWs, 1, 7));
  CHECK(mirror.reconcile(kWs, now_utc()).inserted == 7);
  CHECK(mirror.live_count(kWs) == 7);
}

TEST_CASE("a mirror grown by a quarter and 500 rows has its planner's statistics taken again, however the rows came") {
  TempDir dir;
  const std::string path = dir.path + "/cache.db";
  // The rows ANALYZE counted in one of the projects table's indexes, the
  // first number of its line in sqlite_stat1 (0: no line, never analyzed).
  auto analyzed_rows = [](Database& db) {
    if (!db.sql().tableExists("sqlite_stat1")) return std::int64_t{0};
    SQLite::Statement st(db.sql(), "SELECT stat FROM sqlite_stat1 WHERE tbl = 'projects' AND idx = 'projects_by_name'");
    if (!st.executeStep()) return std::int64_t{0};
    const std::string stat = st.getColumn(0).getString();
    return std::int64_t{std::stoll(stat.substr(0, stat.find(' ')))};
  };
  auto list = [](Mirror& mirror, Id last) {
    mirror.clear_staging(kWs);
    mirror.stage(kWs, projects(kWs, 1, last));
    return mirror.reconcile(kWs, now_utc()).inserted;
  };
  {
    Database db(path);
    Mirror mirror(db);
    CHECK(analyzed_rows(db) == 0);  // the schema's own ANALYZE, on an empty table
    CHECK(list(mirror, 600) == 600);
    CHECK(analyzed_rows(db) == 600);
    CHECK(list(mirror, 1000) == 400);  // 400 more: under 500
    CHECK(analyzed_rows(db) == 600);
    CHECK(list(mirror, 1200) == 200);  // 600 more than analyzed, and past a quarter of it
    CHECK(analyzed_rows(db) == 1200);
    // Rows that come one by one (a probe, a create that landed), then a
    // listing that finds them all stored already.
    for (const auto& p : projects(kWs, 1201, 1800)) REQUIRE(mirror.upsert_one(kWs, p, now_utc()));
    CHECK(list(mirror, 1800) == 0);
    CHECK(analyzed_rows(db) == 1800);
  }
  // Opened again: the statistics are known to be of 1,800 rows, so 400 more are not enough.
  Database db(path);
  Mirror mirror(db);
  CHECK(list(mirror, 2200) == 400);
  CHECK(analyzed_rows(db) == 1800);
}
