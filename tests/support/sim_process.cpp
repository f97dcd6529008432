#include "support/sim_process.hpp"

#include "http/client.hpp"

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#ifndef FOCUS_SIM_PATH
#error "FOCUS_SIM_PATH must name the focus-sim binary"
#endif

namespace focus::test {
namespace {

bool wait_exit(pid_t pid, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

}  // namespace

std::string make_temp_dir(const std::string& prefix) {
  std::string pattern = (std::filesystem::temp_directory_path() / (prefix + "XXXXXX")).string();
  if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
  return pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;  // a test's leftovers must not turn into a failure
  std::filesystem::remove_all(path, ignored);
}

SimProcess::SimProcess(std::vector<std::string> args) : dir_(make_temp_dir("focus-sim-")) {
  std::string port_file = dir_ + "/port";
  std::vector<std::string> argv_storage{FOCUS_SIM_PATH, "--port-file", port_file, "--log-level", "warn"};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_storage) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    // Die with the test, and never hold the test runner's output pipe open.
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    int log = open((dir_ + "/log").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (log >= 0) {
      dup2(log, STDOUT_FILENO);
      dup2(log, STDERR_FILENO);
      close(log);
    }
    execv(argv[0], argv.data());
    _exit(127);
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!std::filesystem::exists(port_file)) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("focus-sim exited at start (bad flags?)");
    }
    if (std::chrono::steady_clock::now() > deadline) throw std::runtime_error("focus-sim did not start in 30 s");
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::ifstream(port_file) >> port_;
}

SimProcess::~SimProcess() {
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    if (!wait_exit(pid_, std::chrono::seconds(10))) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

std::string SimProcess::api_url(bool tls) const {
  return std::string(tls ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_) + "/api";
}

nlohmann::json SimProcess::control(const std::string& method, const std::string& what, const nlohmann::json& body) const {
  boost::asio::io_context io;
  http::ClientOptions options;
  options.base_url = "http://127.0.0.1:" + std::to_string(port_);
  http::Client client(io, options);
  http::Request request{method, "/_sim/" + what, {}, body.is_null() ? "" : body.dump()};
  auto outcome = run(io, client.send(std::move(request)));
  auto* response = std::get_if<http::Response>(&outcome);
  if (!response) throw std::runtime_error("/_sim/" + what + ": " + std::get<http::ClientFailure>(outcome).error.message);
  if (response->status != 200) throw std::runtime_error("/_sim/" + what + ": " + std::to_string(response->status) + " " + response->body);
  return nlohmann::json::parse(response->body);
}

TestCertificates make_test_certificates(const std::string& dir) {
  TestCertificates c{dir + "/ca.crt", dir + "/leaf.crt", dir + "/leaf.key"};
  std::ofstream(dir + "/leaf.ext") << "subjectAltName=IP:127.0.0.1\n";
  std::string quiet = " >/dev/null 2>&1";
  std::string commands[] = {
      "openssl req -x509 -newkey rsa:2048 -nodes -keyout " + dir + "/ca.key -out " + c.ca +
          " -days 2 -subj '/CN=focussync test CA'",
      "openssl req -newkey rsa:2048 -nodes -keyout " + c.key + " -out " + dir + "/leaf.csr -subj /CN=127.0.0.1",
      "openssl x509 -req -in " + dir + "/leaf.csr -CA " + c.ca + " -CAkey " + dir + "/ca.key -CAcreateserial -out " +
          c.certificate + " -days 2 -extfile " + dir + "/leaf.ext",
  };
  for (const auto& command : commands)
    if (std::system((command + quiet).c_str()) != 0) throw std::runtime_error("openssl failed: " + command);
  return c;
}

}  // namespace focus::test
