// HTTPS against focus-sim with a CA the test makes; secrets kept out of
// every log line and error; secrets read from file, environment and systemd
// credentials.
#include "fixture.hpp"

#include <doctest/doctest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

using namespace focus;
using namespace focus::test;
using namespace focus::upstream;

TEST_CASE("HTTPS: a trusted CA works; the system store alone refuses a private CA") {
  std::string dir = make_temp_dir("focus-tls-");
  auto certs = make_test_certificates(dir);
  SimProcess sim({"--projects", "3", "--api-key", kKey, "--tls-cert", certs.certificate, "--tls-key", certs.key});
  auto once = Upstream::fast_retry();
  once.max_attempts = 1;

  http::ClientOptions trusting;
  trusting.ca_file = certs.ca;
  Upstream good(sim, trusting, once, Credentials::api_key(kKey, "(test)"), true);
  auto page = good(good.api->list_projects(good.ws, {}));
  REQUIRE(page.ok());
  CHECK(page->total > 0);

  Upstream strict(sim, {}, once, Credentials::api_key(kKey, "(test)"), true);
  auto refused = strict(strict.api->list_projects(strict.ws, {}));
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().is(Errc::tls));
  CHECK(refused.error().message.find("certificate verify failed") != std::string::npos);

  http::ClientOptions wrong_name;
  wrong_name.ca_file = certs.ca;
  wrong_name.base_url = "https://localhost:" + std::to_string(sim.port()) + "/api";  // not in the certificate
  Upstream mismatch(sim, wrong_name, once, Credentials::api_key(kKey, "(test)"), true);
  auto r = mismatch(mismatch.api->list_projects(mismatch.ws, {}));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().is(Errc::tls));

  http::ClientOptions insecure;
  insecure.insecure_skip_verify = true;
  Upstream lax(sim, insecure, once, Credentials::api_key(kKey, "(test)"), true);
  CHECK(lax(lax.api->list_projects(lax.ws, {})).ok());
  std::filesystem::remove_all(dir);
}

TEST_CASE("no secret in any log line or error, whatever happens") {
  std::ostringstream captured;
  auto previous = spdlog::default_logger();
  auto logger = std::make_shared<spdlog::logger>("capture", std::make_shared<spdlog::sinks::ostream_sink_mt>(captured));
  logger->set_level(spdlog::level::trace);
  spdlog::set_default_logger(logger);

  std::vector<std::string> errors;
  {
    SimProcess sim({"--projects", "3", "--api-key", kKey, "--quota", "6", "--quota-window", "60"});
    Upstream up(sim);
    Upstream wrong(sim, {}, Upstream::fast_retry(), Credentials::api_key("toggl_sk_wrong_secret_42", "(test)"));
    Upstream basic(sim, {}, Upstream::fast_retry(), Credentials::basic("ada@example.com", "hunter2-password", "(test)"));
    auto note = [&](const auto& r) {
      if (!r.ok()) errors.push_back(r.error().message);
    };
    note(up(up.api->list_projects(up.ws, {})));
    note(wrong(wrong.api->list_projects(wrong.ws, {})));
    note(basic(basic.api->list_projects(basic.ws, {})));
    sim.control("PUT", "faults", {{"drop_rate", 1}});
    model::ProjectWrite body;
    body.name = "x";
    note(up(up.api->create_project(up.ws, body)));
    sim.control("PUT", "faults", {{"drop_rate", 0}, {"garbage_rate", 1}});
    note(up(up.api->get_project(up.ws, 1000)));
    sim.control("PUT", "faults", {{"garbage_rate", 0}});
    for (int i = 0; i < 6; ++i) note(up(up.api->get_project(up.ws, 1000)));
  }
  spdlog::set_default_logger(previous);
  std::string everything = captured.str();
  for (const auto& e : errors) everything += "\n" + e;
  CHECK(errors.size() >= 4);
  CHECK(captured.str().find("->") != std::string::npos);  // requests were logged at all
  for (const char* secret : {kKey.c_str(), "toggl_sk_wrong_secret_42", "hunter2-password", "aHVudGVyMi",
                             "YWRhQGV4YW1wbGUuY29tOmh1bnRlcjItcGFzc3dvcmQ"}) {
    INFO(secret);
    CHECK(everything.find(secret) == std::string::npos);
  }
}

