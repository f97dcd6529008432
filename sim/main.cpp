// focus-sim: a local stand-in for the Toggl Focus Projects API, for tests,
// benchmarks, the demo, and for trying focussync without an account.
// See README.md ("focus-sim") for every flag and the /_sim/ control routes.

#include "core/logging.hpp"
#include "core/text.hpp"
#include "http/server.hpp"
#include "sim/simulator.hpp"

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <spdlog/spdlog.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>

namespace {

using namespace focus;

struct Cli {
  std::string listen = "127.0.0.1:0";
  std::string port_file;
  std::string workspaces = "1:1";
  std::vector<std::string> api_keys;
  std::string api_key_file;
  std::vector<std::string> users;
  std::string tls_cert, tls_key;
  std::string log_level = "info";
  std::int64_t quota_window = 3600;
  bool no_gzip = false;
  std::int64_t idle_timeout_ms = 30'000;
  std::int64_t clock_skew = 0;  // seconds
};

std::int64_t to_int(std::string_view text, const std::string& what) {
  auto v = parse_integer(text);
  if (!v) throw CLI::ValidationError(what, "'" + std::string(text) + "' is not an integer");
  return *v;
}

std::vector<sim::WorkspaceKey> parse_workspaces(const std::string& spec) {
  std::vector<sim::WorkspaceKey> out;
  std::string_view rest = spec;
  while (!rest.empty()) {
    auto comma = rest.find(',');
    auto item = rest.substr(0, comma);
    auto colon = item.find(':');
    if (colon == std::string_view::npos)
      throw CLI::ValidationError("--workspaces", "'" + std::string(item) + "' is not ORG:WS");
    out.push_back({to_int(item.substr(0, colon), "--workspaces"), to_int(item.substr(colon + 1), "--workspaces")});
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
  }
  if (out.empty()) throw CLI::ValidationError("--workspaces", "at least one ORG:WS is needed");
  return out;
}

std::pair<std::string, std::uint16_t> parse_listen(const std::string& spec) {
  auto colon = spec.rfind(':');
  if (colon == std::string::npos) throw CLI::ValidationError("--listen", "expected HOST:PORT");
  std::string host = spec.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  auto port = to_int(std::string_view(spec).substr(colon + 1), "--listen");
  if (port < 0 || port > 65535) throw CLI::ValidationError("--listen", "port out of range");
  return {host, static_cast<std::uint16_t>(port)};
}

std::string read_secret_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read API key file '" + path + "'");
  std::string key;
  std::getline(in, key);
  while (!key.empty() && (key.back() == '\r' || key.back() == ' ')) key.pop_back();
  if (key.empty()) throw std::runtime_error("API key file '" + path + "' is empty");
  return key;
}

// Written once listening, via a rename so a reader never sees half a number.
void write_port_file(const std::string& path, std::uint16_t port) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp);
    out << port << "\n";
    if (!out) throw std::runtime_error("cannot write port file '" + tmp + "'");
  }
  std::filesystem::rename(tmp, path);
}

// The flags, in three groups in the order --help lists them. Each binds to
// `cli` or `options`, which main keeps for the whole run, as CLI11 needs.

// What is served: address, seeded world, accepted credentials, quota.
void add_world_options(CLI::App& app, Cli& cli, sim::SimOptions& options) {
  app.add_option("--listen", cli.listen, "HOST:PORT to listen on (port 0: any free port)")->capture_default_str();
  app.add_option("--port-file", cli.port_file, "write the bound port here once listening");
  app.add_option("--projects", options.projects_per_workspace, "projects seeded per workspace")->capture_default_str()->check(CLI::NonNegativeNumber);
  app.add_option("--seed", options.seed, "seed for the generated data and the fault dice")->capture_default_str();
  app.add_option("--workspaces", cli.workspaces, "ORG:WS[,ORG:WS...] to serve")->capture_default_str();
  app.add_option("--id-base", options.first_project_id, "first project id")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--max-per-page", options.max_per_page, "largest per_page served (larger asks are capped)")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--api-key", cli.api_keys, "accept Bearer KEY (repeatable; test keys only: argv is visible to others)");
  app.add_option("--api-key-file", cli.api_key_file, "accept the Bearer key read from this file");
  app.add_option("--user", cli.users, "accept Basic EMAIL:PASSWORD (repeatable)");
  app.add_option("--quota", options.quota.limit, "requests per user, organization and window (0: no quota)")->capture_default_str()->check(CLI::NonNegativeNumber);
  app.add_option("--quota-window", cli.quota_window, "quota window in seconds")->capture_default_str()->check(CLI::PositiveNumber);
}

