#pragma once
// Process-wide logging setup on spdlog. Called once by each executable's main
// before anything logs; later calls replace the default logger. Not
// thread-safe against concurrent logging during the call.

#include <spdlog/common.h>

#include <string_view>

namespace focus {

// The level named by `level` ("trace", "debug", "info", "warn", "error",
// "off"). Throws std::invalid_argument naming it and the choices if unknown.
// The one parser of level names: the config, --log-level and reloads use it.
spdlog::level::level_enum parse_log_level(std::string_view level);

// Installs a stderr logger at `level` (as parse_log_level reads it).
void init_stderr_logging(std::string_view level, std::string_view program);

}  // namespace focus
