// focus-bench-echo: the floor for socket latency. A Unix-socket server that
// answers every request read (up to its blank line) with a canned HTTP
// response of a given body size, a thread per connection, no parsing beyond
// finding the end of the request: what any server on this machine must pay
// at least.
//   focus-bench-echo SOCKET BODY_BYTES
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <csignal>
#include <string>
#include <sys/socket.h>
#include <sys/un.h>
#include <thread>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: focus-bench-echo SOCKET BODY_BYTES\n");
    return 2;
  }
  std::signal(SIGPIPE, SIG_IGN);
  const std::string path = argv[1];
  const std::size_t body_bytes = std::strtoul(argv[2], nullptr, 10);
  const std::string answer = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                             std::to_string(body_bytes) + "\r\n\r\n" + std::string(body_bytes, 'x');
  ::unlink(path.c_str());
  int listener = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  if (::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listener, 128) != 0) {
    std::perror("listen");
    return 1;
  }
  for (;;) {
    int fd = ::accept(listener, nullptr, nullptr);
    if (fd < 0) continue;
    std::thread([fd, &answer] {
      std::string buffer;
      char chunk[4096];
      for (;;) {
        ssize_t n = ::read(fd, chunk, sizeof chunk);
        if (n <= 0) break;
        buffer.append(chunk, static_cast<std::size_t>(n));
        std::size_t end;
        while ((end = buffer.find("\r\n\r\n")) != std::string::npos) {
          buffer.erase(0, end + 4);
          if (::write(fd, answer.data(), answer.size()) < 0) break;
        }
      }
      ::close(fd);
    }).detach();
  }
}
