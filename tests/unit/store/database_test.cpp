// The cache file: creation, migrations, integrity, the single-owner lock.
#include "fixture.hpp"
#include "store/database.hpp"
#include "store/edit_queue.hpp"
#include "store/mirror.hpp"
#include "support/sim_process.hpp"

#include <SQLiteCpp/Statement.h>
#include <sqlite3.h>
#include <doctest/doctest.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace focus;
using namespace focus::store;

namespace {

using test::TempDir;

}  // namespace

TEST_CASE("a new cache is created at the latest schema, in WAL mode") {
  TempDir dir;
  Database db(dir.path + "/sub/cache.db");
  CHECK(db.schema_version() == Database::latest_schema_version());
  CHECK(db.sql().execAndGet("PRAGMA journal_mode").getString() == "wal");
  CHECK(db.sql().execAndGet("PRAGMA foreign_keys").getInt() == 1);
  CHECK(db.sql().tableExists("projects"));
  CHECK(db.sql().tableExists("changes"));
}

TEST_CASE("migrations run from every older version, keeping data, in one commit") {
  TempDir dir;
  for (int from = 0; from < Database::latest_schema_version(); ++from) {
    std::string path = dir.path + "/v" + std::to_string(from) + ".db";
    {
      SQLite::Database raw(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
      for (int i = 0; i < from; ++i) raw.exec(migrations()[i]);
      raw.exec("PRAGMA user_version = " + std::to_string(from));
    }
    Database db(path);
    CHECK(db.schema_version() == Database::latest_schema_version());
    // One durable commit (one fdatasync), never a cache between versions.
    CHECK_MESSAGE(db.commits() == 1, "from version " << from);
  }
  Database again(dir.path + "/v0.db");
  CHECK(again.commits() == 0);  // nothing left to migrate: no commit at all
}

TEST_CASE("migration 2 keeps the change log and its sequence, even past pruned rows") {
  TempDir dir;
  std::string path = dir.path + "/v1.db";
  {
    SQLite::Database raw(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    raw.exec(migrations()[0]);
    raw.exec("PRAGMA user_version = 1");
    for (int i = 1; i <= 5; ++i)
      raw.exec("INSERT INTO changes (organization_id, workspace_id, project_id, kind, fields, at) VALUES (1, 1, " +
               std::to_string(i) + ", 'update', '[\"name\"]', 0)");
    raw.exec("DELETE FROM changes WHERE seq > 3");  // pruned: the sequence must still not go back
  }
  Database db(path);
  CHECK(db.sql().execAndGet("SELECT count(*) FROM changes").getInt() == 3);
  CHECK(db.sql().execAndGet("SELECT fields FROM changes WHERE seq = 2").getString() == "[\"name\"]");
  db.sql().exec("INSERT INTO changes (organization_id, workspace_id, project_id, kind, fields, at, detail) "
                "VALUES (1, 1, 9, 'edit', '[]', 0, '{}')");
  CHECK(db.sql().execAndGet("SELECT max(seq) FROM changes").getInt() == 6);
  CHECK(db.sql().tableExists("edits"));
  CHECK(db.sql().tableExists("overlay"));
}

TEST_CASE("migration 5 turns sync_state's RFC 3339 texts into the same instants in microseconds") {
  TempDir dir;
  std::string path = dir.path + "/v4.db";
  const std::vector<std::string> written = {"2026-01-31T09:15:00.123456Z", "2026-01-31T09:15:00Z",
                                            "1999-12-31T23:59:59.999999Z", "2026-03-29T01:00:00.000001Z"};
  {
    SQLite::Database raw(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    for (int i = 0; i < 4; ++i) raw.exec(migrations()[i]);
    raw.exec("PRAGMA user_version = 4");
    for (std::size_t i = 0; i < written.size(); ++i) {
      SQLite::Statement st(raw, "INSERT INTO sync_state (organization_id, workspace_id, last_attempt_at, last_success_at, "
                                "last_full_listing_at, last_error, project_count, newest_updated_at, requests_spent, "
                                "quota_remaining, quota_resets_at, probe_note) "
                                "VALUES (1, ?1, ?2, ?2, ?2, 'e', 7, 1769850900123456, 12, 3, ?2, 'n')");
      st.bind(1, static_cast<std::int64_t>(i + 1));
      st.bind(2, written[i]);
      st.exec();
    }
    // Other spellings parse_rfc3339 reads, a text that is no time, and none.
    raw.exec("INSERT INTO sync_state (organization_id, workspace_id, last_attempt_at, last_success_at, "
             "last_full_listing_at, quota_resets_at) VALUES "
             "(2, 1, '2026-01-31T11:15:00.5+02:00', '2026-01-31T09:15:00.1234567Z', 'not a time', NULL)");
  }
  Database db(path);
  Mirror mirror(db);
  for (std::size_t i = 0; i < written.size(); ++i) {
    auto s = mirror.sync_state({1, static_cast<Id>(i + 1)});
    const auto expected = parse_rfc3339(written[i]);
    REQUIRE(expected);
    CHECK(s.last_attempt_at == expected);
    CHECK(s.last_success_at == expected);
    CHECK(s.last_full_listing_at == expected);
    CHECK(s.quota_resets_at == expected);
    REQUIRE(s.last_success_at);
    CHECK(format_rfc3339(*s.last_success_at) == written[i]);  // what /v1/status shows is unchanged
    CHECK(s.last_error == "e");
    CHECK(s.project_count == 7);
    CHECK(s.newest_updated_at == parse_rfc3339("2026-01-31T09:15:00.123456Z"));
    CHECK(s.requests_spent == 12);
    CHECK(s.quota_remaining == 3);
    CHECK(s.probe_note == "n");
  }
  auto other = mirror.sync_state({2, 1});
  CHECK(other.last_attempt_at == parse_rfc3339("2026-01-31T11:15:00.5+02:00"));
  CHECK(other.last_success_at == parse_rfc3339("2026-01-31T09:15:00.1234567Z"));
  CHECK_FALSE(other.last_full_listing_at);
  CHECK_FALSE(other.quota_resets_at);
  CHECK(db.sql().execAndGet("SELECT typeof(last_success_at) FROM sync_state WHERE organization_id = 1 LIMIT 1")
            .getString() == "integer");
  CHECK(db.sql().execAndGet("SELECT count(*) FROM sqlite_temp_master WHERE name = 'v5_times'").getInt() == 0);
  // Written and read back in microseconds from now on.
  const auto at = *parse_rfc3339("2026-02-01T00:00:00.000042Z");
  mirror.record_attempt({3, 3}, at, 1, 5, at + std::chrono::hours(1));
  auto fresh = mirror.sync_state({3, 3});
  CHECK(fresh.last_attempt_at == at);
  CHECK(fresh.quota_resets_at == at + std::chrono::hours(1));
}

TEST_CASE("a cache from a newer focussync is refused, not damaged") {
  TempDir dir;
  std::string path = dir.path + "/new.db";
  {
    SQLite::Database raw(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    raw.exec("PRAGMA user_version = 999");
  }
  CHECK_THROWS_WITH_AS(Database{path}, doctest::Contains("newer than this focussyncd knows"), StoreError);
}

TEST_CASE("a file that is not a database is refused with a clear message") {
  TempDir dir;
  std::string path = dir.path + "/junk.db";
  std::ofstream(path) << std::string(8192, 'x');
  CHECK_THROWS_WITH_AS(Database{path}, doctest::Contains("cannot open the cache"), StoreError);
}

TEST_CASE("a damaged cache left open by a killed process is refused with what to do") {
  TempDir dir;
  const std::string path = dir.path + "/cache.db";
  {
    Database db(path);
    db.sql().exec("CREATE TABLE filler(n INTEGER PRIMARY KEY, body BLOB)");
    db.sql().exec("WITH RECURSIVE k(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM k WHERE n < 2000) "
                  "INSERT INTO filler SELECT n, randomblob(500) FROM k");
  }
  REQUIRE_FALSE(std::filesystem::exists(path + "-wal"));  // closed cleanly: SQLite removed it
  {
    // A page in the middle of the table, overwritten as a bad disk might.
    const auto size = std::filesystem::file_size(path);
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(size / 2 / 4096 * 4096));
    f << std::string(4096, '\xee');
  }
  int ready[2];
  REQUIRE(pipe(ready) == 0);
  pid_t child = fork();
  if (child == 0) {
    close(ready[0]);
    Database db(path);
    [[maybe_unused]] auto w = write(ready[1], "x", 1);
    pause();
    _exit(0);
  }
  close(ready[1]);
  char byte = 0;
  REQUIRE(read(ready[0], &byte, 1) == 1);
  close(ready[0]);
  kill(child, SIGKILL);
  int status = 0;
  waitpid(child, &status, 0);
  REQUIRE(std::filesystem::exists(path + "-wal"));  // what the killed process left behind
  CHECK_THROWS_WITH_AS(Database{path}, doctest::Contains("is damaged"), StoreError);
  CHECK_THROWS_WITH_AS(Database{path}, doctest::Contains("move it away and the next sync rebuilds it"), StoreError);
}

TEST_CASE("an edit row changed by hand: an unknown op or state is refused, a body that is not JSON is named") {
  TempDir dir;
  Database db(dir.path + "/cache.db");
  Mirror mirror(db);
  EditQueue queue(db, mirror);
  auto made = queue.submit(WorkspaceKey{1, 1}, model::EditOp::create, 0, {{"name", "by hand"}}, now_utc());
  CHECK_THROWS_WITH_AS(db.sql().exec("UPDATE edits SET op = 'explode'"), doctest::Contains("CHECK constraint failed"),
                       SQLite::Exception);
  CHECK_THROWS_WITH_AS(db.sql().exec("UPDATE edits SET state = 'limbo'"), doctest::Contains("CHECK constraint failed"),
                       SQLite::Exception);
  db.sql().exec("UPDATE edits SET body = '{not json'");
  const auto id = std::to_string(made.edit.id);
  CHECK_THROWS_WITH_AS(queue.get(made.edit.id),
                       ("edit " + id + " in the cache is unreadable (body is not JSON): the cache was changed by hand "
                        "or is damaged").c_str(),
                       StoreError);
}

TEST_CASE("a second process cannot open the same cache") {
  TempDir dir;
  std::string path = dir.path + "/cache.db";
  Database first(path);
  pid_t child = fork();
  if (child == 0) {
    try {
      Database second(path);
      _exit(0);
    } catch (const StoreError& e) {
      _exit(std::string(e.what()).find("in use by another focussyncd (pid " + std::to_string(getppid())) !=
                    std::string::npos
                ? 3
                : 4);
    }
  }
  int status = 0;
  waitpid(child, &status, 0);
  CHECK(WEXITSTATUS(status) == 3);
}

namespace {

unsigned mode_of(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

// Sets the process umask for one test, as a user's shell would.
struct Umask {
  mode_t previous;
  explicit Umask(mode_t mask) : previous(::umask(mask)) {}
  ~Umask() { ::umask(previous); }
};

}  // namespace

TEST_CASE("under umask 022 the cache folder is 0700 and every cache file 0600") {
  TempDir dir;
  Umask loose(022);
  std::string folder = dir.path + "/share/focussync";
  {
    Database db(folder + "/cache.db");
    Mirror mirror(db);
    EditQueue queue(db, mirror);
    queue.submit(WorkspaceKey{1, 1}, model::EditOp::create, 0, {{"name", "private"}}, now_utc());
    REQUIRE(std::filesystem::exists(folder + "/cache.db-wal"));
    REQUIRE(std::filesystem::exists(folder + "/cache.db-shm"));
    CHECK(mode_of(dir.path + "/share") == 0700);
    CHECK(mode_of(folder) == 0700);
    for (const char* leaf : {"/cache.db", "/cache.db-wal", "/cache.db-shm", "/cache.db.lock"}) {
      INFO(leaf);
      CHECK(mode_of(folder + leaf) == 0600);
    }
  }
  // An ordinary file made under the same umask is 0644: the umask was real.
  std::ofstream(folder + "/witness") << "x";
  CHECK(mode_of(folder + "/witness") == 0644);
}

TEST_CASE("a cache an older focussync left open to others is made private on open") {
  TempDir dir;
  Umask loose(022);
  std::string folder = dir.path + "/focussync";
  REQUIRE(::mkdir(folder.c_str(), 0755) == 0);
  {
    SQLite::Database raw(folder + "/cache.db", SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    raw.exec("PRAGMA journal_mode = WAL");
    raw.exec("CREATE TABLE t (x)");
  }
  std::ofstream(folder + "/cache.db.lock") << "1";
  REQUIRE(mode_of(folder + "/cache.db") == 0644);
  REQUIRE(mode_of(folder) == 0755);
  Database db(folder + "/cache.db");
  CHECK(mode_of(folder) == 0700);
  CHECK(mode_of(folder + "/cache.db") == 0600);
  CHECK(mode_of(folder + "/cache.db.lock") == 0600);
}

TEST_CASE("a shared cache folder holding other files, or one owned by another user, is refused") {
  TempDir dir;
  std::string folder = dir.path + "/shared";
  REQUIRE(::mkdir(folder.c_str(), 0700) == 0);
  REQUIRE(::chmod(folder.c_str(), 0755) == 0);
  std::ofstream(folder + "/notes.txt") << "someone else's";
  CHECK_THROWS_WITH_AS(Database{folder + "/cache.db"},
                       doctest::Contains("is open to group or others (mode 0755) and holds other files too; make it "
                                         "private with `chmod 700"),
                       StoreError);
  CHECK(mode_of(folder) == 0755);  // left as it was
  CHECK_FALSE(std::filesystem::exists(folder + "/cache.db"));
  if (::geteuid() == 0) {  // only root can give a folder away
    std::string theirs = dir.path + "/theirs";
    REQUIRE(::mkdir(theirs.c_str(), 0700) == 0);
    REQUIRE(::chown(theirs.c_str(), 65534, 65534) == 0);
    CHECK_THROWS_WITH_AS(Database{theirs + "/cache.db"}, doctest::Contains("belongs to nobody (uid 65534), not to root (uid 0)"),
                         StoreError);
  }
}

TEST_CASE("a bulk write's wider page cache is given back, even when the write fails") {
  TempDir dir;
  Database db(dir.path + "/cache.db");
  auto cache_size = [&] { return db.sql().execAndGet("PRAGMA cache_size").getInt(); };
  const int own = cache_size();
  REQUIRE(own != -Database::kBulkPageCacheKib);
  db.with_bulk_page_cache([&] { CHECK(cache_size() == -Database::kBulkPageCacheKib); });
  CHECK(cache_size() == own);
  CHECK_THROWS_AS(db.with_bulk_page_cache([]() -> int { throw std::runtime_error("the disk is full"); }),
                  std::runtime_error);
  CHECK(cache_size() == own);
}

TEST_CASE("a listing's apply leaves the page cache no bigger than the connection's own") {
  TempDir dir;
  Database db(dir.path + "/cache.db");
  Mirror mirror(db);
  const WorkspaceKey ws{1, 1};
  // Enough projects that their rows and eleven indexes fill more than the
  // wide cache: the apply uses it whole, and what it leaves is what counts.
  std::vector<FetchedProject> page;
  for (Id id = 1; id <= 12'000; ++id)
    page.push_back(test::listed_project(
        ws, id,
        {{"name", "a project named " + std::to_string(id * 7919 % 100'003) + " for the page cache"},
         {"client_id", id % 97},
         {"color", "#0b83d9"},
         {"updated_at", "2024-05-0" + std::to_string(1 + id % 9) + "T10:00:00Z"}}));
  auto cache_used = [&] {
    int used = 0, highwater = 0;
    REQUIRE(sqlite3_db_status(db.sql().getHandle(), SQLITE_DBSTATUS_CACHE_USED, &used, &highwater, 0) == SQLITE_OK);
    return used;
  };
  const int own_bytes = -db.sql().execAndGet("PRAGMA cache_size").getInt() * 1024;
  REQUIRE(own_bytes > 0);
  mirror.clear_staging(ws);
  mirror.stage(ws, page);
  const auto outcome = mirror.reconcile(ws, now_utc());
  CHECK(outcome.inserted == 12'000);
  CHECK(db.sql().execAndGet("PRAGMA cache_size").getInt() * -1024 == own_bytes);
  // The main database's cache at its own size, with SQLite's few bytes of
  // bookkeeping per page; the staging's database was dropped after the
  // apply (a wide cache left as it was holds 10 MB here).
  MESSAGE("page cache after the apply: " << cache_used() << " bytes, budget " << own_bytes);
  CHECK(cache_used() <= own_bytes * 11 / 10 + 64 * 1024);
}
