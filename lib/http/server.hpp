#pragma once
// An HTTP/1.1 server on TCP, with optional TLS, built on Beast coroutines.
// It owns its acceptor and connections; it never owns the io_context, which
// must outlive it. All methods and the handler run on the io_context's one
// thread (the project's threading model), so handlers need no locking.
//
// Each connection: keep-alive, a limit on header and body size (a larger
// request gets 413 / 431 and the connection is closed), an idle timeout
// between requests, a TLS handshake timeout. The handler's Response can ask
// for a delay, a dropped connection or a truncated body (see message.hpp).

#include "http/message.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace boost::asio {
class io_context;
}

namespace focus::http {

struct TlsFiles {
  std::string certificate_chain;  // PEM
  std::string private_key;        // PEM
};

struct ServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;  // 0: any free port
  std::size_t max_header_bytes = 16 * 1024;
  std::size_t max_body_bytes = 4 * 1024 * 1024;
  std::chrono::milliseconds idle_timeout{30'000};
  std::optional<TlsFiles> tls;
  // gzip answers of 1 KiB or more to clients that send Accept-Encoding: gzip.
  bool gzip_responses = false;
};

class Server {
 public:
  using Handler = std::function<Response(const Request&)>;

  // Binds and listens at once. Throws std::runtime_error naming the address
  // (or the TLS file) when it cannot.
  Server(boost::asio::io_context& io, ServerOptions options, Handler handler);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  std::uint16_t port() const;  // the bound port (useful with port 0)
  std::int64_t connections_accepted() const;
  void start();                // begins accepting connections
  void stop();                 // stops accepting and closes every connection

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace focus::http
