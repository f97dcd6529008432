#include "store/database.hpp"

#include "core/folder_check.hpp"

#include <sqlite3.h>

#include <SQLiteCpp/Statement.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <pwd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace focus::store {
namespace {

std::string errno_text() { return std::strerror(errno); }

// The files SQLite and focussync keep for the cache `leaf`: the database,
// its write-ahead log, shared-memory index, rollback journal and lock file.
std::vector<std::string> cache_file_names(const std::string& leaf) {
  return {leaf, leaf + "-wal", leaf + "-shm", leaf + "-journal", leaf + ".lock"};
}

// Whether `folder` holds nothing but the cache's own files, so making it
// private takes nothing away from anyone else.
bool holds_only_the_cache(const std::filesystem::path& folder, const std::string& leaf) {
  auto names = cache_file_names(leaf);
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(folder, ec))
    if (std::find(names.begin(), names.end(), entry.path().filename().string()) == names.end()) return false;
  return !ec;
}

}  // namespace

namespace {

// What refuses an existing cache folder (see prepare_folder), or nullopt.
std::optional<std::string> existing_folder_problem(const std::filesystem::path& folder, const std::string& leaf) {
  struct stat st {};
  if (::stat(folder.c_str(), &st) != 0) return "cannot open the cache folder '" + folder.string() + "': " + errno_text();
  if (!S_ISDIR(st.st_mode)) return "the cache folder '" + folder.string() + "' is not a folder";
  if (st.st_uid != ::geteuid())
    return "the cache folder '" + folder.string() + "' belongs to " + user_name(st.st_uid) + ", not to " +
           user_name(::geteuid()) + " that focussyncd runs as, so the cache would not be private; give it to " +
           "this user (chown) or set [cache] path to a folder of this user's";
  if ((st.st_mode & 077) != 0 && !holds_only_the_cache(folder, leaf))
    return "the cache folder '" + folder.string() + "' is open to group or others (mode " + octal_mode(st.st_mode) +
           ") and holds other files too; make it private with `chmod 700 " + folder.string() +
           "`, or set [cache] path to a file in a folder of its own";
  return std::nullopt;
}

std::filesystem::path folder_of(const std::filesystem::path& file) {
  return file.parent_path().empty() ? std::filesystem::path(".") : file.parent_path();
}

}  // namespace

std::optional<std::string> cache_folder_problem(const std::string& cache_path) {
  std::filesystem::path file(cache_path);
  auto folder = folder_of(file);
  std::error_code ec;
  if (!std::filesystem::exists(folder, ec)) return folder_creation_problem(folder, "the cache folder");
  return existing_folder_problem(folder, file.filename().string());
}

// The cache is the user's alone: its folder is created 0700 and must belong
// to focussyncd's user. A folder of an older focussync that others can read
// (the umask made it 0755) is made 0700, as nothing but the cache is in
// it; a shared folder holding other files is refused, since changing its
// mode would change it for whatever else lives there.
void Database::prepare_folder() {
  std::filesystem::path file(path_);
  auto folder = folder_of(file);
  if (auto problem = create_private_folders(folder, "the cache folder")) throw StoreError(*problem);
  if (auto problem = existing_folder_problem(folder, file.filename().string())) throw StoreError(*problem);
  struct stat st {};
  if (::stat(folder.c_str(), &st) != 0) throw StoreError("cannot open the cache folder '" + folder.string() + "': " + errno_text());
  if ((st.st_mode & 077) == 0) return;
  if (::chmod(folder.c_str(), 0700) != 0)
    throw StoreError("cannot make the cache folder '" + folder.string() + "' private: " + errno_text());
  spdlog::warn("the cache folder '{}' was open to group or others (mode {}); made it 0700", folder.string(), octal_mode(st.st_mode));
}

// Every cache file 0600 whatever the umask: the database file is created
// 0600 before SQLite opens it, because SQLite gives the -wal, -shm and
// journal files it creates the database file's mode; files an older
// focussync left open to others are made 0600 (and logged).
void Database::make_files_private() {
  int fd = ::open(path_.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd >= 0) ::close(fd);
  else if (errno != EEXIST) throw StoreError("cannot create the cache '" + path_ + "': " + errno_text());
  std::filesystem::path file(path_);
  for (const auto& name : cache_file_names(file.filename().string())) {
    std::string each = (file.parent_path() / name).string();
    struct stat st {};
    if (::lstat(each.c_str(), &st) != 0 || !S_ISREG(st.st_mode) || (st.st_mode & 077) == 0) continue;
    if (::chmod(each.c_str(), 0600) != 0) throw StoreError("cannot make the cache file '" + each + "' private: " + errno_text());
    spdlog::warn("the cache file '{}' was open to group or others (mode {}); made it 0600", each, octal_mode(st.st_mode));
  }
}

