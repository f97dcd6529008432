#include "http/client.hpp"

#include "core/utf8.hpp"
#include "http/gzip.hpp"
#include "http/tls_hardening.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/url/parse.hpp>
#include <spdlog/spdlog.h>

#include <stdexcept>

namespace focus::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using namespace asio::experimental::awaitable_operators;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kReadChunk = 64 * 1024;  // Beast reads at most the buffer's free capacity per recv

struct Origin {
  bool tls = false;
  std::string host;  // without brackets
  std::string port;
  std::string prefix;  // "/api", no trailing slash
  std::string host_header;
};

Origin parse_origin(const std::string& base_url) {
  auto parsed = boost::urls::parse_uri(base_url);
  if (!parsed) throw std::invalid_argument("base URL '" + base_url + "' is not a URL");
  Origin o;
  std::string scheme(parsed->scheme());
  if (scheme != "http" && scheme != "https")
    throw std::invalid_argument("base URL '" + base_url + "' must start with http:// or https://");
  o.tls = scheme == "https";
  o.host = std::string(parsed->host_address());
  if (o.host.empty()) throw std::invalid_argument("base URL '" + base_url + "' has no host");
  if (parsed->has_port() && parsed->port().empty())
    throw std::invalid_argument("base URL '" + base_url + "' has an empty port");
  o.port = parsed->has_port() ? std::string(parsed->port()) : (o.tls ? "443" : "80");
  o.prefix = std::string(parsed->encoded_path());
  while (!o.prefix.empty() && o.prefix.back() == '/') o.prefix.pop_back();
  o.host_header = std::string(parsed->encoded_host_and_port());
  return o;
}

bool is_ip_address(const std::string& host) {
  boost::system::error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

// The message may carry text from the network (a system error's words, a
// host name): one valid UTF-8 line, bounded, like every error kept.
ClientFailure failure(Errc code, std::string message, bool sent) {
  return ClientFailure{make_error(code, bounded_text(message, 500)), sent};
}

}  // namespace

struct Client::Impl {
  asio::io_context& io;
  ClientOptions options;
  Origin origin;
  std::optional<asio::ssl::context> tls_context;
  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> secure;
  beast::flat_buffer buffer;
  bool connected = false;
  bool cancelled = false;  // cancel() was called: nothing more is sent

  Impl(asio::io_context& io_, ClientOptions opts) : io(io_), options(std::move(opts)), origin(parse_origin(options.base_url)) {
    buffer.reserve(kReadChunk);
    if (origin.tls) make_tls_context();
  }

  void make_tls_context() {
    tls_context.emplace(asio::ssl::context::tls_client);
    detail::refuse_old_protocols(*tls_context);
    tls_context->set_default_verify_paths();
    if (options.ca_file) {
      boost::system::error_code ec;
      tls_context->load_verify_file(*options.ca_file, ec);
      if (ec) throw std::runtime_error("cannot load CA file '" + *options.ca_file + "': " + ec.message());
    }
    if (options.insecure_skip_verify) {
      spdlog::warn("TLS certificate verification is OFF for {}: anyone on the path can read and change the traffic",
                   origin.host_header);
      tls_context->set_verify_mode(asio::ssl::verify_none);
    } else {
      tls_context->set_verify_mode(asio::ssl::verify_peer);
    }
  }

  beast::tcp_stream& lowest() { return origin.tls ? beast::get_lowest_layer(*secure) : *plain; }

  void close() {
    if (!connected) return;
    beast::error_code ignored;
    lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
    lowest().socket().close(ignored);
    connected = false;
    buffer.consume(buffer.size());
  }

  // The time a phase may take: its own limit, but never past the deadline.
  static std::optional<Clock::duration> budget(std::chrono::milliseconds phase, Clock::time_point deadline) {
    auto left = deadline - Clock::now();
    if (left <= Clock::duration::zero()) return std::nullopt;
    return std::min<Clock::duration>(phase, left);
  }

