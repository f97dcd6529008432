#pragma once
// focusctl's side of the socket: one HTTP/1.1 request at a time to
// focussyncd over its Unix socket, blocking (a command line has nothing else
// to do meanwhile). Streamed answers (server-sent events) are handed over
// line by line as they arrive. Throws Unreachable when nothing listens on the
// socket, std::runtime_error on a broken exchange. One thread.

#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace focus::cli {

class Unreachable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct SocketReply {
  int status = 0;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::optional<std::string> header(const std::string& name) const;
};

class SocketClient {
 public:
  explicit SocketClient(std::string path);
  ~SocketClient();

  SocketReply request(const std::string& method, const std::string& target, const std::string& body = {});
  // Sends a request asking for text/event-stream and calls `on_line` with
  // each line of the answer's body until the server ends it or `on_line`
  // answers false. Answers the status (the body of a non-200 in `error`).
  int stream(const std::string& method, const std::string& target, const std::function<bool(const std::string&)>& on_line,
             std::string& error);

  const std::string& path() const { return path_; }

 private:
  struct Impl;
  std::string path_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace focus::cli