// The faults focus-sim can inject (and its clock skew).
void add_fault_options(CLI::App& app, Cli& cli, sim::FaultSettings& f) {
  // A fault's rate: the share of requests it strikes, from 0 to 1.
  auto rate = [&](const char* flag, double& share, const char* help) {
    app.add_option(flag, share, help)->check(CLI::Range(0.0, 1.0));
  };
  app.add_option("--latency-ms", f.latency_ms, "delay before every API answer")->check(CLI::NonNegativeNumber);
  rate("--error-rate", f.error_rate, "share of requests answered 500/503");
  rate("--rate-limited-rate", f.rate_limited_rate, "share answered 429 with Retry-After");
  rate("--drop-rate", f.drop_rate, "share applied, then dropped unanswered");
  rate("--truncate-rate", f.truncate_rate, "share applied, body cut short");
  rate("--garbage-rate", f.garbage_rate, "share applied, body malformed JSON");
  rate("--oversize-rate", f.oversize_rate, "share applied, body padded past --oversize-bytes");
  app.add_option("--oversize-bytes", f.oversize_bytes, "size of an oversized body")->capture_default_str();
  app.add_option("--clock-skew", cli.clock_skew, "the server's clock runs SECONDS ahead of this host's (negative: behind)");
  rate("--bad-utf8-rate", f.bad_utf8_rate, "share whose error text or string fields are not UTF-8");
  rate("--refuse-writes-rate", f.refuse_writes_rate, "share of writes refused 400 in broken UTF-8, not applied");
  rate("--garbage-writes-rate", f.garbage_writes_rate, "share of writes applied, 2xx body malformed JSON");
  rate("--wrong-types-rate", f.wrong_types_rate, "share applied, a field of the answer of the wrong JSON type");
  rate("--huge-numbers-rate", f.huge_numbers_rate, "share applied, numbers near or past INT64_MAX in the answer");
  rate("--deep-nesting-rate", f.deep_nesting_rate, "share applied, the answer holding a value --nesting-depth deep");
  app.add_option("--nesting-depth", f.nesting_depth, "levels of a deeply nested value")->capture_default_str()->check(CLI::Range(std::size_t{1}, static_cast<std::size_t>(sim::kMaxNestingDepth)));
  app.add_flag("--hostile-writes-only", f.hostile_writes_only, "bad UTF-8, wrong types, huge numbers and deep nesting strike writes' answers only");
  app.add_flag("--cycle", f.cycle, "answers show the two lowest live ids as each other's parent");
  app.add_flag("--drift", f.drift, "other users insert and delete between page requests");
  app.add_flag("--offline", f.offline, "start offline: every API connection dropped");
}

// How it serves: TLS, connections, compression, logging.
void add_serving_options(CLI::App& app, Cli& cli) {
  app.add_option("--tls-cert", cli.tls_cert, "PEM certificate chain: serve HTTPS");
  app.add_option("--tls-key", cli.tls_key, "PEM private key for --tls-cert");
  app.add_option("--idle-timeout-ms", cli.idle_timeout_ms, "close a keep-alive connection idle this long")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_flag("--no-gzip", cli.no_gzip, "never gzip answers (by default: when the client accepts gzip)");
  app.add_option("--log-level", cli.log_level, "trace, debug, info, warn, error or off")->capture_default_str();
}

// The credentials focus-sim accepts. Throws when the key file cannot be read.
sim::Authenticator make_authenticator(const Cli& cli) {
  sim::Authenticator auth;
  for (auto& k : cli.api_keys) auth.add_api_key(k);
  if (!cli.api_key_file.empty()) auth.add_api_key(read_secret_file(cli.api_key_file));
  for (auto& u : cli.users) auth.add_user(u);
  return auth;
}

http::ServerOptions make_server_options(const Cli& cli, const std::string& host, std::uint16_t port) {
  http::ServerOptions server_options;
  server_options.host = host;
  server_options.port = port;
  server_options.gzip_responses = !cli.no_gzip;
  if (!cli.tls_cert.empty()) server_options.tls = http::TlsFiles{cli.tls_cert, cli.tls_key};
  server_options.idle_timeout = std::chrono::milliseconds(cli.idle_timeout_ms);
  return server_options;
}

// Completes `options` from the flags, then serves until SIGINT or SIGTERM.
// Throws CLI::ValidationError for a malformed flag, std::exception otherwise.
int run(const Cli& cli, sim::SimOptions& options) {
  init_stderr_logging(cli.log_level, "focus-sim");
  options.workspaces = parse_workspaces(cli.workspaces);
  options.quota.window = std::chrono::seconds(cli.quota_window);
  options.clock_skew = std::chrono::seconds(cli.clock_skew);
  auto [host, port] = parse_listen(cli.listen);
  if (cli.tls_cert.empty() != cli.tls_key.empty())
    throw std::runtime_error("--tls-cert and --tls-key go together");

  sim::Simulator simulator(options, make_authenticator(cli));
  boost::asio::io_context io;
  http::Server server(io, make_server_options(cli, host, port), [&](const http::Request& r) { return simulator.handle(r); });
  simulator.stats().count_connections_with([&server] { return server.connections_accepted(); });
  server.start();

  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code&, int signal) {
    spdlog::info("signal {}: shutting down", signal);
    server.stop();
    io.stop();
  });
  if (!cli.port_file.empty()) write_port_file(cli.port_file, server.port());
  spdlog::info("serving {} workspace(s) x {} projects on {}://{}:{}/api", options.workspaces.size(),
               options.projects_per_workspace, cli.tls_cert.empty() ? "http" : "https", host, server.port());
  io.run();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"focus-sim: a local stand-in for the Toggl Focus Projects API (base URL http://HOST:PORT/api)"};
  Cli cli;
  sim::SimOptions options;
  add_world_options(app, cli, options);
  add_fault_options(app, cli, options.faults);
  add_serving_options(app, cli);
  CLI11_PARSE(app, argc, argv);

  try {
    return run(cli, options);
  } catch (const CLI::Error& e) {
    return app.exit(e);
  } catch (const std::exception& e) {
    std::cerr << "focus-sim: " << e.what() << "\n";
    return 1;
  }
}
