// The durability contract's sync policy: every commit of the cache is synced
// (synchronous = FULL) except the listing's bulk writes, which ask for it
// not to be; the relaxed level never outlives its transaction. The power
// cut itself is simulated in tests/powerloss.
#include "store/database.hpp"
#include "store/mirror.hpp"
#include "support/sim_process.hpp"

#include <doctest/doctest.h>
#include <sqlite3.h>

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

using namespace focus;
using namespace focus::store;

namespace {

using test::TempDir;

constexpr int kNormal = 1, kFull = 2;

int synchronous(Database& db) { return db.sql().execAndGet("PRAGMA synchronous").getInt(); }

}  // namespace

TEST_CASE("every commit is synced unless it is a relaxed one, and relaxed ends with its transaction") {
  TempDir dir;
  Database db(dir.path + "/cache.db");
  CHECK(synchronous(db) == kFull);
  db.in_relaxed_transaction([&] { CHECK(synchronous(db) == kNormal); });
  CHECK(synchronous(db) == kFull);
  CHECK_THROWS_AS(db.in_relaxed_transaction([&]() -> int { throw std::runtime_error("work failed"); }), std::runtime_error);
  CHECK(synchronous(db) == kFull);
  CHECK_FALSE(db.transaction_open());
  // Joined into a durable transaction, relaxed work is as durable as it.
  db.in_transaction([&] { db.in_relaxed_transaction([&] { CHECK(synchronous(db) == kFull); }); });
  CHECK(db.in_relaxed_transaction([] { return 7; }) == 7);
}

TEST_CASE("the listing's bulk writes are relaxed; what reaches the mirror or the change log is synced") {
  TempDir dir;
  Database db(dir.path + "/cache.db");
  Mirror mirror(db);
  const WorkspaceKey ws{1, 1};
  // The statements as SQLite runs them: the level set before each commit.
  std::vector<std::string> ran;
  sqlite3_trace_v2(
      db.sql().getHandle(), SQLITE_TRACE_STMT,
      [](unsigned, void* out, void* stmt, void*) {
        const char* sql = sqlite3_sql(static_cast<sqlite3_stmt*>(stmt));
        static_cast<std::vector<std::string>*>(out)->push_back(sql ? sql : "");
        return 0;
      },
      &ran);
  auto levels_at_commits = [&] {
    std::vector<std::string> out;
    std::string level = "FULL";
    for (const auto& s : ran) {
      if (s.find("PRAGMA synchronous = NORMAL") != std::string::npos) level = "NORMAL";
      if (s.find("PRAGMA synchronous = FULL") != std::string::npos) level = "FULL";
      if (s.find("COMMIT") != std::string::npos) out.push_back(level);
    }
    ran.clear();
    return out;
  };
  model::Project p;
  p.id = 1000;
  p.workspace_id = 1;
  p.name = "Staged";
  auto f = fetched(p);
  // Another workspace's paused listing: clearing this one's staging deletes
  // its rows (a staging of one workspace alone is detached instead, and
  // attached again with an autocommit of its own, not a transaction).
  const WorkspaceKey other{1, 2};
  mirror.stage(other, {f});
  mirror.clear_staging(ws);
  mirror.stage(ws, {f});
  mirror.record_error(ws, "offline");
  CHECK(levels_at_commits() == std::vector<std::string>{"NORMAL", "NORMAL", "NORMAL", "NORMAL"});
  mirror.reconcile(ws, now_utc());
  auto reconciled = levels_at_commits();
  REQUIRE_FALSE(reconciled.empty());
  CHECK(reconciled.front() == "FULL");
  CHECK(synchronous(db) == kFull);
  sqlite3_trace_v2(db.sql().getHandle(), 0, nullptr, nullptr);
}

TEST_CASE("FOCUSSYNC_UNSAFE_SYNCHRONOUS_NORMAL brings back the old level, for the benchmark only") {
  TempDir dir;
  ::setenv("FOCUSSYNC_UNSAFE_SYNCHRONOUS_NORMAL", "1", 1);
  Database db(dir.path + "/cache.db");
  ::unsetenv("FOCUSSYNC_UNSAFE_SYNCHRONOUS_NORMAL");
  CHECK(synchronous(db) == kNormal);
  db.in_relaxed_transaction([&] { CHECK(synchronous(db) == kNormal); });
  CHECK(synchronous(db) == kNormal);
}