namespace {

// FOCUSSYNC_UNSAFE_SYNCHRONOUS_NORMAL=1 brings back the behaviour from
// before the durability contract (synchronous = NORMAL for every commit, an
// acknowledged edit not yet on disk). It exists only so the benchmark can
// measure the contract's cost ("before") and the power-loss test can show
// its harness catches a lost edit; it is not an option for users.
bool unsafe_synchronous_normal() {
  const char* v = std::getenv("FOCUSSYNC_UNSAFE_SYNCHRONOUS_NORMAL");
  return v && *v && std::string(v) != "0";
}

// What the lock file says once its owner has closed the cache; while open it
// holds the owner's pid.
constexpr std::string_view kClosedCleanly = "closed cleanly\n";

// Whether a -wal or a rollback -journal is left beside the cache: SQLite
// removes them when the last connection closes cleanly.
bool journal_left_behind(const std::string& path) {
  struct stat st {};
  return ::lstat((path + "-wal").c_str(), &st) == 0 || ::lstat((path + "-journal").c_str(), &st) == 0;
}

// SQLite's allocation statistics take a process-wide mutex on every
// allocation, a tenth of a filtered page's CPU with the connection's own
// mutex; nothing here reads them. Only possible before SQLite initialises.
void stop_allocation_statistics() {
  static const bool stopped = ::sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0) == SQLITE_OK;
  (void)stopped;
}

}  // namespace

Database::Database(const std::string& path) : path_(path) {
  stop_allocation_statistics();
  StorageHealth::install();
  StorageHealth::instance().watch(path);
  prepare_folder();
  lock();
  try {
    open_locked();
  } catch (...) {
    // A cache refused here is not held: the next try, in this process or
    // another, opens it afresh (and checks it again: kClosedCleanly was not
    // written).
    forget_statements();
    db_.reset();
    close(lock_fd_);
    lock_fd_ = -1;
    throw;
  }
}

void Database::open_locked() {
  make_files_private();
  // The check's cost grows with the cache (a fifth of a no-change `--once`
  // resync's CPU on 100,000 projects), so it runs only when the last owner
  // did not close the cache: a crash, a kill, a power cut, or a check that
  // refused it (that owner never wrote kClosedCleanly either).
  const bool check_first = last_owner_ != kClosedCleanly || journal_left_behind(path_);
  try {
    // No connection mutex: this connection is used on one thread (the
    // io_context's), as the header says; the SQL reader has its own.
    db_ = std::make_unique<SQLite::Database>(path_, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE | SQLite::OPEN_NOMUTEX);
    db_->exec("PRAGMA busy_timeout = 5000");
    db_->exec("PRAGMA journal_mode = WAL");
    durable_ = !unsafe_synchronous_normal();
    if (!durable_) spdlog::warn("FOCUSSYNC_UNSAFE_SYNCHRONOUS_NORMAL is set: acknowledged edits are not synced to disk");
    set_synchronous(durable_);
    db_->exec("PRAGMA foreign_keys = ON");
    own_page_cache_ = db_->execAndGet("PRAGMA cache_size").getInt();
    ::sqlite3_commit_hook(db_->getHandle(), &Database::count_commit, this);
    if (check_first) quick_check();
    struct stat st {};
    if (::stat(path_.c_str(), &st) == 0) file_identity_ = std::make_pair(st.st_dev, st.st_ino);
  } catch (const SQLite::Exception& e) {
    throw StoreError("cannot open the cache '" + path_ + "': " + e.what());
  }
  migrate();
}

int Database::count_commit(void* self) {
  auto* db = static_cast<Database*>(self);
  ++db->commits_;
  if (db->snapshot_held_) db->checkpoint_owed_ = true;  // its automatic checkpoint cannot run
  return 0;  // let it commit
}

void Database::quick_check() {
  if (!last_owner_.empty() && last_owner_ != kClosedCleanly)
    spdlog::info("the cache '{}' was not closed cleanly by its last owner (pid {}); checking it", path_, last_owner_);
  std::string check = db_->execAndGet("PRAGMA quick_check").getString();
  if (check != "ok")
    throw StoreError("the cache '" + path_ + "' is damaged (" + check + "); move it away and the next sync rebuilds it");
}

Database::~Database() {
  snapshot_.reset();
  forget_statements();  // every statement finalized before the connection closes
  db_.reset();
  if (lock_fd_ < 0) return;
  [[maybe_unused]] auto t = ftruncate(lock_fd_, 0);
  [[maybe_unused]] auto w = pwrite(lock_fd_, kClosedCleanly.data(), kClosedCleanly.size(), 0);
  close(lock_fd_);
}

