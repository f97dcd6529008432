// The read snapshot the socket keeps open between requests (Database::
// end_reads(Snapshot::keep)): it saves each GET the lock calls of a read
// transaction, and must cost nothing else: the daemon's own commits are
// seen at once, every kind of write still runs, and once released the WAL
// can be restarted again.
#include "store/database.hpp"
#include "support/sim_process.hpp"

#include <doctest/doctest.h>
#include <sqlite3.h>

#include <filesystem>
#include <string>
#include <thread>
#include <vector>

using namespace focus::store;
using focus::test::TempDir;

namespace {

// Another process's view of the cache (a backup tool, sqlite3): a plain
// connection that asks for a checkpoint that restarts the WAL.
class OtherConnection {
 public:
  // Reads once: a connection learns that the file is in WAL mode (and
  // can checkpoint it) at its first read.
  explicit OtherConnection(const std::string& path) {
    sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr);
    sqlite3_exec(db_, "SELECT count(*) FROM sqlite_schema", nullptr, nullptr, nullptr);
  }
  ~OtherConnection() { sqlite3_close(db_); }
  OtherConnection(const OtherConnection&) = delete;
  OtherConnection& operator=(const OtherConnection&) = delete;
  int restart_the_wal() { return sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr); }
  int exec(const char* sql) { return sqlite3_exec(db_, sql, nullptr, nullptr, nullptr); }

 private:
  sqlite3* db_ = nullptr;
};

int rows(Database& db) {
  auto& count = db.cached("SELECT count(*) FROM t");
  count.executeStep();
  return count.getColumn(0).getInt();
}

// A cache with one table `t` of `column`, its snapshot kept as the socket
// keeps it after a request.
struct HeldSnapshot {
  explicit HeldSnapshot(const char* column) {
    db.in_transaction([&] { db.sql().exec(std::string("CREATE TABLE t (") + column + ")"); });
    db.end_reads(Database::Snapshot::keep);
  }
  TempDir dir;
  const std::string path = dir.path + "/cache.db";
  Database db{path};
};

}  // namespace

TEST_CASE("a snapshot kept between socket requests hides no commit and stops no write") {
  TempDir dir;
  const std::string path = dir.path + "/cache.db";
  Database db(path);
  db.in_transaction([&] {
    db.sql().exec("CREATE TABLE t (x INTEGER)");
    db.sql().exec("INSERT INTO t VALUES (1)");
  });
  CHECK(rows(db) == 1);
  db.end_reads(Database::Snapshot::keep);
  OtherConnection other(path);
  // Held: a read transaction is open on the WAL, so it cannot be restarted.
  CHECK(other.restart_the_wal() == SQLITE_BUSY);

  SUBCASE("a write commits beside it, and the next read sees it") {
    db.in_transaction([&] { db.sql().exec("INSERT INTO t VALUES (2)"); });
    CHECK(rows(db) == 2);
    db.end_reads(Database::Snapshot::keep);
    CHECK(rows(db) == 2);
    db.sql().exec("INSERT INTO t VALUES (3)");  // a write outside in_transaction too
    CHECK(rows(db) == 3);
  }
  SUBCASE("a cache file removed under it is written back (VACUUM refuses to run beside an unfinished statement)") {
    std::filesystem::remove(path);
    CHECK_NOTHROW(db.write_back());
    CHECK(std::filesystem::exists(path));
  }
  SUBCASE("released at the end of an engine pass, the WAL can be restarted") {
    db.end_reads();
    CHECK(other.restart_the_wal() == SQLITE_OK);
  }
}

TEST_CASE("another process's commit is seen by the requests that begin once the kept snapshot has lived its time") {
  HeldSnapshot cache("x INTEGER");
  Database& db = cache.db;
  OtherConnection person_with_sqlite3(cache.path);
  REQUIRE(person_with_sqlite3.exec("INSERT INTO t VALUES (1)") == SQLITE_OK);
  std::this_thread::sleep_for(Database::kSnapshotLifetime + std::chrono::milliseconds(5));
  db.begin_reads();
  CHECK(rows(db) == 1);
  db.end_reads(Database::Snapshot::keep);
  // The engine's pass begins with a released snapshot, whatever its age.
  REQUIRE(person_with_sqlite3.exec("INSERT INTO t VALUES (2)") == SQLITE_OK);
  db.end_reads();
  CHECK(rows(db) == 2);
}

TEST_CASE("writes committed beside the kept snapshot, outside a transaction, do not grow the WAL without bound") {
  HeldSnapshot cache("x BLOB");
  Database& db = cache.db;
  // 3,000 commits of a page each: 12 MB of WAL if none could be checkpointed.
  for (int i = 0; i < 3000; ++i) {
    db.sql().exec("INSERT INTO t VALUES (zeroblob(3000))");
    db.end_reads(Database::Snapshot::keep);
  }
  CHECK(std::filesystem::file_size(cache.path + "-wal") < 2 * 1024 * 1024);
  CHECK(rows(db) == 3000);
}

TEST_CASE("kept statements whose text carries its values do not pile up, and none in use is dropped") {
  TempDir dir;
  Database db(dir.path + "/cache.db");
  for (int i = 0; i < 500; ++i) {  // a tool listing with ever new filter values
    auto& one = db.cached("SELECT " + std::to_string(i));
    REQUIRE(one.executeStep());
    db.end_reads(Database::Snapshot::keep);
  }
  CHECK(db.kept_statements() <= Database::kMaxKeptStatements);
  // Within one unit of work every statement handed out stays valid, even
  // past the bound.
  std::vector<SQLite::Statement*> in_use;
  for (int i = 0; i < 100; ++i) in_use.push_back(&db.cached("SELECT " + std::to_string(1000 + i)));
  for (int i = 0; i < 100; ++i) {
    REQUIRE(in_use[static_cast<std::size_t>(i)]->executeStep());
    CHECK(in_use[static_cast<std::size_t>(i)]->getColumn(0).getInt() == 1000 + i);
  }
  db.end_reads();
}

TEST_CASE("a statement asked for by its text or as KeptSql is the same kept statement") {
  TempDir dir;
  Database db(dir.path + "/cache.db");
  const std::string text = "SELECT 'kept', ?1";
  const KeptSql kept(text);
  auto& by_text = db.cached(text);
  by_text.bind(1, 7);
  REQUIRE(by_text.executeStep());
  CHECK(by_text.getColumn(1).getInt() == 7);
  db.end_reads();
  auto& by_key = db.cached(kept);
  CHECK(&by_key == &by_text);
  CHECK(db.kept_statements() == 1);
  // Handed out reset and with its bindings cleared, whichever way it was asked.
  REQUIRE(by_key.executeStep());
  CHECK(by_key.getColumn(1).isNull());
  db.end_reads();
  // Asked first as KeptSql, then by its text: still one.
  const KeptSql other("SELECT 'other'");
  auto& first = db.cached(other);
  db.end_reads();
  CHECK(&db.cached(other.text()) == &first);
  CHECK(db.kept_statements() == 2);
  db.end_reads();
}
