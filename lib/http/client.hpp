#pragma once
// An HTTP/1.1 client for one origin (http:// or https:// with a path prefix,
// e.g. "https://focus.toggl.com/api"), on Beast and C++20 coroutines. It keeps
// one connection alive and reuses it; each exchange has a timeout per phase
// (resolve, connect, TLS handshake, write, read) inside a total deadline, a
// limit on the answer's body (also after gzip decoding), and asks for gzip.
//
// TLS verifies the peer and the host name against the system store (plus an
// optional extra CA file) with SNI; turning verification off takes an explicit
// option and is logged as a warning at construction.
//
// Failures are values: Errc::timeout, network, tls, body_too_large,
// bad_response, with `request_sent` telling whether the server may have
// received the request (what decides if a write's outcome is unknown). A
// request is never retried here, except a GET whose reused keep-alive
// connection turned out to be closed before any answer byte arrived.
//
// Owned by its user; must outlive no io_context. One exchange at a time: the
// caller awaits send() before calling it again. io_context thread only.

#include "core/result.hpp"
#include "http/message.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <variant>

namespace boost::asio {
class io_context;
}

namespace focus::http {

struct ClientOptions {
  std::string base_url;  // scheme://host[:port][/prefix]
  std::chrono::milliseconds resolve_timeout{5'000};
  std::chrono::milliseconds connect_timeout{5'000};
  std::chrono::milliseconds tls_timeout{5'000};
  std::chrono::milliseconds write_timeout{10'000};
  std::chrono::milliseconds read_timeout{30'000};
  std::chrono::milliseconds total_timeout{60'000};
  std::size_t max_body_bytes = 16 * 1024 * 1024;
  std::optional<std::string> ca_file;  // trusted in addition to the system store
  bool insecure_skip_verify = false;   // never the default; logged loudly
  bool accept_gzip = true;
  std::string user_agent = "focussync";
};

// What went wrong, and whether the request may have reached the server.
struct ClientFailure {
  Error error;
  bool request_sent = false;
};

class Client {
 public:
  // Throws std::invalid_argument for a malformed base URL and
  // std::runtime_error for a CA file that cannot be loaded.
  Client(boost::asio::io_context& io, ClientOptions options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // `request.target` is appended to the base URL's path prefix. Host,
  // User-Agent, Accept-Encoding and Content-Length are set here.
  boost::asio::awaitable<std::variant<Response, ClientFailure>> send(Request request);

  // Closes the kept-alive connection (the next send opens a new one).
  void close();
  // Ends the exchange in flight (it fails at once, with request_sent as it
  // was) and makes every later send fail without sending: for shutting down.
  void cancel();
  const ClientOptions& options() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace focus::http
