#include "config/config.hpp"

#include <doctest/doctest.h>

using namespace focus::config;

namespace {

const char* kMinimal = R"(
[upstream]
api_key_file = "/run/key"
[[workspaces]]
organization_id = 1
workspace_id = 10
)";

std::string error_of(const std::string& text) {
  try {
    parse_config(text, "focussync.toml");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(accepted)";
}

}  // namespace

TEST_CASE("a minimal config gets the defaults") {
  Config c = parse_config(kMinimal, "f.toml");
  CHECK(c.upstream.base_url == "https://focus.toggl.com/api");
  CHECK(c.upstream.api_key->file == "/run/key");
  REQUIRE(c.workspaces.size() == 1);
  CHECK(c.workspaces[0].workspace_id == 10);
  CHECK(c.sync.interval == std::chrono::minutes(5));
  CHECK(c.sync.per_page == 200);
  CHECK(c.sync.delete_guard_share == doctest::Approx(0.10));
  CHECK(c.cache_path.ends_with("/focussync/cache.db"));
}

TEST_CASE("every section and key is read") {
  Config c = parse_config(R"(
[upstream]
base_url = "http://127.0.0.1:8080/api"
email = "ada@example.com"
password_env = "FOCUS_PASSWORD"
ca_file = "/etc/ca.pem"
timeout = "20s"
[[workspaces]]
organization_id = 1
workspace_id = 10
[[workspaces]]
organization_id = 1
workspace_id = 11
[sync]
interval = "2m30s"
full_listing_max_age = "2h"
per_page = 100
delete_guard_share = 0.25
reserve_share = 0
members = "never"
conflicts = "remote_wins"
[cache]
path = "/var/lib/focussync/cache.db"
[socket]
path = "/run/focussync/focussync.sock"
[log]
level = "debug"
)", "f.toml");
  CHECK(c.upstream.email == "ada@example.com");
  CHECK(c.upstream.password->env == "FOCUS_PASSWORD");
  CHECK(c.upstream.timeout == std::chrono::seconds(20));
  CHECK(c.workspaces.size() == 2);
  CHECK(c.sync.interval == std::chrono::seconds(150));
  CHECK(c.sync.members == MembersPolicy::never);
  CHECK(c.sync.conflicts == ConflictPolicy::remote_wins);
  CHECK(c.cache_path == "/var/lib/focussync/cache.db");
  CHECK(c.socket.path == "/run/focussync/focussync.sock");
  CHECK(c.log_level == "debug");
}

TEST_CASE("mistakes are refused naming the file, the line and the key") {
  CHECK(error_of(std::string(kMinimal) + "[sync]\ninterval = \"soon\"\n") ==
        "focussync.toml:8: [sync] interval: 'soon' is not a duration like \"30s\", \"5m\" or \"1h\"");
  CHECK(error_of(std::string(kMinimal) + "[sync]\ninterval = \"0s\"\n") ==
        "focussync.toml:8: [sync] interval: must be longer than zero, not '0s'");
  CHECK(error_of(std::string(kMinimal) + "[sync]\nintervall = \"5m\"\n") == "focussync.toml:8: [sync] intervall: unknown key");
  CHECK(error_of(std::string(kMinimal) + "[sync]\nper_page = \"200\"\n") == "focussync.toml:8: [sync] per_page: expected an integer");
  CHECK(error_of(std::string(kMinimal) + "[sync]\nper_page = 0\n") == "focussync.toml: [sync] per_page: must be from 1 to 1000");
  CHECK(error_of(std::string(kMinimal) + "colour = 1\n") == "focussync.toml:7: [[workspaces]] #1 colour: unknown key");
  CHECK(error_of("[upstream]\napi_key_file = \"k\"\n") ==
        "focussync.toml: config: no [[workspaces]]: name at least one organization_id + workspace_id");
  CHECK(error_of("[[workspaces]]\norganization_id = 1\nworkspace_id = 2\n") ==
        "focussync.toml: config: no [upstream] section: it says where the credentials are");
  CHECK(error_of("[upstream]\n[[workspaces]]\norganization_id = 1\nworkspace_id = 2\n").find("no credentials") != std::string::npos);
  CHECK(error_of("[upstream]\napi_key_file = \"a\"\napi_key_env = \"B\"\n[[workspaces]]\norganization_id = 1\nworkspace_id = 2\n")
            .find("give only one of") != std::string::npos);
  CHECK(error_of("[upstream\n").starts_with("focussync.toml:1: "));
  for (auto [url, words] : {std::pair{"ftp://x/api", "must start with http:// or https://"},
                            {"http://127.0.0.1:/api", "has an empty port"},
                            {"https:///api", "has no host"},
                            {"http://h/api?x=1", "must not have a query"},
                            {"not a url", "is not a URL"}}) {
    auto message = error_of(std::string("[upstream]\nbase_url = \"") + url +
                            "\"\napi_key_env = \"K\"\n[[workspaces]]\norganization_id = 1\nworkspace_id = 2\n");
    INFO(url);
    CHECK(message.find("focussync.toml:2: [upstream] base_url: ") == 0);
    CHECK(message.find(words) != std::string::npos);
  }
  CHECK(error_of(std::string(kMinimal) + "[[workspaces]]\norganization_id = 1\nworkspace_id = 10\n").find("listed twice") !=
        std::string::npos);
}

