#include "http/server.hpp"

#include "core/spawn.hpp"
#include "http/beast_glue.hpp"
#include "http/connection_loop.hpp"
#include "http/server_parts.hpp"
#include "http/gzip.hpp"
#include "http/tls_hardening.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <spdlog/spdlog.h>

#include <list>
#include <sstream>
#include <stdexcept>

namespace focus::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

using detail::to_beast;
using detail::to_request;
using detail::use_tuple;

}  // namespace

struct Server::Impl : std::enable_shared_from_this<Server::Impl> {
  asio::io_context& io;
  ServerOptions options;
  Handler handler;
  tcp::acceptor acceptor;
  std::optional<asio::ssl::context> tls;
  std::list<tcp::socket*> open_sockets;  // for stop(); entries owned by their sessions
  bool stopped = false;
  std::int64_t accepted = 0;

  Impl(asio::io_context& io_, ServerOptions opts, Handler h)
      : io(io_), options(std::move(opts)), handler(std::move(h)), acceptor(io_) {}

  void listen() {
    boost::system::error_code ec;
    auto address = asio::ip::make_address(options.host, ec);
    if (ec) throw std::runtime_error("cannot listen: '" + options.host + "' is not an IP address");
    tcp::endpoint endpoint{address, options.port};
    acceptor.open(endpoint.protocol());
    acceptor.set_option(asio::socket_base::reuse_address(true));
    acceptor.bind(endpoint, ec);
    if (ec)
      throw std::runtime_error("cannot listen on " + options.host + ":" + std::to_string(options.port) +
                               ": " + ec.message());
    acceptor.listen();
    if (options.tls) load_tls();
  }

  void load_tls() {
    tls.emplace(asio::ssl::context::tls_server);
    detail::refuse_old_protocols(*tls);
    boost::system::error_code ec;
    tls->use_certificate_chain_file(options.tls->certificate_chain, ec);
    if (ec) throw std::runtime_error("cannot load TLS certificate '" + options.tls->certificate_chain + "': " + ec.message());
    tls->use_private_key_file(options.tls->private_key, asio::ssl::context::pem, ec);
    if (ec) throw std::runtime_error("cannot load TLS key '" + options.tls->private_key + "': " + ec.message());
  }

  asio::awaitable<void> accept_loop() {
    auto self = shared_from_this();
    detail::AcceptErrors errors("HTTP server on " + options.host);
    co_await detail::accept_connections(acceptor, errors, [this] { return stopped; }, [this](tcp::socket socket) {
      ++accepted;
      boost::system::error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      spawn_logged(io.get_executor(), serve_connection(std::move(socket)), "HTTP connection");
    });
  }

  asio::awaitable<void> serve_connection(tcp::socket socket) {
    auto self = shared_from_this();
    if (!tls) {
      beast::tcp_stream stream(std::move(socket));
      detail::Registration<tcp::socket> registration(open_sockets, &stream.socket());
      co_await serve_requests(stream);
      beast::error_code ignored;
      stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
      co_return;
    }
    beast::ssl_stream<beast::tcp_stream> stream(std::move(socket), *tls);
    detail::Registration<tcp::socket> registration(open_sockets, &beast::get_lowest_layer(stream).socket());
    beast::get_lowest_layer(stream).expires_after(options.idle_timeout);
    auto [ec] = co_await stream.async_handshake(asio::ssl::stream_base::server, use_tuple);
    if (!ec) {
      co_await serve_requests(stream);
      beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(2));
      co_await stream.async_shutdown(use_tuple);
    }
  }

  // What the shared loop (connection_loop.hpp) asks of this server: a
  // synchronous handler whose Response may ask for a delay, a dropped
  // connection or a truncated body (focus-sim's faults), and gzip.
  struct Hooks {
    Impl& server;
    bool stopped() const { return server.stopped; }
    void stalled() {}
    void refusing(const beast::error_code&) {}
    template <class Stream>
    asio::awaitable<bool> answer(Stream& stream, detail::BeastRequest req) {
      return server.answer(stream, std::move(req));
    }
  };

  template <class Stream>
  asio::awaitable<void> serve_requests(Stream& stream) {
    Hooks hooks{*this};
    co_await detail::serve_requests(stream, detail::limits_of(options), hooks);
  }

  template <class Stream>
  asio::awaitable<bool> answer(Stream& stream, detail::BeastRequest req) {
    unsigned version = req.version();
    bool keep_alive = req.keep_alive();
    bool wants_gzip = req[bhttp::field::accept_encoding].find("gzip") != beast::string_view::npos;
    const bool head_only = req.method() == bhttp::verb::head;
    Response response = handler(to_request(std::move(req)));
    if (options.gzip_responses && wants_gzip) compress(response);
    if (response.delay.count() > 0) {
      asio::steady_timer timer(io, response.delay);
      co_await timer.async_wait(use_tuple);
      if (stopped) co_return false;
    }
    if (response.delivery == Delivery::drop) {
      beast::get_lowest_layer(stream).close();
      co_return false;
    }
    if (response.delivery == Delivery::truncate && !head_only) {  // a head alone has no body to cut
      co_await send_truncated(stream, std::move(response), version);
      co_return false;
    }
    bool sent = co_await detail::send(stream, std::move(response), version, keep_alive, options.idle_timeout, head_only);
    co_return sent && keep_alive;
  }

  static void compress(Response& response) {
    constexpr std::size_t kMinimum = 1024;
    if (response.body.size() < kMinimum || response.header("Content-Encoding")) return;
    response.body = gzip_compress(response.body);
    response.set_header("Content-Encoding", "gzip");
  }

  // Headers announce the whole body; only the first half is sent.
  template <class Stream>
  asio::awaitable<void> send_truncated(Stream& stream, Response response, unsigned version) {
    auto res = to_beast(std::move(response), version, true);
    std::ostringstream head;
    head << res.base();
    std::string wire = head.str() + res.body().substr(0, res.body().size() / 2);
    beast::get_lowest_layer(stream).expires_after(options.idle_timeout);
    co_await asio::async_write(stream, asio::buffer(wire), use_tuple);
    beast::get_lowest_layer(stream).close();
  }
};

Server::Server(asio::io_context& io, ServerOptions options, Handler handler)
    : impl_(std::make_shared<Impl>(io, std::move(options), std::move(handler))) {
  impl_->listen();
}

Server::~Server() { stop(); }

std::uint16_t Server::port() const { return impl_->acceptor.local_endpoint().port(); }

std::int64_t Server::connections_accepted() const { return impl_->accepted; }

void Server::start() { spawn_logged(impl_->io.get_executor(), impl_->accept_loop(), "the HTTP accept loop"); }

void Server::stop() {
  if (impl_->stopped) return;
  impl_->stopped = true;
  beast::error_code ignored;
  impl_->acceptor.close(ignored);
  for (auto* socket : impl_->open_sockets) socket->close(ignored);
}

}  // namespace focus::http
