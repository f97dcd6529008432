// focus-bench-load: a keep-alive HTTP/1.1 load client for a Unix socket.
//   focus-bench-load SOCKET TARGET CLIENTS REQUESTS_PER_CLIENT [block|poll]
// Each client is a thread with one connection sending GET TARGET and reading
// the whole answer before the next. Prints one JSON line: requests, seconds,
// requests per second, latency p50 / p99 in microseconds, answer bytes.
// Plain POSIX sockets, so the client costs as little as it can.
//
// How a client waits for its answer (default block):
//   block  in read(), as a plain C client or Python without a timeout. When
//          the server takes the request off the socket, the kernel wakes
//          every task asleep on the client's socket, for the room freed
//          (unix_write_space): a client already asleep in read() wakes,
//          finds nothing and sleeps again, at a cost to both sides.
//   poll   in poll(POLLIN), then read(), as curl, libuv (Node) and Python
//          with a timeout do: a wake for room to write passes a waiter
//          that asked only to read.
#include <poll.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <sys/socket.h>
#include <sys/un.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

bool wait_in_poll = false;  // set once by main, before any client starts

// read(), after waiting for something to read when the clients poll.
ssize_t read_some(int fd, char* chunk, std::size_t size) {
  if (wait_in_poll) {
    pollfd readable{fd, POLLIN, 0};
    if (::poll(&readable, 1, -1) < 0) return -1;
  }
  return ::read(fd, chunk, size);
}

int connect_to(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    std::perror("connect");
    std::exit(1);
  }
  return fd;
}

// Reads one answer: headers, then Content-Length bytes. Answers its size.
std::size_t read_answer(int fd, std::string& buffer) {
  std::size_t header_end;
  while ((header_end = buffer.find("\r\n\r\n")) == std::string::npos) {
    char chunk[65536];
    ssize_t n = read_some(fd, chunk, sizeof chunk);
    if (n <= 0) {
      std::fprintf(stderr, "connection closed\n");
      std::exit(1);
    }
    buffer.append(chunk, static_cast<std::size_t>(n));
  }
  std::size_t length = 0;
  auto at = buffer.find("Content-Length: ");
  if (at == std::string::npos || at > header_end) at = buffer.find("content-length: ");
  if (at != std::string::npos && at < header_end) length = std::strtoul(buffer.c_str() + at + 16, nullptr, 10);
  const std::size_t total = header_end + 4 + length;
  while (buffer.size() < total) {
    char chunk[65536];
    ssize_t n = read_some(fd, chunk, sizeof chunk);
    if (n <= 0) {
      std::fprintf(stderr, "connection closed mid-answer\n");
      std::exit(1);
    }
    buffer.append(chunk, static_cast<std::size_t>(n));
  }
  buffer.erase(0, total);
  return total;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string wait = argc == 6 ? argv[5] : "block";
  if ((argc != 5 && argc != 6) || (wait != "block" && wait != "poll")) {
    std::fprintf(stderr, "usage: focus-bench-load SOCKET TARGET CLIENTS REQUESTS_PER_CLIENT [block|poll]\n");
    return 2;
  }
  wait_in_poll = wait == "poll";
  const std::string path = argv[1], target = argv[2];
  const int clients = std::atoi(argv[3]), per_client = std::atoi(argv[4]);
  const std::string request = "GET " + target + " HTTP/1.1\r\nHost: localhost\r\n\r\n";
  std::vector<std::vector<double>> latencies(static_cast<std::size_t>(clients));
  std::vector<std::size_t> bytes(static_cast<std::size_t>(clients), 0);
  std::vector<int> fds;
  for (int c = 0; c < clients; ++c) fds.push_back(connect_to(path));
  auto started = Clock::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c)
    threads.emplace_back([&, c] {
      std::string buffer;
      auto& mine = latencies[static_cast<std::size_t>(c)];
      mine.reserve(static_cast<std::size_t>(per_client));
      for (int i = 0; i < per_client; ++i) {
        auto t0 = Clock::now();
        if (::write(fds[static_cast<std::size_t>(c)], request.data(), request.size()) != static_cast<ssize_t>(request.size()))
          std::exit(1);
        bytes[static_cast<std::size_t>(c)] = read_answer(fds[static_cast<std::size_t>(c)], buffer);
        mine.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
      }
    });
  for (auto& t : threads) t.join();
  double seconds = std::chrono::duration<double>(Clock::now() - started).count();
  std::vector<double> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  auto pct = [&](double p) { return all[std::min(all.size() - 1, static_cast<std::size_t>(p * static_cast<double>(all.size())))]; };
  std::printf("{\"requests\": %zu, \"seconds\": %.3f, \"rps\": %.0f, \"p50_us\": %.1f, \"p99_us\": %.1f, \"answer_bytes\": %zu}\n",
              all.size(), seconds, static_cast<double>(all.size()) / seconds, pct(0.50), pct(0.99), bytes[0]);
  for (int fd : fds) ::close(fd);
  return 0;
}
