// The HTTP client against a real focus-sim: keep-alive reuse, recovery from a
// connection the server closed while idle, gzip answers, a bad base URL.
#include "http/client.hpp"
#include "support/sim_process.hpp"

#include <doctest/doctest.h>

#include <thread>

using namespace focus;
using namespace focus::test;

namespace {

http::Request get(const std::string& target) {
  return http::Request{"GET", target, {{"Authorization", "Bearer k"}}, ""};
}

http::Response answer(boost::asio::io_context& io, http::Client& client, const std::string& target) {
  auto outcome = run(io, client.send(get(target)));
  REQUIRE(std::holds_alternative<http::Response>(outcome));
  return std::get<http::Response>(outcome);
}

const std::string kList = "/organizations/1/workspaces/1/projects?per_page=200&archived=";

}  // namespace

TEST_CASE("one connection carries many requests") {
  SimProcess sim({"--projects", "30"});
  auto before = sim.control("GET", "stats")["connections"].get<int>();
  boost::asio::io_context io;
  http::ClientOptions options;
  options.base_url = sim.api_url();
  http::Client client(io, options);
  for (int i = 0; i < 5; ++i) CHECK(answer(io, client, kList).status == 200);
  // Each control() call opens one connection of its own.
  CHECK(sim.control("GET", "stats")["connections"].get<int>() == before + 1 + 1);
}

TEST_CASE("a GET on a connection the server closed while idle is sent again on a new one") {
  SimProcess sim({"--projects", "3", "--idle-timeout-ms", "100"});
  boost::asio::io_context io;
  http::ClientOptions options;
  options.base_url = sim.api_url();
  http::Client client(io, options);
  CHECK(answer(io, client, kList).status == 200);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK(answer(io, client, kList).status == 200);
  CHECK(sim.requests() == 2);
}

TEST_CASE("gzip answers are asked for and decoded; without asking they come plain") {
  SimProcess sim({"--projects", "50"});
  for (bool gzip : {true, false}) {
    boost::asio::io_context io;
    http::ClientOptions options;
    options.base_url = sim.api_url();
    options.accept_gzip = gzip;
    http::Client client(io, options);
    auto r = answer(io, client, kList);
    CHECK(r.header("Content-Encoding").has_value() == gzip);
    auto body = nlohmann::json::parse(r.body);
    CHECK(body["data"].size() == 50);
  }
}

TEST_CASE("a malformed base URL or unreadable CA file is refused at construction") {
  boost::asio::io_context io;
  http::ClientOptions bad;
  bad.base_url = "ftp://example.com/api";
  CHECK_THROWS_WITH(http::Client(io, bad), doctest::Contains("http:// or https://"));
  bad.base_url = "http://127.0.0.1:/api";
  CHECK_THROWS_WITH(http::Client(io, bad), doctest::Contains("empty port"));
  bad.base_url = "not a url";
  CHECK_THROWS_AS(http::Client(io, bad), std::invalid_argument);
  http::ClientOptions ca;
  ca.base_url = "https://127.0.0.1:1/api";
  ca.ca_file = "/nonexistent/ca.pem";
  CHECK_THROWS_WITH(http::Client(io, ca), doctest::Contains("cannot load CA file"));
}

TEST_CASE("nothing listening: a network error that says where, and the request was not sent") {
  std::optional<SimProcess> sim;
  sim.emplace(std::vector<std::string>{"--projects", "1"});
  std::uint16_t port = sim->port();
  sim.reset();  // its port is closed now
  boost::asio::io_context io;
  http::ClientOptions options;
  options.base_url = "http://127.0.0.1:" + std::to_string(port) + "/api";
  http::Client client(io, options);
  auto outcome = run(io, client.send(get(kList)));
  REQUIRE(std::holds_alternative<http::ClientFailure>(outcome));
  auto& f = std::get<http::ClientFailure>(outcome);
  CHECK(f.error.is(Errc::network));
  CHECK_FALSE(f.request_sent);
  CHECK(f.error.message.find("127.0.0.1:" + std::to_string(port)) != std::string::npos);
}
