// focussyncd: keeps a local SQLite mirror of Toggl Focus projects.
//   focussyncd [--config FILE]          serve the socket and sync until SIGTERM
//                                       (SIGHUP re-reads the configuration)
//   focussyncd [--config FILE] --once   one full cycle; a JSON line on stdout; exit 0 / 1
//   focussyncd [--config FILE] --check-config [--online]
//   focussyncd --print-example-config   the annotated example, to start a file from
// Without --config: $XDG_CONFIG_HOME/focussync/focussync.toml (else
// ~/.config/...), or /etc/focussync/focussync.toml with --system (the
// system unit's ExecStart); see config::default_config_path.
// Exit codes: 0 success, 1 a sync failed, 2 usage or configuration error.

#include "config/config.hpp"
#include "core/heap.hpp"
#include "core/logging.hpp"
#include "core/spawn.hpp"
#include "daemon/check_config.hpp"
#include "daemon/daemon.hpp"
#include "daemon/service.hpp"

#include <CLI/CLI.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <mutex>
#include <thread>
#include <sys/prctl.h>
#include <sys/stat.h>

namespace {

using namespace focus;

int run_once(daemon::Daemon& d, boost::asio::io_context& io) {
  std::optional<daemon::CycleReport> report;
  std::exception_ptr failure;
  std::function<void(const nlohmann::json&)> no_progress;
  boost::asio::co_spawn(io, d.run_cycle(std::move(no_progress), true), [&](std::exception_ptr e, daemon::CycleReport r) {
    failure = e;
    if (!e) report = std::move(r);
  });
  io.run();
  if (failure) std::rethrow_exception(failure);
  std::cout << report->to_json().dump() << std::endl;
  return report->ok() ? 0 : 1;
}

// After SIGTERM, the process ends within `grace` whatever its coroutines
// are doing: a thread of its own (the io thread may be what is stuck) exits
// the process if the io loop has not ended by then. Nothing is lost by that:
// every state change is a committed SQLite transaction, and the io thread
// holds none open across a wait.
class StopDeadline {
 public:
  void start(std::chrono::seconds grace) {
    if (thread_.joinable()) return;
    thread_ = std::thread([this, grace] {
      std::unique_lock lock(mutex_);
      if (done_cv_.wait_for(lock, grace, [this] { return done_; })) return;
      spdlog::error("focussyncd did not stop within {} s of being asked to (a coroutine is stuck); exiting anyway",
                    grace.count());
      spdlog::default_logger()->flush();
      std::_Exit(1);
    });
  }
  ~StopDeadline() {
    {
      std::lock_guard lock(mutex_);
      done_ = true;
    }
    done_cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable done_cv_;
  bool done_ = false;
};

constexpr std::chrono::seconds kStopGrace{8};

// Where a reload reads from, and the --log-level that outranks the file's.
struct ReloadSource {
  std::string config_path;
  std::string log_level_override;  // empty: the file's [log] level
};

// Waits for signals until the daemon stops: SIGTERM / SIGINT stop it, SIGHUP
// re-reads the configuration (a bad one is refused and the running one kept).
void wait_for_signals(boost::asio::signal_set& signals, daemon::Daemon& d, daemon::ServiceNotifier& notifier,
                      const ReloadSource& source, StopDeadline& deadline) {
  signals.async_wait([&](const boost::system::error_code& ec, int signal) {
    if (ec) return;
    if (signal == SIGHUP) {
      notifier.reloading();
      try {
        auto fresh = config::load_config(source.config_path);
        const auto notes = d.reload(fresh);  // throws before anything changes
        daemon::set_log_level(source.log_level_override.empty() ? fresh.log_level : source.log_level_override);
        for (const auto& note : notes) spdlog::warn("reload: {}", note);
        spdlog::info("reloaded {}", source.config_path);
      } catch (const std::exception& e) {
        spdlog::error("reload refused, the running configuration is kept: {}", e.what());
      }
      notifier.reloaded(d.status_line());
      wait_for_signals(signals, d, notifier, source, deadline);
      return;
    }
    spdlog::info("signal {}: stopping", signal);
    deadline.start(kStopGrace);
    notifier.stopping();
    d.stop();
  });
}

int run_service(daemon::Daemon& d, boost::asio::io_context& io, const ReloadSource& source) {
  StopDeadline deadline;  // destroyed (and so disarmed) after io.run() returns
  daemon::ServiceNotifier notifier(io, [&d] { return d.engine_alive(); });
  d.on_ready([&] { notifier.ready(d.status_line()); });
  d.on_pass([&] { notifier.status(d.status_line()); });
  boost::asio::signal_set signals(io, SIGINT, SIGTERM, SIGHUP);
  wait_for_signals(signals, d, notifier, source, deadline);
  std::exception_ptr failure;
  boost::asio::co_spawn(io, d.run_forever(), [&](std::exception_ptr e) {
    failure = e;
    if (e) {
      // The engine cannot go on (the socket could not be made, say): close
      // everything so io.run() ends, and exit non-zero with the reason.
      spdlog::error("the sync engine stopped: {}", exception_text(e));
      deadline.start(kStopGrace);
    }
    signals.cancel();
    notifier.stopping();
    d.stop();
  });
  io.run();
  if (failure) std::rethrow_exception(failure);
  return 0;
}

// The configuration file to use: --config, else the default for the mode.
// When the default is not there, answers nullopt after saying where it
// looked and how to make one.
std::optional<std::string> config_file(const std::string& given, bool system) {
  if (!given.empty()) return given;
  std::string path = config::default_config_path(system);
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) return path;
  std::cerr << "focussyncd: no configuration file: looked for " << path << " (the default "
            << (system ? "of the system service, --system" : "for a user; --system looks in " + std::string(config::kSystemConfigPath))
            << "; --config FILE names another).\n";
  const std::string folder = std::filesystem::path(path).parent_path().string();
  if (system)
    std::cerr << "Make one from the annotated example:\n  mkdir -p " << folder << " && focussyncd --print-example-config > "
              << path << "\nthen set [[workspaces]], [upstream] api_key_credential = \"api-key\" (the unit's "
              << "LoadCredential=), [cache] and [socket] as the comment atop " << config::system_unit()
              << ".service says, and check it with `focussyncd --system --check-config`.\n";
  else
    std::cerr << "Make one with `focusctl setup` (asks for the key and the workspaces and checks them), or from the "
                 "annotated example:\n  mkdir -p "
              << folder << " && focussyncd --print-example-config > " << path
              << "\nthen edit api_key_file and [[workspaces]], and check it with `focussyncd --check-config`.\n";
  return std::nullopt;
}

// The command line. main keeps it for the whole run: CLI11 writes the
// parsed values into it.
struct Options {
  std::string config_path, log_level;
  bool check = false, online = false, once = false, system = false, print_example = false;
  // For the crash tests only: SIGKILL itself at the N-th durable step of
  // syncing or replaying edits, as a power cut would.
  int crash_after_steps = 0;
  // For the watchdog test only: the sync engine hangs after N passes.
  int wedge_after_passes = 0;
};

void add_options(CLI::App& app, Options& o) {
  app.add_option("--config", o.config_path,
                 "the TOML configuration file (default: $XDG_CONFIG_HOME/focussync/focussync.toml, else "
                 "~/.config/focussync/focussync.toml; with --system " + std::string(config::kSystemConfigPath) + ")");
  app.add_flag("--system", o.system, "run as the system service: the configuration defaults to " +
                                         std::string(config::kSystemConfigPath));
  auto* check_flag = app.add_flag("--check-config", o.check,
                                  "check the configuration (the key read, folders, URL) without sending anything, say "
                                  "what it will do, and exit: 0 fine, 2 it cannot work");
  app.add_flag("--online", o.online,
               "with --check-config: also spend one request per workspace to prove the key and the ids, and show the "
               "quota left")
      ->needs(check_flag);
  app.add_flag("--print-example-config", o.print_example,
               "print the annotated example configuration (every key, with its default) and exit");
  app.add_flag("--once", o.once, "run one full sync cycle, print a JSON summary line, exit 0 on success and 1 on failure");
  // Checked as it is read, by the rule [log] level is held to: a usage
  // error (exit 2) in every mode, --check-config and --once included.
  app.add_option("--log-level", o.log_level, "trace, debug, info, warn, error or off (overrides [log] level)")
      ->check([](const std::string& level) {
        try {
          parse_log_level(level);
          return std::string();
        } catch (const std::invalid_argument& e) {
          return std::string(e.what());
        }
      });
  app.add_option("--crash-after-steps", o.crash_after_steps)->group("");  // hidden: tests only
  app.add_option("--wedge-engine-after-passes", o.wedge_after_passes)->group("");  // hidden: tests only
  app.set_version_flag("--version", "focussyncd " FOCUSSYNC_VERSION);
}

// The configuration read from `path`, or nullopt after saying on stderr
// why it is not usable (main exits 2 then).
std::optional<config::Config> read_config(const std::string& path) {
  try {
    return config::load_config(path);
  } catch (const config::ConfigError& e) {
    std::cerr << "focussyncd: " << e.what() << "\n";
    return std::nullopt;
  }
}

// Runs the daemon: one cycle with --once, else the service. Answers the exit
// code; a failure is reported on stderr (and as the JSON line with --once).
int run_daemon(const Options& o, const std::string& config_path, config::Config config) {
  try {
    daemon::init_logging(o.log_level.empty() ? config.log_level : o.log_level);
    config.system = o.system;
    // One thread runs it (the SQL thread and Asio's resolver only hand it
    // completions): Asio then queues what that thread posts on a queue of
    // its own, without taking the scheduler's lock for each post.
    boost::asio::io_context io(1);
    daemon::Daemon d(io, std::move(config));
    if (o.wedge_after_passes > 0) d.wedge_after_passes(o.wedge_after_passes);
    if (o.crash_after_steps > 0)
      d.on_step([left = std::make_shared<int>(o.crash_after_steps)](std::string_view) {
        if (--*left == 0) ::raise(SIGKILL);
      });
    return o.once ? run_once(d, io) : run_service(d, io, ReloadSource{config_path, o.log_level});
  } catch (const std::exception& e) {
    std::cerr << "focussyncd: " << e.what() << "\n";
    if (o.once) std::cout << nlohmann::json{{"workspaces", nlohmann::json::array()}, {"error", e.what()}}.dump() << std::endl;
    return 1;
  }
}

}  // namespace

int main(int argc, char** argv) {
  // Private before anything is read or made: no core dump or same-user
  // ptrace can take the key from memory (the kernel also gives /proc/PID to
  // root), and every file created is the user's alone whatever the caller's
  // umask (the cache sets its own modes as well).
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  ::umask(077);
  focus::configure_heap();  // before any thread: one malloc arena for them all (core/heap.hpp)
  CLI::App app{"focussyncd: a local, always-available mirror of Toggl Focus projects"};
  Options options;
  add_options(app, options);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }

  if (options.print_example) {
    std::cout << config::example_config();
    return std::cout.flush() ? 0 : 1;
  }
  auto file = config_file(options.config_path, options.system);
  if (!file) return 2;
  auto config = read_config(*file);
  if (!config) return 2;
  if (options.check) return daemon::check_config(*config, options.online, std::cout, std::cerr);
  return run_daemon(options, *file, std::move(*config));
}
