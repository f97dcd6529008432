#pragma once
// The cache file: one SQLite database in WAL mode, opened with busy_timeout
// and foreign keys on, checked with PRAGMA quick_check when its last owner
// did not close it cleanly (the lock file says so), and brought to the
// current schema by versioned migrations (PRAGMA user_version), all pending
// ones in one transaction. A lock file beside it (flock) makes a second process
// refuse to open the same cache. The store is the only place SQL lives.
// Write transactions go through in_transaction(), which refuses them while
// the file is removed or replaced (they would reach a file nobody will open
// again) and turns a storage failure (full, I/O error, read-only) into a
// StorageFailure; see storage_health.hpp.
// The cache is private whatever the umask: its folder 0700 and owned by
// this user (an older one made 0700, a shared one refused), every file 0600.
//
// Durability (docs/promises/durability.md): every commit is synced to disk
// before it returns (synchronous = FULL: the -wal is fdatasync'ed), so an
// edit that was acknowledged, marked in flight or settled survives a power
// cut. Only the listing's bulk writes, which the next listing restores, ask
// for in_relaxed_transaction (synchronous = NORMAL: synced at checkpoints).
// A WAL cache after a power cut is always the state after some commit, and
// every synced commit is in it, so a lost relaxed commit takes nothing else.
// Open throws StoreError with a message a person can act on. Owned by the
// daemon's composition root; io_context thread only.

#include "core/heap.hpp"
#include "store/storage_health.hpp"

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <sys/types.h>
#include <utility>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace focus::store {

class StoreError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The text of a statement asked for on every request, with its hash taken
// once (a static): Database::cached then finds it without hashing a few
// hundred bytes of SQL again. sql_hash is the one hash both ways of asking use.
inline std::size_t sql_hash(std::string_view sql) { return std::hash<std::string_view>{}(sql); }

class KeptSql {
 public:
  explicit KeptSql(std::string text) : text_(std::move(text)), hash_(sql_hash(text_)) {}
  const std::string& text() const { return text_; }
  std::size_t hash() const { return hash_; }

 private:
  std::string text_;
  std::size_t hash_;
};

class Database {
 public:
  // Creates the file (and its folder) if needed. Throws StoreError when the
  // file is not a database, fails its integrity check, is newer than this
  // program, or is locked by another process, and when its folder belongs to
  // another user or is shared with others and holds other files.
  explicit Database(const std::string& path);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  SQLite::Database& sql() { return *db_; }
  const std::string& path() const { return path_; }
  int schema_version();
  static int latest_schema_version();

  // Runs `work` inside BEGIN IMMEDIATE ... COMMIT; rolls back if it throws.
  // Inside a transaction already, `work` simply joins it, so steps that are
  // atomic on their own can also be composed into a larger atomic step.
  // Throws StorageFailure when the storage cannot take the write (nothing
  // of `work` is kept then).
  template <class Work>
  auto in_transaction(Work&& work);
  bool transaction_open();
  // Like in_transaction, but the commit is not waited on to reach the disk:
  // for writes a power cut may lose because the next listing rewrites them
  // (staged pages, sync bookkeeping, members). Inside a transaction already,
  // `work` joins it and the outer transaction's durability applies.
  template <class Work>
  auto in_relaxed_transaction(Work&& work);

  // Runs `work` with a page cache of kBulkPageCacheKib instead of the
  // connection's own (SQLite's default, 2 MiB), then shrinks it back, even
  // if `work` throws, within a BulkMemory scope (core/heap.hpp), whose end
  // hands the freed pages to the system: the idle daemon keeps the memory it
  // had. For a listing's apply: on 100,000
  // projects its index updates outgrow 2 MiB, and every page evicted is
  // written to the WAL and read back (with 8 MiB, the first sync took 13 %
  // less CPU; docs/benchmarks.md).
  template <class Work>
  auto with_bulk_page_cache(Work&& work);
  static constexpr int kBulkPageCacheKib = 8192;

