#pragma once
// Internal to lib/http, included only by server.cpp (TCP and TLS, focus-sim)
// and unix_server.cpp (focussyncd's socket): the one loop both run on a
// connection, templated on the stream (beast::tcp_stream,
// beast::ssl_stream<beast::tcp_stream>, beast::basic_stream<local>).
//
// serve_requests reads requests one after another under the limits (header
// and body size, idle timeout); ends quietly when the client closes, goes
// silent or the server stops; answers a request that could not be read (413,
// 431 or 400) and drains what the client still sends; and hands every
// request that was read to the server's hooks, which answer it their own way
// (the TCP server: delays, drops and gzip for focus-sim; the socket: peer
// credentials and streamed answers). send() is the one way both write an
// answer. accept_connections is the accept loop both run, with the back-off
// of AcceptErrors (server_parts.hpp). Includes Beast: never include it from
// a public header.
//
// Each runs inside its server's coroutine (a connection's, or the accept
// loop's), on the io_context's one thread; the stream, acceptor and hooks
// must outlive it.

#include "http/beast_glue.hpp"
#include "http/message.hpp"
#include "http/server_parts.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/socket_base.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <array>
#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <type_traits>
#include <utility>

namespace focus::http::detail {

inline constexpr auto use_tuple = boost::asio::as_tuple(boost::asio::use_awaitable);

using BeastRequest = boost::beast::http::request<boost::beast::http::string_body>;

// The limits every connection is read under; both servers' options carry them.
struct ConnectionLimits {
  std::size_t max_header_bytes;
  std::size_t max_body_bytes;
  std::chrono::milliseconds idle_timeout;  // between requests, and per write
};

template <class Options>
ConnectionLimits limits_of(const Options& options) {
  return {options.max_header_bytes, options.max_body_bytes, options.idle_timeout};
}

// What a server adds to the loop. answer() writes the answer to one request
// (with send(), or its own way) and says whether to read another.
template <class Hooks, class Stream>
concept ConnectionHooks = requires(Hooks& hooks, Stream& stream, BeastRequest request,
                                   const boost::beast::error_code& ec) {
  { hooks.stopped() } -> std::convertible_to<bool>;
  hooks.stalled();      // the idle timeout ended a request part-way
  hooks.refusing(ec);   // a request could not be read (before its 4xx)
  { hooks.answer(stream, std::move(request)) } -> std::same_as<boost::asio::awaitable<bool>>;
};

// What a socket in non-blocking mode takes of `buffers` at once, without
// waiting: 0 when it would block, when the stream is not a plain socket
// (TLS) or when the socket blocks. An error is left to the asynchronous
// write that follows, which meets it again and reports it.
template <class Stream, class Buffers>
std::size_t write_at_once(Stream& stream, const Buffers& buffers) {
  auto& lowest = boost::beast::get_lowest_layer(stream);
  if constexpr (std::is_same_v<std::remove_cvref_t<decltype(lowest)>, Stream>) {
    if (!lowest.socket().non_blocking()) return 0;
    boost::system::error_code ec;
    const std::size_t n = lowest.socket().write_some(buffers, ec);
    return ec ? 0 : n;
  } else {
    return 0;
  }
}

// Writes one answer within the write limit, head and body in one gathered
// write (the head alone, with the body's Content-Length, answering a HEAD);
// false when the client is gone. On a non-blocking socket the answer
// is first written in place: an answer that fits the socket's buffer (all
// but the largest pages) then costs one send and no trip through the
// io_context, where the posted completion cost an extra epoll_wait.
template <class Stream>
boost::asio::awaitable<bool> send(Stream& stream, Response response, unsigned version, bool keep_alive,
                                  std::chrono::milliseconds timeout, bool head_only = false) {
  const std::string head = response_head(response, version, keep_alive);
  const bool body = !head_only && !has_no_body(response.status);
  const std::array<boost::asio::const_buffer, 2> wire{
      boost::asio::buffer(head), body ? boost::asio::buffer(response.body) : boost::asio::const_buffer()};
  boost::beast::buffers_suffix<std::array<boost::asio::const_buffer, 2>> rest(wire);
  rest.consume(write_at_once(stream, rest));
  if (boost::beast::buffer_bytes(rest) == 0) co_return true;
  boost::beast::get_lowest_layer(stream).expires_after(timeout);
  // async_write_some until all is written, rather than the composed
  // async_write, whose extra step measured 6 µs more per answer.
  while (boost::beast::buffer_bytes(rest) > 0) {
    auto [ec, n] = co_await stream.async_write_some(rest, use_tuple);
    if (ec) co_return false;
    rest.consume(n);
  }
  co_return true;
}

// Answers a request that could not be read (413, 431 or 400), then closes
// gracefully: the client may still be sending a body, and closing with
// unread input would reset the connection before it reads the answer. So
// the sending side is shut and what arrives is read and dropped, for at
// most 2 s and 64 MiB.
template <class Stream>
boost::asio::awaitable<void> refuse(Stream& stream, const boost::beast::error_code& ec,
                                    std::chrono::milliseconds timeout) {
  if (!co_await send(stream, refusal_for(ec), 11, false, timeout)) co_return;
  auto& lowest = boost::beast::get_lowest_layer(stream);
  boost::beast::error_code ignored;
  lowest.socket().shutdown(boost::asio::socket_base::shutdown_send, ignored);
  lowest.expires_after(std::chrono::seconds(2));
  std::array<char, 64 * 1024> sink;
  for (std::size_t drained = 0; drained < 64 * 1024 * 1024;) {
    auto [read_ec, n] = co_await lowest.async_read_some(boost::asio::buffer(sink), use_tuple);
    if (read_ec) break;
    drained += n;
  }
}

// The ways a connection ends that are nobody's fault: the client closed or
// reset it, went silent past the idle timeout, or the server closed it.
inline bool ends_quietly(const boost::beast::error_code& ec) {
  namespace asio = boost::asio;
  return ec == boost::beast::http::error::end_of_stream || ec == boost::beast::error::timeout ||
         ec == asio::error::operation_aborted || ec == asio::error::connection_reset || ec == asio::error::eof;
}

// Whether a client waits for a go-ahead before sending its body (RFC 9110
// 10.1.1). Without one, libcurl sends the body anyway after a second: every
// such request would be a second late.
inline bool expects_continue(const BeastRequest& head) {
  return head.version() >= 11 && boost::beast::iequals(head[boost::beast::http::field::expect], "100-continue");
}

// Reads one request into `parser`: its head, then what body it has. A client
// that expects to be told to go on, and has sent none of its body yet, is
// told once its head is read and within the limits (a head over them is
// refused with its 4xx by the caller, and never invited). The body is read
// by Beast's eager read, as a request without an Expect is.
template <class Stream>
boost::asio::awaitable<boost::beast::error_code> read_request(
    Stream& stream, boost::beast::flat_buffer& buffer,
    boost::beast::http::request_parser<boost::beast::http::string_body>& parser, const ConnectionLimits& limits) {
  namespace bhttp = boost::beast::http;
  auto [ec, n] = co_await bhttp::async_read_header(stream, buffer, parser, use_tuple);
  if (ec || parser.is_done()) co_return ec;
  if (buffer.size() == 0 && expects_continue(parser.get())) {
    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    auto [write_ec, written] = co_await boost::asio::async_write(stream, boost::asio::buffer(kContinue), use_tuple);
    if (write_ec) co_return write_ec;
    boost::beast::get_lowest_layer(stream).expires_after(limits.idle_timeout);  // the body's own time
  }
  auto [body_ec, body_n] = co_await bhttp::async_read(stream, buffer, parser, use_tuple);
  co_return body_ec;
}

// The connection loop: returns when the connection should close (the caller
// shuts it down its own way: a TCP half-close, a TLS shutdown).
template <class Stream, class Hooks>
  requires ConnectionHooks<Hooks, Stream>
boost::asio::awaitable<void> serve_requests(Stream& stream, const ConnectionLimits& limits, Hooks& hooks) {
  boost::beast::flat_buffer buffer;
  for (;;) {
    boost::beast::http::request_parser<boost::beast::http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(limits.max_header_bytes));
    parser.body_limit(limits.max_body_bytes);
    boost::beast::get_lowest_layer(stream).expires_after(limits.idle_timeout);
    const auto ec = co_await read_request(stream, buffer, parser, limits);
    if (ec == boost::beast::error::timeout && (buffer.size() > 0 || parser.got_some())) hooks.stalled();
    if (hooks.stopped() || ends_quietly(ec)) co_return;
    if (ec) {
      hooks.refusing(ec);
      co_await refuse(stream, ec, limits.idle_timeout);
      co_return;
    }
    if (!co_await hooks.answer(stream, parser.release())) co_return;
  }
}

// Accepts connections until the acceptor is closed or the server stops,
// handing each socket to `serve` (which starts the connection's coroutine).
// A failed accept (out of descriptors or memory) pauses as `errors` says
// rather than spinning.
template <class Acceptor, class Stopped, class Serve>
boost::asio::awaitable<void> accept_connections(Acceptor& acceptor, AcceptErrors& errors, Stopped stopped,
                                                Serve serve) {
  while (!stopped()) {
    auto [ec, socket] = co_await acceptor.async_accept(use_tuple);
    if (ec) {
      if (stopped() || ec == boost::asio::error::operation_aborted) co_return;
      boost::asio::steady_timer pause(acceptor.get_executor(), errors.failed(ec.message()));
      co_await pause.async_wait(use_tuple);
      continue;
    }
    errors.succeeded();
    serve(std::move(socket));
  }
}

}  // namespace focus::http::detail