TEST_CASE("secrets come from a file, the environment or a systemd credential, with clear errors") {
  std::string dir = make_temp_dir("focus-secret-");
  std::ofstream(dir + "/key") << "toggl_sk_from_file  \r\nsecond line ignored\n";
  CHECK(read_secret_file(dir + "/key") == "toggl_sk_from_file");
  std::ofstream(dir + "/empty") << "\n";
  CHECK_THROWS_WITH(read_secret_file(dir + "/empty"), doctest::Contains("is empty"));
  CHECK_THROWS_WITH(read_secret_file(dir + "/absent"), doctest::Contains("cannot read secret file"));

  setenv("FOCUS_TEST_KEY", "toggl_sk_env", 1);
  CHECK(read_secret_env("FOCUS_TEST_KEY") == "toggl_sk_env");
  unsetenv("FOCUS_TEST_KEY");
  CHECK_THROWS_WITH(read_secret_env("FOCUS_TEST_KEY"), "environment variable FOCUS_TEST_KEY is not set or empty");

  unsetenv("CREDENTIALS_DIRECTORY");
  CHECK_THROWS_WITH(read_systemd_credential("focus-key"), doctest::Contains("$CREDENTIALS_DIRECTORY is not set"));
  setenv("CREDENTIALS_DIRECTORY", dir.c_str(), 1);
  std::ofstream(dir + "/focus-key") << "toggl_sk_credential";
  CHECK(read_systemd_credential("focus-key") == "toggl_sk_credential");
  CHECK_THROWS(read_systemd_credential("../key"));
  unsetenv("CREDENTIALS_DIRECTORY");
  std::filesystem::remove_all(dir);
}

TEST_CASE("a key file others can read is refused with the chmod that fixes it, or only warned about") {
  std::string dir = make_temp_dir("focus-secret-mode-");
  std::string path = dir + "/api key";  // a space: the command must be quoted to paste
  std::ofstream(path) << "toggl_sk_mode_test\n";
  config::Upstream upstream;
  upstream.api_key = config::SecretSource{path, std::nullopt, std::nullopt};

  std::filesystem::permissions(path, std::filesystem::perms(0644));
  const std::string chmod_message = "is open to group or others (mode 0644): fix it with `chmod 600 '" + path + "'`";
  CHECK_THROWS_WITH(load_credentials(upstream), doctest::Contains(chmod_message.c_str()));
  CHECK_THROWS_WITH(load_credentials(upstream), doctest::Contains("allow_insecure_key_file = true"));
  std::filesystem::permissions(path, std::filesystem::perms(0620));  // writable by the group is refused too
  CHECK_THROWS_WITH(load_credentials(upstream), doctest::Contains("mode 0620"));

  std::ostringstream captured;
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>("t", std::make_shared<spdlog::sinks::ostream_sink_mt>(captured)));
  upstream.allow_insecure_key_file = true;
  std::filesystem::permissions(path, std::filesystem::perms(0644));
  CHECK(load_credentials(upstream).authorization_header() == "Bearer toggl_sk_mode_test");
  spdlog::set_default_logger(previous);
  CHECK(captured.str().find("chmod 600") != std::string::npos);
  CHECK(captured.str().find("used anyway") != std::string::npos);
  CHECK(captured.str().find("toggl_sk_mode_test") == std::string::npos);

  upstream.allow_insecure_key_file = false;
  std::filesystem::permissions(path, std::filesystem::perms(0600));
  CHECK(load_credentials(upstream).authorization_header() == "Bearer toggl_sk_mode_test");
  std::filesystem::permissions(path, std::filesystem::perms(0400));
  CHECK(load_credentials(upstream).authorization_header() == "Bearer toggl_sk_mode_test");

  // A systemd credential is not judged by its mode: systemd makes it private.
  std::ofstream(dir + "/cred") << "toggl_sk_credential\n";
  std::filesystem::permissions(dir + "/cred", std::filesystem::perms(0644));
  setenv("CREDENTIALS_DIRECTORY", dir.c_str(), 1);
  config::Upstream from_systemd;
  from_systemd.api_key = config::SecretSource{std::nullopt, std::nullopt, "cred"};
  CHECK(load_credentials(from_systemd).authorization_header() == "Bearer toggl_sk_credential");
  unsetenv("CREDENTIALS_DIRECTORY");

  // Owned by another user: refused with the chown (only root can make one).
  if (geteuid() == 0) {
    std::filesystem::permissions(path, std::filesystem::perms(0600));
    REQUIRE(chown(path.c_str(), 65534, 65534) == 0);
    const std::string chown_message = "that focussyncd runs as: fix it with `chown root '" + path + "'`";
    CHECK_THROWS_WITH(load_credentials(upstream), doctest::Contains(chown_message.c_str()));
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("credentials describe themselves without the secret and redact it from text") {
  auto key = Credentials::api_key("toggl_sk_abc", "from file /k");
  CHECK(key.describe() == "API key from file /k");
  CHECK(key.authorization_header() == "Bearer toggl_sk_abc");
  CHECK(redact("echo: Bearer toggl_sk_abc and toggl_sk_abc", key.secrets()) == "echo: *** and ***");
  auto basic = Credentials::basic("ada@example.com", "pw", "from env");
  CHECK(basic.authorization_header() == "Basic YWRhQGV4YW1wbGUuY29tOnB3");
  CHECK(basic.describe().find("pw") == std::string::npos);
}
