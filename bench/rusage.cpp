// focus-bench-rusage REPORT COMMAND [ARG...]: runs COMMAND to its end and
// writes what it used to the file REPORT, as one JSON object (user and
// system CPU seconds, peak RSS in KiB, minor page faults); exits as COMMAND
// did (128 + the signal if one killed it).
//
// Why not wait4 from the benchmark itself: Linux counts in a child's peak
// RSS the address space it was forked from, up to its exec (vfork or fork
// alike), so a child of a Python process that holds 200 MB reports 200 MB
// even for /bin/true. This program is small, so the peak it reports is the
// command's own.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>

namespace {

// The command's pid, for the handler that passes a SIGTERM or SIGHUP on.
volatile std::sig_atomic_t g_child = 0;

void pass_on(int signal) {
  if (g_child > 0) kill(static_cast<pid_t>(g_child), signal);
}

double seconds(const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; }

int exit_code(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: focus-bench-rusage REPORT COMMAND [ARG...]\n");
    return 2;
  }
  // A Ctrl-C reaches the command too (one process group): wait for its end.
  // A SIGTERM or SIGHUP sent to this program alone is passed on, so that the
  // command is not left running.
  std::signal(SIGINT, SIG_IGN);
  struct sigaction on{};
  on.sa_handler = pass_on;
  sigaction(SIGTERM, &on, nullptr);
  sigaction(SIGHUP, &on, nullptr);
  pid_t child = fork();
  if (child < 0) {
    std::fprintf(stderr, "focus-bench-rusage: fork: %s\n", std::strerror(errno));
    return 1;
  }
  if (child == 0) {
    std::signal(SIGINT, SIG_DFL);  // an ignored signal stays ignored across exec
    execvp(argv[2], argv + 2);
    std::fprintf(stderr, "focus-bench-rusage: %s: %s\n", argv[2], std::strerror(errno));
    _exit(127);
  }
  g_child = child;
  int status = 0;
  rusage used{};
  while (wait4(child, &status, 0, &used) < 0)
    if (errno != EINTR) {
      std::fprintf(stderr, "focus-bench-rusage: wait4: %s\n", std::strerror(errno));
      return 1;
    }
  std::FILE* report = std::fopen(argv[1], "w");
  if (!report) {
    std::fprintf(stderr, "focus-bench-rusage: %s: %s\n", argv[1], std::strerror(errno));
    return 1;
  }
  std::fprintf(report, "{\"user_s\": %.6f, \"system_s\": %.6f, \"max_rss_kib\": %ld, \"minor_faults\": %ld}\n",
               seconds(used.ru_utime), seconds(used.ru_stime), used.ru_maxrss, used.ru_minflt);
  if (std::fclose(report) != 0) return 1;
  return exit_code(status);
}
