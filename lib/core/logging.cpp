#include "core/logging.hpp"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <stdexcept>
#include <string>

namespace focus {

spdlog::level::level_enum parse_log_level(std::string_view level) {
  auto parsed = spdlog::level::from_str(std::string(level));
  // from_str answers "off" for any unknown name; only accept "off" when asked.
  if (parsed == spdlog::level::off && level != "off")
    throw std::invalid_argument("unknown log level '" + std::string(level) +
                                "' (use trace, debug, info, warn, error or off)");
  return parsed;
}

void init_stderr_logging(std::string_view level, std::string_view program) {
  auto parsed = parse_log_level(level);
  // Built directly rather than through the registry, so a second call simply
  // replaces the default logger instead of failing on a duplicate name.
  auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  auto logger = std::make_shared<spdlog::logger>(std::string(program), std::move(sink));
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %n: %v");
  logger->set_level(parsed);
  spdlog::set_default_logger(std::move(logger));
}

}  // namespace focus
