#pragma once
// What is wrong with the cache's storage, if anything: its file system is
// full, it cannot be written (I/O error, read-only), or the file was removed
// or replaced under the running daemon. SQLite reports every error to one
// process-wide log callback (SQLITE_CONFIG_LOG); install() points it here,
// so a failure is seen whichever statement met it, a read or a write. A
// write transaction that commits clears the write problems (space came
// back; "full" only once the file system also has room again, since small
// transactions fit into freed pages long before a listing does); removed /
// replaced are decided by Database::check_file().
//
// Reads keep being served while a problem lasts; writes are refused with
// the problem's words (StorageFailure, answered 507 or 503 on the socket).
// Process-wide, like SQLite's configuration; io_context thread only (the
// callback runs on the thread that met the error, which is that one).

#include "core/time.hpp"

#include <optional>
#include <stdexcept>
#include <string>

namespace focus::store {

enum class StorageProblem { none, full, io_error, read_only, removed, replaced };

// "ok", "full", "io_error", "read_only", "removed", "replaced".
const char* storage_problem_name(StorageProblem p);
// The problem an SQLite (extended) result code means, or none.
StorageProblem storage_problem_of(int sqlite_code);

// A write the cache cannot take now. `problem` decides the HTTP status.
class StorageFailure : public std::runtime_error {
 public:
  StorageFailure(StorageProblem problem, const std::string& message) : std::runtime_error(message), problem_(problem) {}
  StorageProblem problem() const { return problem_; }
  // 507 when the file system is full, 503 otherwise.
  int http_status() const { return problem_ == StorageProblem::full ? 507 : 503; }

 private:
  StorageProblem problem_;
};

struct StorageStatus {
  StorageProblem problem = StorageProblem::none;
  std::string message;  // for people: what is wrong and what to do
  std::optional<Timestamp> since;
};

class StorageHealth {
 public:
  // Routes SQLite's error log here (once per process, before any connection
  // opens; later calls do nothing).
  static void install();
  static StorageHealth& instance();

  // The cache file's path: its file system's free space decides when "full" is over.
  void watch(const std::string& path) { path_ = path; }
  void note_sqlite_error(int code, const std::string& detail);
  void note_file(StorageProblem problem, const std::string& path);  // removed / replaced, or none
  void write_succeeded();

  const StorageStatus& status() const { return status_; }
  bool ok() const { return status_.problem == StorageProblem::none; }
  // A StorageFailure for the current problem (the caller checked !ok()).
  StorageFailure failure() const { return StorageFailure(status_.problem, status_.message); }

 private:
  void set(StorageProblem problem, std::string message);
  bool has_room() const;
  StorageStatus status_;
  std::string path_;
};

}  // namespace focus::store
