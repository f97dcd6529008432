#include "http/unix_server.hpp"

#include "core/folder_check.hpp"
#include "core/spawn.hpp"
#include "http/beast_glue.hpp"
#include "http/connection_loop.hpp"
#include "http/server_parts.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <list>
#include <poll.h>
#include <pwd.h>
#include <sstream>
#include <stdexcept>
#include <type_traits>
#include <variant>
#include <vector>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

namespace focus::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using local = asio::local::stream_protocol;
using Stream = beast::basic_stream<local>;
using detail::use_tuple;

namespace {

std::string errno_text() { return std::strerror(errno); }

// A socket file nobody listens on is left over from a crash: it may go. A
// live one belongs to another server, and anything else is not ours.
void clear_stale_socket(asio::io_context& io, const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return;  // nothing there
  if (!S_ISSOCK(st.st_mode)) throw std::runtime_error("cannot listen on '" + path + "': a file that is not a socket is there");
  local::socket probe(io);
  boost::system::error_code ec;
  probe.connect(local::endpoint(path), ec);
  if (!ec) throw std::runtime_error("cannot listen on '" + path + "': another server is live on it");
  ::unlink(path.c_str());
  spdlog::info("replaced the stale socket {}", path);
}

// Whoever may write the socket's folder may replace the socket with one of
// their own and read what clients send, so the folder must be this user's
// and not writable by group or others; focussyncd refuses to start
// otherwise. Missing levels are created 0700. Others may still be let in
// to traverse it (0755, or 0750 with a group): the socket's mode and
// SO_PEERCRED decide who is served.
std::filesystem::path socket_folder(const std::string& path) {
  auto folder = std::filesystem::path(path).parent_path();
  return folder.empty() ? std::filesystem::path(".") : folder;
}

// What refuses an existing socket folder (see make_private_folder), or nullopt.
std::optional<std::string> existing_folder_problem(const std::filesystem::path& folder) {
  struct stat st {};
  if (::stat(folder.c_str(), &st) != 0) return "cannot use the socket folder '" + folder.string() + "': " + errno_text();
  if (!S_ISDIR(st.st_mode)) return "the socket folder '" + folder.string() + "' is not a folder";
  if (st.st_uid != ::geteuid())
    return "the socket folder '" + folder.string() + "' belongs to " + user_name(st.st_uid) + ", not to " +
           user_name(::geteuid()) + " that focussyncd runs as, so that user could replace the socket; " +
           "set [socket] path to a folder of this user's";
  if (st.st_mode & 022) {
    return "the socket folder '" + folder.string() + "' is writable by group or others (mode " + octal_mode(st.st_mode) +
           "), so they could replace the socket with their own; fix it with `chmod go-w " + folder.string() +
           "`, or set [socket] path to a folder of its own";
  }
  return std::nullopt;
}

void make_private_folder(const std::string& path) {
  auto folder = socket_folder(path);
  if (auto problem = create_private_folders(folder, "the socket folder")) throw std::runtime_error(*problem);
  if (auto problem = existing_folder_problem(folder)) throw std::runtime_error(*problem);
}

std::optional<PeerCredentials> peer_of(local::socket& socket) {
  ucred cred{};
  socklen_t length = sizeof cred;
  if (::getsockopt(socket.native_handle(), SOL_SOCKET, SO_PEERCRED, &cred, &length) != 0) return std::nullopt;
  return PeerCredentials{cred.uid, cred.gid, cred.pid};
}

// Whether the client closed its end whole: a Unix socket says so with a
// hang-up, where a client that only shut its writing (and still reads the
// answer) shows the end of the stream and no hang-up.
bool hung_up(int fd) {
  pollfd p{fd, 0, 0};
  return ::poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR)) != 0;
}

// Completes once the client has hung up (closed its end, or the socket
// failed). Bytes it sent on (a pipelined request, a stray CRLF) say nothing
// of that and are left for the connection's next read, and a client that
// only shut its writing still waits for its answer: the socket then stays
// readable, so from there the hang-up is looked for once a second instead.
asio::awaitable<void> client_left(Stream& stream) {
  auto& socket = stream.socket();
  auto [ec] = co_await socket.async_wait(local::socket::wait_read, use_tuple);
  if (ec) co_return;  // cancelled (the answer came first) or failed
  char byte = 0;
  const auto n = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) co_return;
  asio::steady_timer tick(co_await asio::this_coro::executor);
  while (!hung_up(socket.native_handle())) {
    tick.expires_after(std::chrono::seconds(1));
    auto [cancelled] = co_await tick.async_wait(use_tuple);
    if (cancelled) co_return;
  }
}

