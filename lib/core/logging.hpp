#pragma once
// Process-wide logging setup on spdlog. Called once by each executable's main
// before anything logs; later calls replace the default logger. Not
// thread-safe against concurrent logging during the call.

#include <string_view>

namespace focus {

// Installs a stderr logger at `level` ("trace", "debug", "info", "warn",
// "error", "off"). Throws std::invalid_argument naming the level if unknown.
void init_stderr_logging(std::string_view level, std::string_view program);

}  // namespace focus
