// Fuzzes configuration parsing: any text is either a Config or a ConfigError
// whose message names where it went wrong; nothing else escapes, and a
// parsed Config keeps the invariants the daemon relies on.
#include "config/config.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    focus::config::Config c = focus::config::parse_config(text, "fuzz.toml");
    bool sane = !c.workspaces.empty() && !c.upstream.base_url.empty() && c.sync.per_page >= 1 &&
                c.sync.per_page <= 1000 && c.socket.max_connections >= 1 && c.sync.interval.count() > 0 &&
                c.upstream.timeout.count() > 0;
    for (const auto& w : c.workspaces) sane = sane && w.organization_id > 0 && w.workspace_id > 0;
    if (!sane) {
      std::fprintf(stderr, "property broken: an out-of-range config was accepted\n");
      std::abort();
    }
  } catch (const focus::config::ConfigError& e) {
    if (std::string_view(e.what()).empty()) {
      std::fprintf(stderr, "property broken: a ConfigError without a message\n");
      std::abort();
    }
  }
  return 0;
}