  // Attaches a private scratch database as `schema` (ATTACH '': a
  // temporary file, 0600 and already unlinked, that SQLite drops when it is
  // detached or the connection closes), and detaches it. Detaching ends
  // the reads in progress first (end_reads): while any statement is left
  // stepped, SQLite keeps every database that had a transaction in a read
  // one, and refuses to detach it. Neither runs inside a transaction.
  void attach_scratch(const std::string& schema);
  void detach(const std::string& schema);

  // Whether the path still names the file this connection opened; tells
  // StorageHealth (removed / replaced / fine again). Cheap (one stat).
  StorageProblem check_file();
  // Writes the open cache's contents to its path again (VACUUM INTO), after
  // the file was removed under us. Throws SQLite::Exception on failure.
  void write_back();

  // A prepared statement kept for reuse (reads served many times a second
  // would otherwise spend most of their time in sqlite3_prepare), reset and
  // with its bindings cleared. It must not be in use already: a hot query
  // is stepped to its end before the same SQL is asked for again. At most
  // kMaxKeptStatements are kept: past that, those not handed out since the
  // last end_reads are finalized (a list's SQL carries its filter values,
  // so its texts are many).
  SQLite::Statement& cached(const std::string& sql);
  SQLite::Statement& cached(const KeptSql& sql);
  static constexpr std::size_t kMaxKeptStatements = 64;
  std::size_t kept_statements() const { return statements_.size(); }
  // Resets every kept statement. One stepped to its first row and left there
  // holds a read transaction open, which pins the WAL snapshot: the
  // connection would stop seeing other writers' commits, its own next write
  // would fail with "database is locked", and checkpoints could not pass it
  // (the WAL would only grow). Called when a unit of work ends (a socket
  // request, an engine pass), when no kept statement is being stepped.
  //
  // Snapshot::keep (the socket, after each request) leaves, or opens, one
  // read transaction of the Database's own, so that the next request's
  // reads start none: each read transaction takes and drops a lock on the
  // -shm file, two fcntl calls, a third of a cached GET's system calls. That
  // is sound because this connection is the cache's one writer: every
  // write transaction (in_transaction, ANALYZE, VACUUM INTO) drops the
  // snapshot first, so a kept snapshot is never older than the last commit,
  // and the engine's passes begin and end with Snapshot::release, which
  // lets checkpoints restart the WAL. Other connections (the SQL reader)
  // only read. A write outside in_transaction would commit beside the
  // snapshot, where SQLite cannot checkpoint: the commit hook notes it, and
  // the snapshot is dropped and the WAL checkpointed at the next end_reads.
  enum class Snapshot { release, keep };
  void end_reads(Snapshot snapshot = Snapshot::release);
  // Called as a request begins: drops a kept snapshot older than
  // kSnapshotLifetime, so that a commit by another process (the cache is
  // focussyncd's alone, but a person may still write it with sqlite3) is
  // seen by the requests that start that long after it.
  void begin_reads();
  static constexpr std::chrono::milliseconds kSnapshotLifetime{10};
  // How many transactions this connection has committed (counted by
  // SQLite's commit hook, autocommits included). The daemon is the cache's
  // only writer, so a value read from the cache stays true while this
  // number stays the same: readers cache what they ask on every request
  // (the freshness headers) against it.
  std::uint64_t commits() const { return commits_; }
  // Refreshes the planner's statistics (ANALYZE) when the projects table
  // grew or shrank a lot since they were taken, so filtered reads use the
  // right index.
  void refresh_statistics();

