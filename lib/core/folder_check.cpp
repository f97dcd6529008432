#include "core/folder_check.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <pwd.h>
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

std::optional<std::string> create_private_folders(const std::filesystem::path& folder, const std::string& what) {
  std::vector<std::filesystem::path> missing;
  std::error_code ec;
  for (auto p = folder; !p.empty() && !std::filesystem::exists(p, ec); p = p.parent_path()) {
    missing.push_back(p);
    if (p == p.parent_path()) break;
  }
  for (auto it = missing.rbegin(); it != missing.rend(); ++it)
    if (::mkdir(it->c_str(), 0700) != 0 && errno != EEXIST)
      return "cannot create " + what + " '" + it->string() + "': " + std::strerror(errno);
  return std::nullopt;
}

std::string user_name(unsigned uid) {
  const passwd* pw = ::getpwuid(static_cast<uid_t>(uid));
  return (pw ? std::string(pw->pw_name) + " " : std::string()) + "(uid " + std::to_string(uid) + ")";
}

std::string octal_mode(unsigned mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", mode & 07777);
  return text;
}

}  // namespace focus
