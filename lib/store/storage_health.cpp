#include "store/storage_health.hpp"

#include <spdlog/spdlog.h>
#include <sqlite3.h>
#include <sys/statvfs.h>

#include <filesystem>

namespace focus::store {

const char* storage_problem_name(StorageProblem p) {
  switch (p) {
    case StorageProblem::none: return "ok";
    case StorageProblem::full: return "full";
    case StorageProblem::io_error: return "io_error";
    case StorageProblem::read_only: return "read_only";
    case StorageProblem::removed: return "removed";
    case StorageProblem::replaced: return "replaced";
  }
  return "ok";
}

StorageProblem storage_problem_of(int code) {
  switch (code & 0xff) {  // the primary code
    case SQLITE_FULL: return StorageProblem::full;
    case SQLITE_IOERR: return StorageProblem::io_error;
    case SQLITE_READONLY: return StorageProblem::read_only;
    case SQLITE_CANTOPEN: return StorageProblem::io_error;
    default: return StorageProblem::none;
  }
}

namespace {

void on_sqlite_log(void*, int code, const char* message) {
  StorageHealth::instance().note_sqlite_error(code, message ? message : "");
}

std::string words_for(StorageProblem p, const std::string& detail) {
  switch (p) {
    case StorageProblem::full:
      return "the cache's file system is full: reads are served from what is cached, edits are refused; free some "
             "space and focussyncd resumes by itself";
    case StorageProblem::io_error:
      return "the cache cannot be written (I/O error: " + detail + "): reads are served from what is cached, edits "
             "are refused until a write succeeds again";
    case StorageProblem::read_only:
      return "the cache's file system is read-only: reads are served from what is cached, edits are refused until "
             "it is writable again";
    default: return detail;
  }
}

}  // namespace

void StorageHealth::install() {
  static const bool installed = [] {
    // Only possible before SQLite is initialised; then it holds for the process.
    return sqlite3_config(SQLITE_CONFIG_LOG, on_sqlite_log, nullptr) == SQLITE_OK;
  }();
  (void)installed;
}

StorageHealth& StorageHealth::instance() {
  static StorageHealth health;
  return health;
}

void StorageHealth::set(StorageProblem problem, std::string message) {
  if (problem == status_.problem && message == status_.message) return;
  if (problem == StorageProblem::none) spdlog::info("the cache's storage works again");
  else spdlog::error("{}", message);
  status_.since = problem == StorageProblem::none ? std::nullopt : std::optional<Timestamp>(now_utc());
  status_.problem = problem;
  status_.message = std::move(message);
}

void StorageHealth::note_sqlite_error(int code, const std::string& detail) {
  auto problem = storage_problem_of(code);
  if (problem == StorageProblem::none) return;
  // A file-level problem says more than the I/O errors it causes.
  if (status_.problem == StorageProblem::removed || status_.problem == StorageProblem::replaced) return;
  set(problem, words_for(problem, detail));
}

void StorageHealth::note_file(StorageProblem problem, const std::string& path) {
  if (problem == StorageProblem::removed) {
    set(problem, "the cache file '" + path + "' was removed while focussyncd runs: edits are refused; focussyncd "
                 "writes its contents back and restarts");
  } else if (problem == StorageProblem::replaced) {
    set(problem, "the cache file '" + path + "' was replaced by another file while focussyncd runs: reads are served "
                 "from the cache it opened, edits are refused; move the new file away (focussyncd then writes its own "
                 "back) or restart focussyncd to use it");
  } else if (status_.problem == StorageProblem::removed || status_.problem == StorageProblem::replaced) {
    set(StorageProblem::none, "");
  }
}

// Room for a listing's worth of writes: 4 MiB, or a twentieth of a small file system.
bool StorageHealth::has_room() const {
  if (path_.empty()) return true;
  struct statvfs fs {};
  auto folder = std::filesystem::path(path_).parent_path();
  if (::statvfs(folder.empty() ? "." : folder.c_str(), &fs) != 0) return true;
  const double free = static_cast<double>(fs.f_bavail) * static_cast<double>(fs.f_frsize);
  const double size = static_cast<double>(fs.f_blocks) * static_cast<double>(fs.f_frsize);
  return free >= std::min(4.0 * 1024 * 1024, size / 20);
}

void StorageHealth::write_succeeded() {
  if (status_.problem == StorageProblem::full && !has_room()) return;
  if (status_.problem == StorageProblem::full || status_.problem == StorageProblem::io_error ||
      status_.problem == StorageProblem::read_only)
    set(StorageProblem::none, "");
}

}  // namespace focus::store
