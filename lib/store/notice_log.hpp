#pragma once
// What the daemon has told the person through desktop notifications, kept in
// the cache so that nothing is told twice, restarts included: an edit's
// conflict or failure is told once per attempt (a retry that ends the same
// way is told again), and the daemon's own states (the key refused, the
// mirror stale) once until they clear.
// Borrows the Database; io_context thread only. Throws SQLite::Exception.

#include "store/database.hpp"
#include "store/mirror.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace focus::store {

struct EditNotice {
  std::int64_t edit = 0;
  WorkspaceKey ws;
  Id project = 0;
  std::string op;
  std::string state;  // conflict or failed
  std::string name;   // the project's name when the edit was made (a create's own), "" if unknown
  std::string error;  // the last error ("" for none)
};

class NoticeLog {
 public:
  explicit NoticeLog(Database& db) : db_(db) {}

  // Edits in conflict or failed that were not told at their current attempt, oldest first.
  std::vector<EditNotice> untold_edits();
  void mark_told(const std::vector<std::int64_t>& edits);

  // A state of the daemon's ("unauthorized", "stale"): told since when, if it was.
  std::optional<Timestamp> told_since(const std::string& what);
  void mark_told(const std::string& what, Timestamp at);
  void clear(const std::string& what);  // the state is over: tell it again if it comes back

 private:
  Database& db_;
};

}  // namespace focus::store