void Database::lock() {
  std::string lock_path = path_ + ".lock";
  lock_fd_ = open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd_ < 0) throw StoreError("cannot open the lock file '" + lock_path + "': " + std::strerror(errno));
  if (flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    char pid[32] = {};
    [[maybe_unused]] auto n = pread(lock_fd_, pid, sizeof pid - 1, 0);
    close(lock_fd_);
    lock_fd_ = -1;
    throw StoreError("the cache '" + path_ + "' is in use by another focussyncd (pid " +
                     std::string(pid[0] ? pid : "unknown") + "); stop it first or use another [cache] path");
  }
  char last[32] = {};
  [[maybe_unused]] auto r = pread(lock_fd_, last, sizeof last - 1, 0);
  last_owner_ = last;
  std::string me = std::to_string(getpid());
  [[maybe_unused]] auto t = ftruncate(lock_fd_, 0);
  [[maybe_unused]] auto w = pwrite(lock_fd_, me.data(), me.size(), 0);
}

SQLite::Statement& Database::cached(const std::string& sql) {
  return hand_out(sql, statements_.find(std::string_view(sql)));
}

SQLite::Statement& Database::cached(const KeptSql& sql) { return hand_out(sql.text(), statements_.find(sql)); }

SQLite::Statement& Database::hand_out(const std::string& sql, Statements::iterator found) {
  if (found == statements_.end()) {
    if (statements_.size() >= kMaxKeptStatements) forget_idle_statements();
    found = statements_.try_emplace(sql).first;
  }
  Kept& slot = found->second;
  if (!slot.statement) slot.statement = std::make_unique<SQLite::Statement>(*db_, sql);
  if (!slot.handed_out) {
    slot.handed_out = true;
    handed_out_.push_back(&slot);
  }
  slot.statement->reset();
  slot.statement->clearBindings();
  return *slot.statement;
}

StorageProblem Database::check_file() {
  if (!file_identity_) return StorageProblem::none;  // an in-memory or special database
  struct stat st {};
  StorageProblem problem = StorageProblem::none;
  if (::stat(path_.c_str(), &st) != 0) problem = StorageProblem::removed;
  else if (std::make_pair(st.st_dev, st.st_ino) != *file_identity_) problem = StorageProblem::replaced;
  StorageHealth::instance().note_file(problem, path_);
  return problem;
}

void Database::write_back() {
  release_snapshot();  // VACUUM refuses to run beside an unfinished statement
  SQLite::Statement st(*db_, "VACUUM INTO ?");
  st.bind(1, path_);
  st.exec();
}

void Database::before_write() {
  release_snapshot();
  auto problem = check_file();
  if (problem != StorageProblem::none) throw StorageHealth::instance().failure();
}

void Database::write_failed(const SQLite::Exception& e) {
  auto problem = storage_problem_of(e.getExtendedErrorCode());
  if (problem == StorageProblem::none) throw;  // not the storage: the caller's error, as it was
  auto& health = StorageHealth::instance();
  health.note_sqlite_error(e.getExtendedErrorCode(), e.what());
  throw StorageFailure(problem, health.ok() ? std::string(e.what()) : health.status().message);
}

void Database::forget_statements() {
  handed_out_.clear();
  statements_.clear();
}

// Those handed out in this unit of work stay: their callers hold them.
void Database::forget_idle_statements() {
  std::erase_if(statements_, [](const auto& entry) { return !entry.second.handed_out; });
}

void Database::end_reads(Snapshot snapshot) {
  for (Kept* kept : handed_out_) {
    kept->statement->reset();
    kept->handed_out = false;
  }
  handed_out_.clear();
  if (snapshot == Snapshot::release || checkpoint_owed_) release_snapshot();
  if (snapshot == Snapshot::keep) hold_snapshot();
}

void Database::begin_reads() {
  if (snapshot_held_ && std::chrono::steady_clock::now() - snapshot_taken_ > kSnapshotLifetime) release_snapshot();
}

// A statement stepped to its first row keeps its read transaction open
// until it is reset (sqlite_schema always has rows: the migrations made
// tables). Inside an explicit transaction there is nothing to hold.
void Database::hold_snapshot() {
  if (snapshot_held_ || transaction_open()) return;
  if (!snapshot_) snapshot_ = std::make_unique<SQLite::Statement>(*db_, "SELECT 1 FROM main.sqlite_schema");
  snapshot_held_ = snapshot_->executeStep();
  snapshot_taken_ = std::chrono::steady_clock::now();
  if (!snapshot_held_) snapshot_->tryReset();
}