  asio::awaitable<std::optional<ClientFailure>> connect(Clock::time_point deadline) {
    auto resolve_budget = budget(options.resolve_timeout, deadline);
    if (!resolve_budget) co_return failure(Errc::timeout, "deadline passed before connecting", false);
    tcp::resolver resolver(io);
    asio::steady_timer timer(io, *resolve_budget);
    auto raced = co_await (resolver.async_resolve(origin.host, origin.port, use_tuple) || timer.async_wait(use_tuple));
    if (raced.index() == 1) co_return failure(Errc::timeout, "resolving " + origin.host + " timed out", false);
    auto [resolve_ec, endpoints] = std::get<0>(raced);
    if (resolve_ec) co_return failure(Errc::network, "cannot resolve " + origin.host + ": " + resolve_ec.message(), false);

    auto connect_budget = budget(options.connect_timeout, deadline);
    if (!connect_budget) co_return failure(Errc::timeout, "deadline passed before connecting", false);
    if (origin.tls) secure.emplace(io, *tls_context);
    else plain.emplace(io);
    lowest().expires_after(*connect_budget);
    auto [connect_ec, endpoint] = co_await lowest().async_connect(endpoints, use_tuple);
    if (connect_ec == beast::error::timeout)
      co_return failure(Errc::timeout, "connecting to " + origin.host_header + " timed out", false);
    if (connect_ec)
      co_return failure(Errc::network, "cannot connect to " + origin.host_header + ": " + connect_ec.message(), false);
    lowest().socket().set_option(tcp::no_delay(true));
    if (origin.tls) {
      if (auto f = co_await handshake(deadline)) co_return f;
    }
    connected = true;
    co_return std::nullopt;
  }

  asio::awaitable<std::optional<ClientFailure>> handshake(Clock::time_point deadline) {
    auto tls_budget = budget(options.tls_timeout, deadline);
    if (!tls_budget) co_return failure(Errc::timeout, "deadline passed before the TLS handshake", false);
    if (!is_ip_address(origin.host) && !SSL_set_tlsext_host_name(secure->native_handle(), origin.host.c_str()))
      co_return failure(Errc::tls, "cannot set SNI host name", false);
    if (!options.insecure_skip_verify) secure->set_verify_callback(asio::ssl::host_name_verification(origin.host));
    lowest().expires_after(*tls_budget);
    auto [ec] = co_await secure->async_handshake(asio::ssl::stream_base::client, use_tuple);
    if (ec == beast::error::timeout) co_return failure(Errc::timeout, "TLS handshake with " + origin.host_header + " timed out", false);
    if (ec) co_return failure(Errc::tls, "TLS handshake with " + origin.host_header + " failed: " + ec.message(), false);
    co_return std::nullopt;
  }

  bhttp::request<bhttp::string_body> to_beast(const Request& r) const {
    bhttp::request<bhttp::string_body> req;
    req.method_string(r.method);
    req.target(origin.prefix + r.target);
    req.version(11);
    req.set(bhttp::field::host, origin.host_header);
    req.set(bhttp::field::user_agent, options.user_agent);
    if (options.accept_gzip) req.set(bhttp::field::accept_encoding, "gzip");
    for (const auto& h : r.headers) req.set(h.name, h.value);
    req.body() = r.body;
    req.keep_alive(true);
    req.prepare_payload();
    return req;
  }

  // One exchange on the open connection. `answered` tells whether any byte
  // of an answer arrived (a stale keep-alive connection sends none).
  template <class Stream>
  asio::awaitable<std::variant<Response, ClientFailure>> exchange(Stream& stream, const Request& request,
                                                                 Clock::time_point deadline, bool& answered) {
    auto req = to_beast(request);
    auto write_budget = budget(options.write_timeout, deadline);
    if (!write_budget) co_return failure(Errc::timeout, "deadline passed before sending", false);
    lowest().expires_after(*write_budget);
    auto [write_ec, written] = co_await bhttp::async_write(stream, req, use_tuple);
    if (write_ec == beast::error::timeout) co_return failure(Errc::timeout, "sending the request timed out", true);
    if (write_ec) co_return failure(Errc::network, "sending the request failed: " + write_ec.message(), true);

    auto read_budget = budget(options.read_timeout, deadline);
    if (!read_budget) co_return failure(Errc::timeout, "deadline passed before the answer", true);
    lowest().expires_after(*read_budget);  // for the interim answers and the answer together
    // Interim answers (100 Continue, 103 Early Hints) may come first; each
    // is read and passed over. Taken as the answer, one left the real
    // answer to be read as the next request's.
    for (int interim = 0;; ++interim) {
      bhttp::response_parser<bhttp::string_body> parser;
      parser.body_limit(options.max_body_bytes);
      auto [read_ec, read] = co_await bhttp::async_read(stream, buffer, parser, use_tuple);
      answered = answered || parser.got_some();
      if (read_ec) co_return read_failure(read_ec);
      const unsigned status = parser.get().result_int();
      if (status / 100 != 1) co_return to_response(parser.release());
      if (status == 101 || interim == kMostInterimAnswers) {
        close();
        co_return failure(Errc::bad_response, status == 101 ? "the server switched protocols (101)"
                                                            : "too many interim (1xx) answers", true);
      }
    }
  }

