// The annotated example config that ships with focussync must load.
#include "config/config.hpp"

#include <doctest/doctest.h>

TEST_CASE("config/focussync.toml, the documented example, is valid") {
  auto c = focus::config::load_config(FOCUS_EXAMPLE_CONFIG);
  CHECK(c.workspaces.size() == 1);
  CHECK(c.upstream.api_key->file);
}
