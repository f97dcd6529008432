#pragma once
// SQL for local tools (docs/sql.md): read-only queries over the documented
// views of version 1 (projects, project_tags, members, changes, edits), on a
// connection of its own to the cache, opened read-only. The views show what
// the socket's reads show: the mirror with pending edits applied.
//
// The views are TEMP views of this connection alone, made when it opens;
// the cache's schema holds none of them, so the contract can change without
// a migration. An authorizer then lets a query read those views and call a
// short list of functions, and nothing else: no write, DDL, ATTACH, PRAGMA
// or load_extension, no internal table (sqlite_schema, the tables behind
// the views). A progress handler stops a query past its time limit, and
// rows past the limits (rows, bytes) are cut (truncated: true). A WAL reader: it never
// blocks the daemon's writer, nor waits for it.
//
// Refusals throw SqlRefused with the status to answer (400, 413 for an
// over-long query) and SQLite's own message. One thread at a time uses a
// SqlReader (the socket's SQL thread); interrupt() may be called from any
// thread.

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace focus::store {

// The contract, as /v1/sql/schema and docs/sql.md show it.
inline constexpr const char* kSqlViewsVersion = "v1";

struct SqlColumn {
  const char* name;
  const char* type;     // INTEGER, REAL or TEXT (NULL where the docs say so)
  const char* meaning;
  const char* expression;  // over the view's source (internal, not shown)
};

struct SqlView {
  const char* name;
  const char* meaning;
  std::span<const SqlColumn> columns;
  std::string (*source)();  // FROM ... (internal, not shown)
};

std::span<const SqlView> sql_views();

struct SqlLimits {
  std::chrono::milliseconds timeout{2000};
  std::int64_t max_rows = 10'000;
  std::size_t max_query_bytes = 64 * 1024;
  // The cells' JSON in one answer, at most: rows past it are cut like rows
  // past max_rows. An answer is held whole in memory until its client has
  // read it (docs/sql.md gives what that cost without this limit).
  std::size_t max_answer_bytes = 8 * 1024 * 1024;
};

struct SqlAnswer {
  std::vector<std::string> columns;
  nlohmann::json rows = nlohmann::json::array();  // an array of arrays, in column order
  bool truncated = false;
};

// A parameter given as text (GET /v1/sql?param=, focusctl sql --param):
// one that reads whole as an integer or a decimal number is bound as that
// number (the views' values have no type affinity, so 1103 and '1103'
// differ), anything else as the text.
nlohmann::json sql_param_from_text(std::string_view text);

class SqlRefused : public std::runtime_error {
 public:
  SqlRefused(int status, const std::string& what) : std::runtime_error(what), status_(status) {}
  int status() const { return status_; }

 private:
  int status_;
};

class SqlReader {
 public:
  // Opens `cache_path` read-only (the daemon has made and migrated it).
  // Throws SqlRefused(503) when it cannot.
  SqlReader(const std::string& cache_path, SqlLimits limits);
  ~SqlReader();
  SqlReader(const SqlReader&) = delete;
  SqlReader& operator=(const SqlReader&) = delete;

  // One statement; `params` is null, or an array bound to ?1, ?2, ...
  // `abandoned`, when given, is this query's own: set from any thread (its
  // client left), it stops this query and no other.
  SqlAnswer run(std::string_view query, const nlohmann::json& params,
                const std::atomic<bool>* abandoned = nullptr);
  // Stops the running query and those that follow (it answers SqlRefused),
  // from any thread: for stopping the daemon.
  void interrupt();

  const SqlLimits& limits() const { return limits_; }

 private:
  static int authorize(void* self, int action, const char* a, const char* b, const char* database, const char* inner);
  static int progress(void* self);
  void bind(sqlite3_stmt* st, const nlohmann::json& params);
  SqlLimits limits_;
  sqlite3* db_ = nullptr;
  std::chrono::steady_clock::time_point deadline_;
  std::atomic<bool> interrupted_{false};
  const std::atomic<bool>* abandoned_ = nullptr;  // the running query's, while it runs
};

}  // namespace focus::store
