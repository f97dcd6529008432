#pragma once
// Test support: a real focus-sim child process on a free loopback port, and a
// way to run a coroutine to completion on an io_context. The process is
// started with the given flags (its port learnt through --port-file, within
// 30 s) and stopped with SIGTERM when the object goes away (SIGKILL after
// 10 s). control() calls the /_sim/ routes. Test thread only.

#include "core/result.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <exception>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace focus::test {

class SimProcess {
 public:
  explicit SimProcess(std::vector<std::string> args);
  ~SimProcess();
  SimProcess(const SimProcess&) = delete;
  SimProcess& operator=(const SimProcess&) = delete;

  std::uint16_t port() const { return port_; }
  // "http://127.0.0.1:PORT/api" (https with tls = true).
  std::string api_url(bool tls = false) const;
  // Calls /_sim/<what>; throws std::runtime_error unless the answer is 200.
  nlohmann::json control(const std::string& method, const std::string& what,
                         const nlohmann::json& body = nlohmann::json()) const;
  // Requests the simulator has seen, in all.
  std::int64_t requests() const { return control("GET", "stats")["requests"].get<std::int64_t>(); }

 private:
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
  std::string dir_;
};

// Runs `task` on `io` until it completes and returns its value (rethrowing
// what it threw).
template <class T>
T run(boost::asio::io_context& io, boost::asio::awaitable<T> task) {
  std::optional<T> out;
  std::exception_ptr failure;
  auto store = [&]() -> boost::asio::awaitable<void> { out.emplace(co_await std::move(task)); };
  boost::asio::co_spawn(io, store(), [&](std::exception_ptr e) { failure = e; });
  io.restart();
  io.run();
  if (failure) std::rethrow_exception(failure);
  return std::move(*out);
}

// A fresh temporary directory (removed by the caller when it wants).
std::string make_temp_dir(const std::string& prefix);

// A fresh temporary directory for one test, removed with everything in it
// when the test's scope ends.
struct TempDir {
  explicit TempDir(const std::string& prefix = "focus-test-") : path(make_temp_dir(prefix)) {}
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string path;
};

// A private CA and a certificate for IP 127.0.0.1 only (not "localhost") signed by it,
// made with the openssl command in `dir`: {ca.crt, leaf.crt, leaf.key}.
struct TestCertificates {
  std::string ca, certificate, key;
};
TestCertificates make_test_certificates(const std::string& dir);

}  // namespace focus::test
