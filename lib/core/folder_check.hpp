#pragma once
// Private folders for the cache and the socket: whether one that is not
// there yet could be made by this process, judged without making anything
// (for `focussyncd --check-config`, which must not leave a folder behind);
// making every missing level 0700; and the words both use to name an owner
// and a mode. The cache and the socket each judge a folder that exists by
// their own rules (store/database.hpp, http/unix_server.hpp). Functions over
// the file system; any thread.

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace focus {

// Why `folder` (missing, wholly or in part) could not be created by this
// process, or nullopt when it could (or exists already). `what` names it in
// the answer: "the cache folder".
std::optional<std::string> folder_creation_problem(const std::filesystem::path& folder, const std::string& what);

// Makes every missing level of `folder` 0700 whatever the umask (as the XDG
// base directory spec asks of the folders it names). Answers why it could
// not ("cannot create the cache folder 'X': ..."), or nullopt.
std::optional<std::string> create_private_folders(const std::filesystem::path& folder, const std::string& what);

// "alice (uid 1000)", or "(uid 1000)" for a uid with no name.
std::string user_name(unsigned uid);
// "0755"
std::string octal_mode(unsigned mode);

}  // namespace focus