void Database::release_snapshot() {
  if (snapshot_held_) {
    snapshot_held_ = false;
    snapshot_->tryReset();  // a statement that stepped to a row resets cleanly
  }
  if (checkpoint_owed_) {
    checkpoint_owed_ = false;
    // What the commit beside the snapshot could not do (passive: it waits
    // on nobody; a failure leaves the frames to the next checkpoint).
    ::sqlite3_wal_checkpoint_v2(db_->getHandle(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
  }
}

void Database::refresh_statistics() {
  // The rows, from the largest rowid: one step down the table's b-tree,
  // where count(*) read every row of an index (2 % of a no-change resync of
  // 10,000). Rows are never deleted from projects (a deletion marks the
  // row) and never replaced, so each insert takes the next rowid.
  const std::int64_t rows = db_->execAndGet("SELECT coalesce(max(rowid), 0) FROM projects").getInt64();
  if (analyzed_rows_ < 0) {
    // What the statistics were taken on: the row count ANALYZE recorded
    // (each of the table's lines in sqlite_stat1 starts with it), 0 if none.
    analyzed_rows_ = 0;
    if (db_->tableExists("sqlite_stat1"))
      analyzed_rows_ = db_->execAndGet("SELECT coalesce(max(CAST(stat AS INTEGER)), 0) FROM sqlite_stat1 "
                                       "WHERE tbl = 'projects'")
                           .getInt64();
  }
  const std::int64_t change = rows > analyzed_rows_ ? rows - analyzed_rows_ : analyzed_rows_ - rows;
  if (change < 500 || change * 4 < analyzed_rows_) return;
  release_snapshot();
  db_->exec("ANALYZE main");  // not the listing's staging
  analyzed_rows_ = rows;
  forget_statements();  // plans are made at prepare time
}

// A connection's synchronous level may change between transactions; the
// next commit uses the level set when it runs.
void Database::set_synchronous(bool full) { db_->exec(full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL"); }

void Database::attach_scratch(const std::string& schema) {
  SQLite::Statement st(*db_, "ATTACH '' AS ?");
  // The name is a parameter: ATTACH takes an expression for it.
  st.bind(1, schema);
  st.exec();
}

void Database::detach(const std::string& schema) {
  end_reads();
  SQLite::Statement st(*db_, "DETACH ?");
  st.bind(1, schema);
  st.exec();
}

void Database::set_page_cache(int pragma_value) {
  db_->exec("PRAGMA cache_size = " + std::to_string(pragma_value));
}

void Database::restore_page_cache() noexcept {
  try {
    set_page_cache(own_page_cache_);  // SQLite frees the pages past it at once
  } catch (const std::exception& e) {
    spdlog::warn("cannot shrink the cache's page cache back: {}", e.what());
  }
}

void Database::relax_sync() {
  if (!durable_) return;
  relaxed_ = true;  // before the pragma: whatever it did, the next durable commit sets FULL again
  set_synchronous(false);
}

void Database::restore_sync() noexcept {
  if (!durable_) return;
  try {
    set_synchronous(true);
    relaxed_ = false;
  } catch (const std::exception& e) {
    // ensure_durable_sync() tries again before the next durable commit.
    spdlog::error("cannot set the cache back to synced commits: {}", e.what());
  }
}

void Database::ensure_durable_sync() {
  if (!relaxed_ || relaxing_) return;
  set_synchronous(true);
  relaxed_ = false;
}

bool Database::transaction_open() { return sqlite3_get_autocommit(db_->getHandle()) == 0; }

int Database::schema_version() { return db_->execAndGet("PRAGMA user_version").getInt(); }

int Database::latest_schema_version() { return static_cast<int>(migrations().size()); }

void Database::migrate() {
  int version = schema_version();
  if (version > latest_schema_version())
    throw StoreError("the cache '" + path_ + "' has schema version " + std::to_string(version) +
                     ", newer than this focussyncd knows (" + std::to_string(latest_schema_version()) + "); upgrade focussync");
  if (version == latest_schema_version()) return;
  // Every pending migration in one transaction: a cache is never left
  // between two versions, and making a new cache is one durable commit, not
  // one for each migration (ten fdatasyncs of the -wal before).
  try {
    in_transaction([&] {
      for (; version < latest_schema_version(); ++version) db_->exec(migrations()[version]);
      db_->exec("PRAGMA user_version = " + std::to_string(version));
    });
  } catch (const SQLite::Exception& e) {
    const int failed = std::min(version + 1, latest_schema_version());  // the migration, or the version's mark
    throw StoreError("cannot migrate the cache '" + path_ + "' to version " + std::to_string(failed) + ": " + e.what());
  }
}

}  // namespace focus::store
