#pragma once
// focussyncd's configuration, as loaded from TOML and checked: every value a
// later layer needs, with defaults filled in. Loading is strict: an unknown
// key, a wrong type, a value out of range or a missing required value throws
// ConfigError naming the file, the line and the key. Secrets are not read
// here (only where to read them from); see load_credentials. Plain data;
// any thread.

#include "model/project.hpp"
#include "model/workspace.hpp"

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace focus::config {

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Where a secret comes from: exactly one of these is set.
struct SecretSource {
  std::optional<std::string> file;
  std::optional<std::string> env;
  std::optional<std::string> credential;  // systemd LoadCredential= name
  bool operator==(const SecretSource&) const = default;
};

struct Upstream {
  std::string base_url = "https://focus.toggl.com/api";
  std::optional<SecretSource> api_key;  // Bearer
  std::optional<std::string> email;     // Basic, with password
  std::optional<SecretSource> password;
  std::optional<std::string> ca_file;
  bool insecure_skip_verify = false;
  // Plain http:// is refused at load for anything but loopback unless this
  // is set: the key would cross the network in the clear.
  bool allow_insecure_http = false;
  // A key or password file group or others can read, or another user owns,
  // is refused unless this is set; then it is only a warning.
  bool allow_insecure_key_file = false;
  std::chrono::milliseconds timeout{60'000};  // total per request
  bool operator==(const Upstream&) const = default;
};


enum class MembersPolicy { changed, always, never };

// What replay does when a field an edit touches changed on the server since
// the edit was made: wait for the user (manual), send it anyway (local_wins)
// or keep the server's value of those fields (remote_wins).
enum class ConflictPolicy { manual, local_wins, remote_wins };
// How much of the quota probes may spend: all of what the window has left
// (less the reserve), spread evenly to its reset; or one probe an interval.
enum class SpendPolicy { all, interval };

struct Sync {
  std::chrono::milliseconds interval{5 * 60'000};            // between probes, at the slowest
  std::chrono::milliseconds min_interval{30'000};            // between probes, at the fastest (spend = all)
  SpendPolicy spend = SpendPolicy::all;
  std::chrono::milliseconds full_listing_max_age{60 * 60'000};
  std::int64_t per_page = 200;
  double delete_guard_share = 0.10;  // a listing missing more than this share is suspect
  double reserve_share = 0.20;       // of the quota, kept for replaying edits
  MembersPolicy members = MembersPolicy::changed;
  ConflictPolicy conflicts = ConflictPolicy::manual;
};

// The local socket: who may connect and how long things may take.
struct Socket {
  std::string path;  // default $XDG_RUNTIME_DIR/focussync/focussync.sock
  unsigned mode = 0600;
  std::optional<std::string> group;  // a group whose members may connect too
  std::int64_t max_connections = 512;
  std::chrono::milliseconds idle_timeout{60'000};
  // Reads say X-Focussync-Stale: true when the last sync is older than this.
  std::chrono::milliseconds stale_after{15 * 60'000};
  bool operator==(const Socket&) const = default;
};

// Why a socket's mode is unwise though allowed, or nullopt: bits for
// others let every account on the machine read the mirror and queue edits
// that go out with this user's key.
inline std::optional<std::string> socket_mode_warning(const Socket& s) {
  if ((s.mode & 0007) == 0) return std::nullopt;
  return "[socket] mode lets every user of this machine read the projects and queue edits sent with your key; "
         "use \"0600\", or \"0660\" with a group";
}

// The one staleness rule (X-Focussync-Stale, /v1/status, the desktop's
// stale notice): never synced, or last synced longer ago than stale_after.
inline bool is_stale(const Socket& s, std::optional<std::chrono::sys_time<std::chrono::microseconds>> synced,
                     std::chrono::sys_time<std::chrono::microseconds> now) {
  return !synced || now - *synced > s.stale_after;
}

// SQL for local tools (/v1/sql, docs/sql.md): how long a query may run and
// how many rows it may answer (more are cut, "truncated": true).
struct Sql {
  std::chrono::milliseconds timeout{2000};
  std::int64_t max_rows = 10'000;
  bool operator==(const Sql&) const = default;
};

// Desktop notifications on the session bus (docs/running.md): an edit in
// conflict or failed, the key refused, the mirror stale while the upstream
// is unreachable. Unset `enabled`: on for a user's daemon, off with --system
// (notify_enabled below).
enum class Urgency { low, normal, critical };
struct Notify {
  std::optional<bool> enabled;
  Urgency urgency = Urgency::normal;
};

struct Config {
  std::string source;  // the file it came from
  Upstream upstream;
  std::vector<model::WorkspaceKey> workspaces;
  Sync sync;
  std::string cache_path;   // default $XDG_DATA_HOME/focussync/cache.db
  Socket socket;
  Sql sql;
  Notify notify;
  std::string log_level = "info";
  bool system = false;  // focussyncd --system: not read from the file
};

// Whether focussyncd sends desktop notifications: [notify] enabled, else
// yes for a user's daemon and no for the system service.
inline bool notify_enabled(const Config& c) { return c.notify.enabled.value_or(!c.system); }

// Where the socket is when the configuration does not say:
// $XDG_RUNTIME_DIR/focussync/focussync.sock (else under ~/.cache).
std::string default_socket_path();

// Where focussyncd looks for its configuration when --config is not given.
// A user's daemon (the user unit, or one started by hand):
// $XDG_CONFIG_HOME/focussync/focussync.toml, else
// ~/.config/focussync/focussync.toml -- the file the user unit's %E names.
// The system service (focussyncd --system, as focussync-system.service
// starts it): /etc/focussync/focussync.toml. Nothing is guessed from the
// uid: root running focussyncd by hand is a user like any other.
std::string default_config_path(bool system);
inline constexpr const char* kSystemConfigPath = "/etc/focussync/focussync.toml";

// The annotated example of every key (config/focussync.toml, embedded at
// build time), for `focussyncd --print-example-config`.
std::string_view example_config();

// The systemd units' names, without ".service" (from the unit files'
// names, at build time): "focussync" (the user unit) and
// "focussync-system".
std::string_view user_unit();
std::string_view system_unit();

// Throws ConfigError (file, line, key, what is wrong).
Config load_config(const std::string& path);
Config parse_config(std::string_view toml_text, const std::string& source_name);

}  // namespace focus::config
