#include "cli/socket_client.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace focus::cli {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using local = asio::local::stream_protocol;

std::optional<std::string> SocketReply::header(const std::string& name) const {
  for (const auto& [k, v] : headers)
    if (beast::iequals(k, name)) return v;
  return std::nullopt;
}

struct SocketClient::Impl {
  asio::io_context io;
  std::optional<local::socket> socket;
  beast::flat_buffer buffer;

  void connect(const std::string& path) {
    if (socket && socket->is_open()) return;
    socket.emplace(io);
    boost::system::error_code ec;
    socket->connect(local::endpoint(path), ec);
    if (ec) {
      socket.reset();
      throw Unreachable(ec.message());
    }
    buffer.clear();
  }

  bhttp::request<bhttp::string_body> make(const std::string& method, const std::string& target, const std::string& body) {
    bhttp::request<bhttp::string_body> req{bhttp::string_to_verb(method), target, 11};
    req.set(bhttp::field::host, "localhost");
    req.set(bhttp::field::user_agent, "focusctl");
    if (!body.empty()) req.set(bhttp::field::content_type, "application/json");
    req.body() = body;
    req.prepare_payload();
    return req;
  }
};

SocketClient::SocketClient(std::string path) : path_(std::move(path)), impl_(std::make_unique<Impl>()) {}
SocketClient::~SocketClient() = default;

SocketReply SocketClient::request(const std::string& method, const std::string& target, const std::string& body) {
  for (int attempt = 0;; ++attempt) {
    impl_->connect(path_);
    auto req = impl_->make(method, target, body);
    boost::system::error_code ec;
    bhttp::write(*impl_->socket, req, ec);
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(256 * 1024 * 1024);
    if (!ec) bhttp::read(*impl_->socket, impl_->buffer, parser, ec);
    if (ec) {
      impl_->socket.reset();
      // A kept-alive connection the daemon closed meanwhile: once more on a new one.
      if (attempt == 0 && (ec == bhttp::error::end_of_stream || ec == asio::error::broken_pipe ||
                           ec == asio::error::connection_reset))
        continue;
      throw std::runtime_error("the exchange with focussyncd failed: " + ec.message());
    }
    auto res = parser.release();
    SocketReply a;
    a.status = static_cast<int>(res.result_int());
    for (const auto& f : res) a.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
    a.body = std::move(res.body());
    if (!res.keep_alive()) impl_->socket.reset();
    return a;
  }
}

int SocketClient::stream(const std::string& method, const std::string& target,
                         const std::function<bool(const std::string&)>& on_line, std::string& error) {
  impl_->socket.reset();  // a stream ends its connection: use a fresh one
  impl_->connect(path_);
  auto req = impl_->make(method, target, {});
  req.set(bhttp::field::accept, "text/event-stream");
  bhttp::write(*impl_->socket, req);
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(boost::none);
  parser.eager(true);
  bhttp::read_header(*impl_->socket, impl_->buffer, parser);
  const int status = static_cast<int>(parser.get().result_int());
  std::string pending;
  for (;;) {
    boost::system::error_code ec;
    bhttp::read_some(*impl_->socket, impl_->buffer, parser, ec);
    // The parser appends to the body; take what came and empty it, so a
    // stream followed for days does not grow.
    auto& body = parser.get().body();
    pending += body;
    body.clear();
    if (status != 200) {
      if (ec || parser.is_done()) break;
      continue;
    }
    for (auto nl = pending.find('\n'); nl != std::string::npos; nl = pending.find('\n')) {
      std::string line = pending.substr(0, nl);
      pending.erase(0, nl + 1);
      if (!on_line(line)) {
        impl_->socket.reset();
        return status;
      }
    }
    if (ec || parser.is_done()) break;
  }
  if (status != 200) error = pending;
  impl_->socket.reset();
  return status;
}

}  // namespace focus::cli
