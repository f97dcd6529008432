#include "core/folder_check.hpp"

#include <cerrno>
#include <cstring>
#include <sys/stat.h>
#include <unistd.h>

namespace focus {

std::optional<std::string> folder_creation_problem(const std::filesystem::path& folder, const std::string& what) {
  std::error_code ec;
  auto missing = folder;
  auto existing = folder;
  while (!std::filesystem::exists(existing, ec)) {
    auto parent = existing.parent_path();
    if (parent.empty()) parent = ".";
    if (parent == existing) return std::nullopt;  // nothing left to look at
    missing = existing;
    existing = parent;
  }
  if (existing == folder) return std::nullopt;
  struct stat st {};
  if (::stat(existing.c_str(), &st) != 0)
    return "cannot create " + what + " '" + folder.string() + "': '" + existing.string() + "': " + std::strerror(errno);
  if (!S_ISDIR(st.st_mode))
    return "cannot create " + what + " '" + folder.string() + "': '" + existing.string() + "' is not a folder";
  // access() asks with the real ids; focussyncd is never set-uid, so they
  // are the effective ones.
  if (::access(existing.c_str(), W_OK | X_OK) != 0)
    return "cannot create " + what + " '" + folder.string() + "': '" + missing.string() + "' would have to be made in '" +
           existing.string() + "', which this user may not write (" + std::strerror(errno) + ")";
  return std::nullopt;
}

}  // namespace focus
