#pragma once
// Whether a folder that is not there yet could be made by this process,
// judged without making anything: for `focussyncd --check-config`, which
// must not leave a cache or socket folder behind. The cache and the socket
// each judge a folder that exists by their own rules (store/database.hpp,
// http/unix_server.hpp). Pure functions over the file system; any thread.

#include <filesystem>
#include <optional>
#include <string>

namespace focus {

// Why `folder` (missing, wholly or in part) could not be created by this
// process, or nullopt when it could (or exists already). `what` names it in
// the answer: "the cache folder".
std::optional<std::string> folder_creation_problem(const std::filesystem::path& folder, const std::string& what);

}  // namespace focus
