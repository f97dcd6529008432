#pragma once
// Durations as people write them in config files and flags: "500ms", "30s",
// "5m", "1h", "2h30m", "1d". Pure function; any thread.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace focus {

// nullopt for anything else (empty, no unit, unknown unit, overflow).
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

}  // namespace focus
