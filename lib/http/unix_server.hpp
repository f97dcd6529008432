#pragma once
// An HTTP/1.1 server on a Unix domain socket, for local clients (curl
// --unix-socket, any HTTP library). The handler answers at once, or hands
// back a coroutine when the answer must wait (long polls), and an answer may
// stream (server-sent events); it learns who is asking: the peer's uid, gid
// and pid from SO_PEERCRED.
//
// The socket file: its folder is created 0700 if missing, and must belong
// to this process's user and not be writable by group or others (else the
// constructor throws, naming the fix); a stale socket
// file (nobody listening) is replaced, a live one (another server) is not:
// the constructor throws. The file gets `mode` (and `group`, when given).
// Limits: header and body size (431 / 413, then the connection closes), a
// maximum number of connections (over it: 503 and close), an idle timeout
// between requests and per write, so a slow or silent client holds only its
// own connection. A malformed request gets 400.
//
// Owns its acceptor and connections, never the io_context (which must outlive
// it). All methods and handlers run on the io_context's one thread.

#include "http/message.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <sys/types.h>
#include <variant>

namespace boost::asio {
class io_context;
}

namespace focus::http {

struct PeerCredentials {
  uid_t uid = 0;
  gid_t gid = 0;
  pid_t pid = 0;
};

struct UnixServerOptions {
  std::string path;
  mode_t mode = 0600;
  std::optional<gid_t> group;  // chgrp the socket to this group
  std::size_t max_header_bytes = 16 * 1024;
  std::size_t max_body_bytes = 1024 * 1024;
  std::size_t max_connections = 512;
  std::chrono::milliseconds idle_timeout{60'000};
};

// Where a streamed answer writes its body, piece by piece.
class StreamSink {
 public:
  virtual ~StreamSink() = default;
  // False once the client is gone (the stream should end).
  virtual boost::asio::awaitable<bool> write(std::string piece) = 0;
};

// An answer whose body is written as it happens (server-sent events): the
// head is sent first, without a length, and the connection closes after
// `body` returns, or once the client hangs up (`body` is then cancelled: it
// only writes what happens, and work it started must not depend on it).
struct Streamed {
  Response head;
  std::function<boost::asio::awaitable<void>(StreamSink&)> body;
};

struct Deferred;
using Answer = std::variant<Response, Streamed, Deferred>;

// An answer that must wait (a sync, a long poll, a query on another
// thread): the server awaits `run` and sends what it gives. Most answers
// are ready at once, and cost no coroutine of their own. One that only
// waits (a long poll) is `abandoned_with_client`: should the client hang up
// first, `run` is cancelled (its wait throws operation_aborted) and the
// connection closed, so that a client gone does not hold a connection until
// the wait ends. Work that must finish (a sync asked for) is not.
struct Deferred {
  std::function<boost::asio::awaitable<Answer>()> run;
  bool abandoned_with_client = false;
};

// Why a socket at `socket_path` would be refused for its folder's owner or
// mode (or its folder could not be made), judged without creating anything
// (for --check-config); nullopt when it would be accepted. The rules the
// constructor applies.
std::optional<std::string> socket_folder_problem(const std::string& socket_path);

class UnixServer {
 public:
  using Handler = std::function<Answer(Request, PeerCredentials)>;

  // Binds and listens. Throws std::runtime_error naming the path when the
  // socket cannot be made or another server is live on it.
  UnixServer(boost::asio::io_context& io, UnixServerOptions options, Handler handler);
  ~UnixServer();
  UnixServer(const UnixServer&) = delete;
  UnixServer& operator=(const UnixServer&) = delete;

  void start();
  // Stops accepting, closes every connection, removes the socket file.
  void stop();
  std::size_t open_connections() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace focus::http