  static constexpr int kMostInterimAnswers = 8;

  // What a failed read of an answer means, in the words a user reads.
  ClientFailure read_failure(const boost::system::error_code& read_ec) {
    if (read_ec == bhttp::error::body_limit)
      return failure(Errc::body_too_large, "the answer is larger than " + std::to_string(options.max_body_bytes) + " bytes", true);
    if (read_ec == beast::error::timeout) return failure(Errc::timeout, "waiting for the answer timed out", true);
    if (read_ec == bhttp::error::partial_message)
      return failure(Errc::network, "the connection closed in the middle of the answer", true);
    if (read_ec == bhttp::error::end_of_stream || read_ec == asio::error::eof || read_ec == asio::error::connection_reset)
      return failure(Errc::network, "the connection closed before an answer", true);
    return failure(Errc::bad_response, "unreadable answer: " + read_ec.message(), true);
  }

  std::variant<Response, ClientFailure> to_response(bhttp::response<bhttp::string_body>&& res) {
    if (!res.keep_alive()) close();
    Response out;
    out.status = static_cast<int>(res.result_int());
    for (const auto& f : res) out.headers.push_back({std::string(f.name_string()), std::string(f.value())});
    out.content_type = std::string(res[bhttp::field::content_type]);
    out.body = std::move(res.body());
    if (iequals(res[bhttp::field::content_encoding], "gzip")) {
      auto inflated = gzip_decompress(out.body, options.max_body_bytes);
      if (!inflated) {
        close();
        return failure(Errc::body_too_large, "the gzip answer is corrupt or inflates past " +
                                                 std::to_string(options.max_body_bytes) + " bytes", true);
      }
      out.body = std::move(*inflated);
    }
    return out;
  }

  asio::awaitable<std::variant<Response, ClientFailure>> send(Request request) {
    const auto deadline = Clock::now() + options.total_timeout;
    // Whether an earlier try wrote the request: then a later one that sends
    // nothing still leaves it possibly received (and its quota spent).
    bool written_before = false;
    for (int attempt = 0;; ++attempt) {
      if (cancelled)
        co_return failure(Errc::network, "not sent: the client was cancelled (shutting down)", written_before);
      bool reused = connected;
      if (!connected) {
        if (auto f = co_await connect(deadline)) {
          close();
          f->request_sent = f->request_sent || written_before;
          co_return *f;
        }
      }
      bool answered = false;
      // Not a conditional expression: GCC 12 destroys the temporaries of a
      // co_await inside ?: twice.
      std::variant<Response, ClientFailure> result;
      if (origin.tls) result = co_await exchange(*secure, request, deadline, answered);
      else result = co_await exchange(*plain, request, deadline, answered);
      if (std::holds_alternative<Response>(result)) co_return result;
      close();
      auto& f = std::get<ClientFailure>(result);
      // A kept-alive connection the server had already closed: nothing was
      // processed. Safe to try once more for a read; a write's fate is the caller's.
      bool stale = reused && !answered && f.error.is(Errc::network) && !cancelled;
      f.request_sent = f.request_sent || written_before;
      if (!(stale && attempt == 0 && request.method == "GET")) co_return result;
      written_before = f.request_sent;
    }
  }
};

Client::Client(asio::io_context& io, ClientOptions options) : impl_(std::make_unique<Impl>(io, std::move(options))) {}
Client::~Client() = default;

asio::awaitable<std::variant<Response, ClientFailure>> Client::send(Request request) {
  co_return co_await impl_->send(std::move(request));
}

void Client::close() { impl_->close(); }
void Client::cancel() {
  impl_->cancelled = true;
  impl_->close();
}
const ClientOptions& Client::options() const { return impl_->options; }

}  // namespace focus::http
