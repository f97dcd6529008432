#pragma once
// What every focusctl command works with: the socket client, the output
// format, the workspace, and how a command fails (CommandFailed: exit 1 with
// the daemon's own message). One thread.

#include "cli/output.hpp"
#include "cli/socket_client.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <iostream>
#include <optional>
#include <stdexcept>
#include <string>

namespace focus::cli {

class CommandFailed : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A value on the command line that CLI11 cannot judge (a workspace, a
// duration, a needed choice): a usage error, exit 2, like CLI11's own.
class UsageError : public CommandFailed {
 public:
  using CommandFailed::CommandFailed;
};

struct Reply {
  int status = 0;
  nlohmann::json body;  // null for 204
  SocketReply raw;
};

class Context {
 public:
  Context(SocketClient& client, Format format, std::optional<std::string> workspace)
      : client_(client), format_(format), workspace_(std::move(workspace)) {}

  // A request; a status of 400 or more throws CommandFailed with the
  // daemon's message (and the field it names).
  Reply call(const std::string& method, const std::string& target, const nlohmann::json& body = nullptr);
  // "/api/organizations/O/workspaces/W/projects" for the chosen workspace
  // (--workspace, else the first the daemon mirrors).
  std::string projects_path();
  // "ORG/WS": --workspace, else the first workspace the daemon mirrors.
  std::string workspace_text();
  // That workspace's entry in /v1/status (synced-at, stale, counts).
  nlohmann::json workspace_status();
  // Every page of a Focus list query ("" or "?...") up to `limit` (-1: all).
  std::vector<nlohmann::json> list_all(const std::string& query, std::int64_t limit);

  SocketClient& client() { return client_; }
  Format format() const { return format_; }
  std::ostream& out() { return std::cout; }
  std::ostream& err() { return std::cerr; }

 private:
  SocketClient& client_;
  Format format_;
  std::optional<std::string> workspace_;
  std::optional<std::string> workspace_resolved_;
};

// "2h", "35m", "12s" ago, for people.
std::string age_text(const std::string& rfc3339);
// The body for a write from a file (or "-" for stdin).
nlohmann::json read_json_file(const std::string& path);

}  // namespace focus::cli
