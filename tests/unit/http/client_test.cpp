// The HTTP client against a real focus-sim: keep-alive reuse, recovery from a
// connection the server closed while idle, gzip answers, a bad base URL; and
// against a scripted server on loopback, interim (1xx) answers.
#include "http/client.hpp"
#include "support/sim_process.hpp"

#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

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

// A server on 127.0.0.1 that takes one connection and answers each request
// on it with the next of `answers`, written as they are, then closes. Its
// thread ends by itself: the socket has a receive timeout.
class ScriptedServer {
 public:
  explicit ScriptedServer(std::vector<std::string> answers) : answers_(std::move(answers)) {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    REQUIRE(::bind(listener_, reinterpret_cast<sockaddr*>(&addr), len) == 0);
    REQUIRE(::listen(listener_, 1) == 0);
    REQUIRE(::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~ScriptedServer() {
    ::shutdown(listener_, SHUT_RDWR);
    thread_.join();
    ::close(listener_);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  void serve() {
    const int c = ::accept(listener_, nullptr, nullptr);
    if (c < 0) return;
    timeval limit{5, 0};
    ::setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
    std::string got;
    for (const auto& answer : answers_) {
      char chunk[4096];
      while (got.find("\r\n\r\n") == std::string::npos) {
        const ssize_t n = ::recv(c, chunk, sizeof chunk, 0);
        if (n <= 0) return (void)::close(c);
        got.append(chunk, static_cast<std::size_t>(n));
      }
      got.erase(0, got.find("\r\n\r\n") + 4);  // GETs: no body
      if (::send(c, answer.data(), answer.size(), MSG_NOSIGNAL) < 0) break;
    }
    ::close(c);
  }

  std::vector<std::string> answers_;
  int listener_ = -1;
  unsigned short port_ = 0;
  std::thread thread_;
};

std::string ok(const std::string& body) {
  return "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + body;
}

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

TEST_CASE("interim answers are passed over: each request gets its own answer") {
  // A 103 taken as the answer left the real one on the connection, read as
  // the next request's answer: a probe got a listing's body.
  ScriptedServer server({"HTTP/1.1 103 Early Hints\r\nLink: </x>; rel=preload\r\n\r\n" + ok("first"),
                         "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\n\r\n" + ok("second"),
                         ok("third")});
  boost::asio::io_context io;
  http::ClientOptions options;
  options.base_url = server.url();
  http::Client client(io, options);
  for (const char* expected : {"first", "second", "third"}) {
    auto r = answer(io, client, "/a");
    CHECK(r.status == 200);
    CHECK(r.body == expected);
  }
}

TEST_CASE("endless interim answers, or a switch of protocols, are an unreadable answer") {
  std::string endless;
  for (int i = 0; i < 20; ++i) endless += "HTTP/1.1 103 Early Hints\r\n\r\n";
  for (const std::string& script : {endless + ok("never"), std::string("HTTP/1.1 101 Switching Protocols\r\n\r\n")}) {
    ScriptedServer server({script});
    boost::asio::io_context io;
    http::ClientOptions options;
    options.base_url = server.url();
    options.read_timeout = std::chrono::seconds(2);
    options.total_timeout = std::chrono::seconds(4);
    http::Client client(io, options);
    auto outcome = run(io, client.send(get("/a")));
    REQUIRE(std::holds_alternative<http::ClientFailure>(outcome));
    const auto& failed = std::get<http::ClientFailure>(outcome);
    CHECK_MESSAGE(failed.error.is(Errc::bad_response), failed.error.message);
  }
}