 private:
  void prepare_folder();
  void make_files_private();
  void lock();
  void open_locked();  // everything after the lock
  void quick_check();
  static int count_commit(void* self);  // SQLite's commit hook
  void migrate();
  void before_write();
  [[noreturn]] void write_failed(const SQLite::Exception& e);
  std::optional<std::pair<dev_t, ino_t>> file_identity_;  // of the file opened
  void relax_sync();
  void restore_sync() noexcept;
  // Before a durable commit: the connection is back at FULL even if a
  // relaxed transaction could not set it back (throws SQLite::Exception, so
  // the write is refused rather than acknowledged unsynced).
  void ensure_durable_sync();
  void set_synchronous(bool full);
  void set_page_cache(int pragma_value);  // PRAGMA cache_size's own units
  void restore_page_cache() noexcept;
  int own_page_cache_ = 0;  // PRAGMA cache_size as the connection opened
  std::string path_;
  bool durable_ = true;  // false only under FOCUSSYNC_UNSAFE_SYNCHRONOUS_NORMAL (see database.cpp)
  bool relaxed_ = false;   // the connection is at NORMAL now
  bool relaxing_ = false;  // inside in_relaxed_transaction
  int lock_fd_ = -1;
  std::string last_owner_;  // the lock file's text when we took it: a pid, or kClosedCleanly
  std::unique_ptr<SQLite::Database> db_;
  struct Kept {
    std::unique_ptr<SQLite::Statement> statement;
    bool handed_out = false;  // since the last end_reads
  };
  // Found by a KeptSql's own hash, or by the text's.
  struct SqlHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view sql) const { return sql_hash(sql); }
    std::size_t operator()(const KeptSql& sql) const { return sql.hash(); }
  };
  struct SqlEqual {
    using is_transparent = void;
    bool operator()(std::string_view a, std::string_view b) const { return a == b; }
    bool operator()(const KeptSql& a, std::string_view b) const { return a.text() == b; }
    bool operator()(std::string_view a, const KeptSql& b) const { return a == b.text(); }
  };
  using Statements = std::unordered_map<std::string, Kept, SqlHash, SqlEqual>;
  Statements statements_;  // after db_: closed first
  SQLite::Statement& hand_out(const std::string& sql, Statements::iterator found);
  std::unique_ptr<SQLite::Statement> snapshot_;  // SELECT over sqlite_schema, stepped once while held
  bool snapshot_held_ = false;
  std::chrono::steady_clock::time_point snapshot_taken_;
  bool checkpoint_owed_ = false;  // a commit happened beside the snapshot
  void hold_snapshot();
  void release_snapshot();
  std::vector<Kept*> handed_out_;  // what end_reads resets, not every kept statement (map nodes do not move)
  void forget_statements();        // all of them, with handed_out_
  void forget_idle_statements();   // those not handed out
  std::int64_t analyzed_rows_ = -1;
  std::uint64_t commits_ = 0;
};

// Why a cache at `cache_path` could not be opened for this user's reasons
// of folder ownership and mode (or its folder not be made), judged without
// creating anything (for --check-config); nullopt when it could. The same
// rules the Database constructor applies.
std::optional<std::string> cache_folder_problem(const std::string& cache_path);

// The migrations, oldest first; migration i takes user_version i to i + 1.
const std::vector<const char*>& migrations();

}  // namespace focus::store

#include <SQLiteCpp/Transaction.h>

template <class Work>
auto focus::store::Database::in_transaction(Work&& work) {
  if (transaction_open()) return work();
  before_write();
  try {
    ensure_durable_sync();
    SQLite::Transaction tx(*db_, SQLite::TransactionBehavior::IMMEDIATE);
    if constexpr (std::is_void_v<decltype(work())>) {
      work();
      tx.commit();
      StorageHealth::instance().write_succeeded();
    } else {
      auto result = work();
      tx.commit();
      StorageHealth::instance().write_succeeded();
      return result;
    }
  } catch (const SQLite::Exception& e) {
    write_failed(e);  // rethrows, as StorageFailure when the storage is to blame
  }
}

template <class Work>
auto focus::store::Database::in_relaxed_transaction(Work&& work) {
  if (transaction_open()) return work();
  struct Restore {
    Database& db;
    ~Restore() {
      db.relaxing_ = false;
      db.restore_sync();
    }
  } restore{*this};
  relaxing_ = true;
  relax_sync();
  return in_transaction(std::forward<Work>(work));
}

template <class Work>
auto focus::store::Database::with_bulk_page_cache(Work&& work) {
  // Constructed first, so it ends last: the pages the page cache gives back
  // are handed to the system when the last open scope ends, this one or a
  // listing's around it (once, not once for each).
  const BulkMemory bulk;
  struct Restore {
    Database& db;
    ~Restore() { db.restore_page_cache(); }
  } restore{*this};
  set_page_cache(-kBulkPageCacheKib);  // negative: KiB, not pages
  return work();
}
