#include "store/database.hpp"

#include <sqlite3.h>

#include <SQLiteCpp/Statement.h>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace focus::store {

Database::Database(const std::string& path) : path_(path) {
  StorageHealth::install();
  StorageHealth::instance().watch(path);
  auto folder = std::filesystem::path(path).parent_path();
  if (!folder.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(folder, ec);
    if (ec) throw StoreError("cannot create the cache folder '" + folder.string() + "': " + ec.message());
  }
  lock();
  try {
    db_ = std::make_unique<SQLite::Database>(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    db_->exec("PRAGMA busy_timeout = 5000");
    db_->exec("PRAGMA journal_mode = WAL");
    db_->exec("PRAGMA synchronous = NORMAL");
    db_->exec("PRAGMA foreign_keys = ON");
    std::string check = db_->execAndGet("PRAGMA quick_check").getString();
    if (check != "ok") throw StoreError("the cache '" + path + "' is damaged (" + check + "); move it away and the next sync rebuilds it");
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0) file_identity_ = std::make_pair(st.st_dev, st.st_ino);
  } catch (const SQLite::Exception& e) {
    throw StoreError("cannot open the cache '" + path + "': " + e.what());
  }
  migrate();
}

Database::~Database() {
  statements_.clear();  // every statement finalized before the connection closes
  db_.reset();
  if (lock_fd_ >= 0) close(lock_fd_);
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
  std::string me = std::to_string(getpid());
  [[maybe_unused]] auto t = ftruncate(lock_fd_, 0);
  [[maybe_unused]] auto w = pwrite(lock_fd_, me.data(), me.size(), 0);
}

SQLite::Statement& Database::cached(const std::string& sql) {
  auto& slot = statements_[sql];
  if (!slot) slot = std::make_unique<SQLite::Statement>(*db_, sql);
  slot->reset();
  slot->clearBindings();
  return *slot;
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
  SQLite::Statement st(*db_, "VACUUM INTO ?");
  st.bind(1, path_);
  st.exec();
}

void Database::before_write() {
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

void Database::end_reads() {
  for (auto& [sql, statement] : statements_) statement->reset();
}

void Database::refresh_statistics() {
  const std::int64_t rows = db_->execAndGet("SELECT count(*) FROM projects").getInt64();
  if (analyzed_rows_ < 0) {
    // What the statistics were taken on, as far as this process knows.
    analyzed_rows_ = db_->tableExists("sqlite_stat1") ? rows : 0;
  }
  const std::int64_t change = rows > analyzed_rows_ ? rows - analyzed_rows_ : analyzed_rows_ - rows;
  if (change < 500 || change * 4 < analyzed_rows_) return;
  db_->exec("ANALYZE");
  analyzed_rows_ = rows;
  statements_.clear();  // plans are made at prepare time
}

bool Database::transaction_open() { return sqlite3_get_autocommit(db_->getHandle()) == 0; }

int Database::schema_version() { return db_->execAndGet("PRAGMA user_version").getInt(); }

int Database::latest_schema_version() { return static_cast<int>(migrations().size()); }

void Database::migrate() {
  int version = schema_version();
  if (version > latest_schema_version())
    throw StoreError("the cache '" + path_ + "' has schema version " + std::to_string(version) +
                     ", newer than this focussyncd knows (" + std::to_string(latest_schema_version()) + "); upgrade focussync");
  for (; version < latest_schema_version(); ++version) {
    try {
      in_transaction([&] {
        db_->exec(migrations()[version]);
        db_->exec("PRAGMA user_version = " + std::to_string(version + 1));
      });
    } catch (const SQLite::Exception& e) {
      throw StoreError("cannot migrate the cache '" + path_ + "' to version " + std::to_string(version + 1) + ": " + e.what());
    }
  }
}

}  // namespace focus::store