class SocketSink : public StreamSink {
 public:
  SocketSink(Stream& stream, std::chrono::milliseconds timeout) : stream_(stream), timeout_(timeout) {}
  asio::awaitable<bool> write(std::string piece) override {
    if (broken_) co_return false;
    stream_.expires_after(timeout_);
    auto [ec, n] = co_await asio::async_write(stream_, asio::buffer(piece), use_tuple);
    broken_ = static_cast<bool>(ec);
    co_return !broken_;
  }

 private:
  Stream& stream_;
  std::chrono::milliseconds timeout_;
  bool broken_ = false;
};

}  // namespace

std::optional<std::string> socket_folder_problem(const std::string& socket_path) {
  auto folder = socket_folder(socket_path);
  std::error_code ec;
  if (!std::filesystem::exists(folder, ec)) return folder_creation_problem(folder, "the socket folder");
  return existing_folder_problem(folder);
}

struct UnixServer::Impl : std::enable_shared_from_this<UnixServer::Impl> {
  asio::io_context& io;
  UnixServerOptions options;
  Handler handler;
  local::acceptor acceptor;
  std::list<Stream*> open;  // for stop(); entries owned by their sessions
  bool stopped = false;

  Impl(asio::io_context& io_, UnixServerOptions opts, Handler h)
      : io(io_), options(std::move(opts)), handler(std::move(h)), acceptor(io_) {}

  // The socket is made under a temporary name and linked into place once
  // it listens, with its mode and group: a client that finds the file can
  // connect (no "connection refused" between bind and listen), and never
  // finds it with the wrong mode.
  void listen() {
    make_private_folder(options.path);
    clear_stale_socket(io, options.path);
    const std::string making = options.path + ".new-" + std::to_string(::getpid());
    ::unlink(making.c_str());
    boost::system::error_code ec;
    acceptor.open(local(), ec);
    if (!ec) acceptor.bind(local::endpoint(making), ec);
    if (ec) throw std::runtime_error("cannot listen on '" + options.path + "': " + ec.message());
    try {
      if (::chmod(making.c_str(), options.mode) != 0)
        throw std::runtime_error("cannot set the mode of '" + options.path + "': " + errno_text());
      if (options.group && ::chown(making.c_str(), static_cast<uid_t>(-1), *options.group) != 0)
        throw std::runtime_error("cannot give '" + options.path + "' to group " + std::to_string(*options.group) +
                                 ": " + errno_text());
      acceptor.listen(asio::socket_base::max_listen_connections, ec);
      if (ec) throw std::runtime_error("cannot listen on '" + options.path + "': " + ec.message());
      // link, not rename: a server that took the path meanwhile keeps it.
      if (::link(making.c_str(), options.path.c_str()) != 0)
        throw std::runtime_error("cannot put the socket in place at '" + options.path + "': " + errno_text());
    } catch (...) {
      ::unlink(making.c_str());
      throw;
    }
    ::unlink(making.c_str());
  }

  asio::awaitable<void> accept_loop() {
    auto self = shared_from_this();
    detail::AcceptErrors errors("socket " + options.path);
    co_await detail::accept_connections(acceptor, errors, [this] { return stopped; }, [this](local::socket socket) {
      spawn_logged(io.get_executor(), serve_connection(std::move(socket)), "socket connection");
    });
  }

  asio::awaitable<void> serve_connection(local::socket socket) {
    auto self = shared_from_this();
    auto peer = peer_of(socket);
    boost::system::error_code ignored_mode;
    socket.non_blocking(true, ignored_mode);  // lets send() write in place (asynchronous operations are unchanged)
    Stream stream(std::move(socket));
    if (open.size() >= options.max_connections || !peer) {
      // Each refusal is logged: a flood should be visible in the journal.
      if (peer)
        spdlog::warn("socket: refused a connection from pid {} (uid {}): {} connections are open, the most allowed",
                     peer->pid, peer->uid, open.size());
      else
        spdlog::warn("socket: refused a connection whose credentials cannot be read");
      auto r = peer ? json_error(503, "too many connections; try again shortly")
                    : json_error(403, "the peer's credentials cannot be read");
      co_await detail::send(stream, std::move(r), 11, false, options.idle_timeout);
      co_return;
    }
    detail::Registration<Stream> registration(open, &stream);
    try {
      Hooks hooks{*this, *peer};
      co_await detail::serve_requests(stream, detail::limits_of(options), hooks);
    } catch (const std::exception& e) {
      // The handler is the error boundary; this is the last line of defence.
      spdlog::error("socket: a connection from pid {} ended on an error: {}", peer->pid, e.what());
    }
    beast::error_code ignored;
    stream.socket().shutdown(local::socket::shutdown_send, ignored);
  }