TEST_CASE("a missing file says so") {
  CHECK_THROWS_WITH_AS(load_config("/nonexistent/focussync.toml"), "cannot read config file '/nonexistent/focussync.toml'",
                       ConfigError);
}

TEST_CASE("plain http:// is refused for anything but this machine unless allow_insecure_http is set") {
  auto with_url = [](const std::string& url, const std::string& extra = "") {
    return std::string("[upstream]\nbase_url = \"") + url + "\"\napi_key_env = \"K\"\n" + extra +
           "[[workspaces]]\norganization_id = 1\nworkspace_id = 2\n";
  };
  for (const char* url : {"http://focus.example.com/api", "http://10.0.0.5:8080/api", "http://[2001:db8::1]/api",
                          "http://localhost.example.com/api", "http://128.0.0.1/api"}) {
    INFO(url);
    auto message = error_of(with_url(url));
    CHECK(message.find("focussync.toml:2: [upstream] base_url: ") == 0);
    CHECK(message.find("plain http://") != std::string::npos);
    CHECK(message.find("allow_insecure_http = true") != std::string::npos);
    Config allowed = parse_config(with_url(url, "allow_insecure_http = true\n"), "f.toml");
    CHECK(allowed.upstream.allow_insecure_http);
    CHECK(allowed.upstream.base_url == url);
  }
  for (const char* url : {"http://127.0.0.1:8080/api", "http://127.3.4.5/api", "http://[::1]:9000/api",
                          "http://localhost:8080/api", "http://LocalHost/api", "https://focus.example.com/api",
                          "https://10.0.0.5/api"}) {
    INFO(url);
    CHECK(error_of(with_url(url)) == "(accepted)");
  }
  CHECK(error_of(with_url("http://127.0.0.1/api", "allow_insecure_http = \"yes\"\n")).find("expected true or false") !=
        std::string::npos);
}

TEST_CASE("allow_insecure_key_file is off unless set") {
  CHECK_FALSE(parse_config(kMinimal, "f.toml").upstream.allow_insecure_key_file);
  Config c = parse_config(R"(
[upstream]
api_key_file = "/run/key"
allow_insecure_key_file = true
[[workspaces]]
organization_id = 1
workspace_id = 10
)", "f.toml");
  CHECK(c.upstream.allow_insecure_key_file);
}

TEST_CASE("[sql] and [notify]: defaults, values, and what is refused") {
  Config c = parse_config(kMinimal, "f.toml");
  CHECK(c.sql.timeout == std::chrono::seconds(2));
  CHECK(c.sql.max_rows == 10'000);
  CHECK(notify_enabled(c));  // a user's daemon
  c.system = true;
  CHECK_FALSE(notify_enabled(c));  // the system service, unless told
  Config set = parse_config(std::string(kMinimal) + "[sql]\ntimeout = \"500ms\"\nmax_rows = 5\n"
                                                    "[notify]\nenabled = true\nurgency = \"critical\"\n", "f.toml");
  CHECK(set.sql.timeout == std::chrono::milliseconds(500));
  CHECK(set.sql.max_rows == 5);
  set.system = true;
  CHECK(notify_enabled(set));
  CHECK(set.notify.urgency == Urgency::critical);
  CHECK(error_of(std::string(kMinimal) + "[notify]\nurgency = \"loud\"\n").find("urgency") != std::string::npos);
  CHECK(error_of(std::string(kMinimal) + "[sql]\nmax_rows = 0\n").find("max_rows") != std::string::npos);
  CHECK(error_of(std::string(kMinimal) + "[sql]\ntimeout = \"1h\"\n").find("timeout") != std::string::npos);
  CHECK(error_of(std::string(kMinimal) + "[notify]\nloud = true\n").find("loud") != std::string::npos);
}

TEST_CASE("[sync] spend and min_interval") {
  Config c = parse_config(kMinimal, "f.toml");
  CHECK(c.sync.spend == SpendPolicy::all);
  CHECK(c.sync.min_interval == std::chrono::seconds(30));
  Config set = parse_config(std::string(kMinimal) + "[sync]\nspend = \"interval\"\nmin_interval = \"10s\"\n", "f.toml");
  CHECK(set.sync.spend == SpendPolicy::interval);
  CHECK(set.sync.min_interval == std::chrono::seconds(10));
  CHECK(error_of(std::string(kMinimal) + "[sync]\nspend = \"most\"\n").find("spend") != std::string::npos);
  CHECK(error_of(std::string(kMinimal) + "[sync]\nmin_interval = \"1ms\"\n").find("min_interval") != std::string::npos);
}