  // What the shared loop (connection_loop.hpp) asks of the socket: each
  // stall and refusal is logged with the peer's pid, and the handler learns
  // who asks and may answer at once, later (an http::Deferred) or with a
  // stream.
  struct Hooks {
    Impl& server;
    PeerCredentials peer;
    bool stopped() const { return server.stopped; }
    void stalled() {
      spdlog::warn("socket: dropped a connection from pid {} that stalled mid-request for {} ms", peer.pid,
                   server.options.idle_timeout.count());
    }
    void refusing(const beast::error_code& ec) {
      spdlog::warn("socket: refused a request from pid {}: {}", peer.pid, ec.message());
    }
    asio::awaitable<bool> answer(Stream& stream, detail::BeastRequest req) {
      return server.answer(stream, std::move(req), peer);
    }
  };

  asio::awaitable<bool> answer(Stream& stream, detail::BeastRequest req, PeerCredentials peer) {
    unsigned version = req.version();
    bool keep_alive = req.keep_alive();
    const bool head_only = req.method() == bhttp::verb::head;
    stream.expires_never();  // the handler may wait (long polls); writes set their own limit
    Answer answer = handler(detail::to_request(std::move(req)), peer);
    while (auto* deferred = std::get_if<Deferred>(&answer)) {
      auto run = std::move(deferred->run);  // `answer` is overwritten while it runs
      if (!deferred->abandoned_with_client) {
        answer = co_await run();
        continue;
      }
      using namespace asio::experimental::awaitable_operators;
      // The operator flattens the answer's alternatives and adds
      // std::monostate for client_left.
      auto first = co_await (run() || client_left(stream));
      if (std::holds_alternative<std::monostate>(first)) co_return false;  // gone: nobody to answer
      answer = std::visit(
          [](auto&& one) -> Answer {
            if constexpr (std::is_same_v<std::decay_t<decltype(one)>, std::monostate>) return Response{};
            else return std::move(one);
          },
          std::move(first));
    }
    if (stopped) co_return false;
    if (auto* streamed = std::get_if<Streamed>(&answer)) {
      co_await send_stream(stream, *streamed, version, head_only);
      co_return false;
    }
    co_return co_await detail::send(stream, std::get<Response>(std::move(answer)), version, keep_alive,
                                    options.idle_timeout, head_only) &&
              keep_alive;
  }

  // A stream's head, then its body until it ends or the client leaves (a
  // HEAD gets the head alone).
  asio::awaitable<void> send_stream(Stream& stream, Streamed& streamed, unsigned version, bool head_only) {
    bhttp::response<bhttp::empty_body> head{static_cast<bhttp::status>(streamed.head.status), version};
    for (auto& h : streamed.head.headers) head.insert(h.name, h.value);
    head.set(bhttp::field::content_type, streamed.head.content_type);
    head.keep_alive(false);  // the body ends when the connection does
    std::ostringstream wire;
    wire << head.base();
    SocketSink sink(stream, options.idle_timeout);
    if (!co_await sink.write(wire.str()) || head_only) co_return;
    using namespace asio::experimental::awaitable_operators;
    co_await (streamed.body(sink) || client_left(stream));
  }
};

UnixServer::UnixServer(asio::io_context& io, UnixServerOptions options, Handler handler)
    : impl_(std::make_shared<Impl>(io, std::move(options), std::move(handler))) {
  impl_->listen();
}

UnixServer::~UnixServer() { stop(); }

void UnixServer::start() { spawn_logged(impl_->io.get_executor(), impl_->accept_loop(), "the socket's accept loop"); }

std::size_t UnixServer::open_connections() const { return impl_->open.size(); }

void UnixServer::stop() {
  if (impl_->stopped) return;
  impl_->stopped = true;
  beast::error_code ignored;
  impl_->acceptor.close(ignored);
  for (auto* stream : impl_->open) stream->socket().close(ignored);
  ::unlink(impl_->options.path.c_str());
}

}  // namespace focus::http
