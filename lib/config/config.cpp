#include "config/config.hpp"

#include "core/text.hpp"

#include "core/duration.hpp"

#include <boost/url/parse.hpp>
#include <toml++/toml.h>

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

namespace focus::config {
namespace {

// One TOML table being read: typed getters that remember which keys were
// used, so finish() can refuse the ones nobody asked for.
class Section {
 public:
  Section(const toml::table& table, std::string name, std::string source)
      : table_(table), name_(std::move(name)), source_(std::move(source)) {}

  [[noreturn]] void fail(const toml::node* node, const std::string& key, const std::string& problem) const {
    std::ostringstream out;
    out << source_;
    if (node && node->source().begin.line) out << ":" << node->source().begin.line;
    out << ": " << name_ << (key.empty() ? "" : " " + key) << ": " << problem;
    throw ConfigError(out.str());
  }

  const toml::node* node(const std::string& key) {
    seen_.insert(key);
    return table_.get(key);
  }

  std::optional<std::string> string(const std::string& key) {
    auto* n = node(key);
    if (!n) return std::nullopt;
    if (!n->is_string()) fail(n, key, "expected a string");
    return n->as_string()->get();
  }

  std::optional<std::int64_t> integer(const std::string& key) {
    auto* n = node(key);
    if (!n) return std::nullopt;
    if (!n->is_integer()) fail(n, key, "expected an integer");
    return n->as_integer()->get();
  }

  std::optional<double> number(const std::string& key) {
    auto* n = node(key);
    if (!n) return std::nullopt;
    if (n->is_integer()) return static_cast<double>(n->as_integer()->get());
    if (!n->is_floating_point()) fail(n, key, "expected a number");
    return n->as_floating_point()->get();
  }

  std::optional<bool> boolean(const std::string& key) {
    auto* n = node(key);
    if (!n) return std::nullopt;
    if (!n->is_boolean()) fail(n, key, "expected true or false");
    return n->as_boolean()->get();
  }

  std::optional<std::chrono::milliseconds> duration(const std::string& key) {
    auto text = string(key);
    if (!text) return std::nullopt;
    auto d = parse_duration(*text);
    if (!d) fail(table_.get(key), key, "'" + *text + "' is not a duration like \"30s\", \"5m\" or \"1h\"");
    if (d->count() == 0) fail(table_.get(key), key, "must be longer than zero, not '" + *text + "'");
    return d;
  }

  void finish() const {
    for (auto&& [key, value] : table_)
      if (!seen_.contains(std::string(key.str()))) fail(&value, std::string(key.str()), "unknown key");
  }

 private:
  const toml::table& table_;
  std::string name_;
  std::string source_;
  std::set<std::string> seen_;
};

// Why `url` cannot be the Focus API's base URL, or nullopt when it can.
std::optional<std::string> base_url_problem(const std::string& url) {
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed) return "'" + url + "' is not a URL";
  if (parsed->scheme() != "http" && parsed->scheme() != "https") return "must start with http:// or https://";
  if (parsed->host_address().empty()) return "'" + url + "' has no host";
  if (parsed->has_port() && parsed->port().empty()) return "'" + url + "' has an empty port";
  if (parsed->has_query() || parsed->has_fragment()) return "'" + url + "' must not have a query or fragment";
  return std::nullopt;
}

// Whether a URL's host is this machine: 127.0.0.0/8, ::1 or "localhost".
// Nothing sent to it crosses a network, so plain http:// is harmless there.
bool is_loopback(const boost::urls::url_view& url) {
  switch (url.host_type()) {
    case boost::urls::host_type::ipv4: return url.host_ipv4_address().is_loopback();
    case boost::urls::host_type::ipv6: return url.host_ipv6_address().is_loopback();
    case boost::urls::host_type::name: {
      std::string host = ascii_lower(url.host_name());
      return host == "localhost" || host == "localhost.";
    }
    default: return false;
  }
}

// A base URL that would send the key in the clear over a network, unless
// the configuration says that is intended.
std::optional<std::string> cleartext_problem(const std::string& url, bool allowed) {
  auto parsed = boost::urls::parse_uri(url);
  if (allowed || !parsed || parsed->scheme() != "http" || is_loopback(*parsed)) return std::nullopt;
  return "'" + url + "' is plain http:// to a host that is not this machine (127.0.0.0/8, ::1, localhost): the API key "
         "would cross the network unencrypted; use https://, or set allow_insecure_http = true if that is intended";
}

const toml::table* subtable(Section& root, const std::string& key) {
  auto* n = root.node(key);
  if (!n) return nullptr;
  if (!n->is_table()) root.fail(n, key, "expected a table [" + key + "]");
  return n->as_table();
}

// "<key>_file", "<key>_env" or "<key>_credential": exactly one, or none.
std::optional<SecretSource> secret(Section& s, const std::string& key) {
  SecretSource src{s.string(key + "_file"), s.string(key + "_env"), s.string(key + "_credential")};
  int given = src.file.has_value() + src.env.has_value() + src.credential.has_value();
  if (given > 1) s.fail(nullptr, key, "give only one of " + key + "_file, " + key + "_env and " + key + "_credential");
  if (given == 0) return std::nullopt;
  return src;
}

std::string default_path(const char* xdg_var, const char* fallback_under_home, const std::string& leaf) {
  if (const char* base = std::getenv(xdg_var); base && *base) return std::string(base) + "/focussync/" + leaf;
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : "/tmp") + fallback_under_home + "/focussync/" + leaf;
}

void read_upstream(Section& s, Upstream& u) {
  if (auto v = s.string("base_url")) u.base_url = *v;
  if (auto problem = base_url_problem(u.base_url)) s.fail(s.node("base_url"), "base_url", *problem);
  if (auto v = s.boolean("allow_insecure_http")) u.allow_insecure_http = *v;
  if (auto problem = cleartext_problem(u.base_url, u.allow_insecure_http)) s.fail(s.node("base_url"), "base_url", *problem);
  if (auto v = s.boolean("allow_insecure_key_file")) u.allow_insecure_key_file = *v;
  u.api_key = secret(s, "api_key");
  u.email = s.string("email");
  u.password = secret(s, "password");
  u.ca_file = s.string("ca_file");
  if (auto v = s.boolean("insecure_skip_verify")) u.insecure_skip_verify = *v;
  if (auto v = s.duration("timeout")) u.timeout = *v;
  if (u.api_key && (u.email || u.password)) s.fail(nullptr, "", "use either an API key or email + password, not both");
  if (u.email.has_value() != u.password.has_value())
    s.fail(nullptr, "", "email and password_file / password_env / password_credential go together");
  if (!u.api_key && !u.email)
    s.fail(nullptr, "", "no credentials: set api_key_file, api_key_env or api_key_credential (or email + password_*)");
  s.finish();
}

void read_sync(Section& s, Sync& y) {
  if (auto v = s.duration("interval")) y.interval = *v;
  if (auto v = s.duration("min_interval")) {
    if (*v < std::chrono::milliseconds(100)) s.fail(nullptr, "min_interval", "must be at least 100ms");
    y.min_interval = *v;
  }
  if (auto v = s.string("spend")) {
    if (*v == "all") y.spend = SpendPolicy::all;
    else if (*v == "interval") y.spend = SpendPolicy::interval;
    else s.fail(nullptr, "spend", "must be \"all\" or \"interval\"");
  }
  if (auto v = s.duration("full_listing_max_age")) y.full_listing_max_age = *v;
  if (auto v = s.integer("per_page")) {
    if (*v < 1 || *v > 1000) s.fail(nullptr, "per_page", "must be from 1 to 1000");
    y.per_page = *v;
  }
  if (auto v = s.number("delete_guard_share")) {
    if (*v <= 0 || *v > 1) s.fail(nullptr, "delete_guard_share", "must be above 0 and at most 1");
    y.delete_guard_share = *v;
  }
  if (auto v = s.number("reserve_share")) {
    if (*v < 0 || *v >= 1) s.fail(nullptr, "reserve_share", "must be at least 0 and below 1");
    y.reserve_share = *v;
  }
  if (auto v = s.string("members")) {
    if (*v == "changed") y.members = MembersPolicy::changed;
    else if (*v == "always") y.members = MembersPolicy::always;
    else if (*v == "never") y.members = MembersPolicy::never;
    else s.fail(nullptr, "members", "must be \"changed\", \"always\" or \"never\"");
  }
  if (auto v = s.string("conflicts")) {
    if (*v == "manual") y.conflicts = ConflictPolicy::manual;
    else if (*v == "local_wins") y.conflicts = ConflictPolicy::local_wins;
    else if (*v == "remote_wins") y.conflicts = ConflictPolicy::remote_wins;
    else s.fail(nullptr, "conflicts", "must be \"manual\", \"local_wins\" or \"remote_wins\"");
  }
  s.finish();
}

void read_socket(Section& s, Socket& k) {
  if (auto v = s.string("path")) k.path = *v;
  if (auto v = s.string("mode")) {
    char* end = nullptr;
    unsigned long mode = std::strtoul(v->c_str(), &end, 8);
    if (v->empty() || *end != '\0' || mode > 0777 || (mode & 0600) != 0600)
      s.fail(nullptr, "mode", "'" + *v + "' is not an octal mode like \"0600\" or \"0660\" that lets the owner read and write");
    k.mode = static_cast<unsigned>(mode);
  }
  if (auto v = s.string("group")) {
    if (v->empty()) s.fail(nullptr, "group", "must name a group");
    k.group = *v;
  }
  if (auto v = s.integer("max_connections")) {
    if (*v < 1 || *v > 100'000) s.fail(nullptr, "max_connections", "must be from 1 to 100000");
    k.max_connections = *v;
  }
  if (auto v = s.duration("idle_timeout")) k.idle_timeout = *v;
  if (auto v = s.duration("stale_after")) k.stale_after = *v;
  s.finish();
}

void read_sql(Section& s, Sql& q) {
  if (auto v = s.duration("timeout")) {
    if (*v < std::chrono::milliseconds(10) || *v > std::chrono::minutes(10))
      s.fail(nullptr, "timeout", "must be from 10ms to 10m");
    q.timeout = *v;
  }
  if (auto v = s.integer("max_rows")) {
    if (*v < 1 || *v > 10'000'000) s.fail(nullptr, "max_rows", "must be from 1 to 10000000");
    q.max_rows = *v;
  }
  s.finish();
}

void read_notify(Section& s, Notify& n) {
  if (auto v = s.boolean("enabled")) n.enabled = *v;
  if (auto v = s.string("urgency")) {
    if (*v == "low") n.urgency = Urgency::low;
    else if (*v == "normal") n.urgency = Urgency::normal;
    else if (*v == "critical") n.urgency = Urgency::critical;
    else s.fail(nullptr, "urgency", "'" + *v + "' is not low, normal or critical");
  }
  s.finish();
}

void read_workspaces(Section& root, Config& c, const std::string& source) {
  auto* n = root.node("workspaces");
  if (!n) root.fail(nullptr, "", "no [[workspaces]]: name at least one organization_id + workspace_id");
  if (!n->is_array_of_tables()) root.fail(n, "workspaces", "expected [[workspaces]] tables");
  int index = 0;
  for (auto& item : *n->as_array()) {
    Section w(*item.as_table(), "[[workspaces]] #" + std::to_string(++index), source);
    auto org = w.integer("organization_id"), ws = w.integer("workspace_id");
    if (!org || !ws) w.fail(&item, "", "needs organization_id and workspace_id");
    if (*org <= 0 || *ws <= 0) w.fail(&item, "", "ids must be positive");
    for (const auto& other : c.workspaces)
      if (other.organization_id == *org && other.workspace_id == *ws) w.fail(&item, "", "listed twice");
    c.workspaces.push_back({*org, *ws});
    w.finish();
  }
}

}  // namespace

Config parse_config(std::string_view text, const std::string& source) {
  toml::table root_table;
  try {
    root_table = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    throw ConfigError(source + ":" + std::to_string(e.source().begin.line) + ": " + std::string(e.description()));
  }
  Config c;
  c.source = source;
  Section root(root_table, "config", source);
  if (auto* t = subtable(root, "upstream")) {
    Section s(*t, "[upstream]", source);
    read_upstream(s, c.upstream);
  } else {
    root.fail(nullptr, "", "no [upstream] section: it says where the credentials are");
  }
  read_workspaces(root, c, source);
  if (auto* t = subtable(root, "sync")) {
    Section s(*t, "[sync]", source);
    read_sync(s, c.sync);
  }
  c.cache_path = default_path("XDG_DATA_HOME", "/.local/share", "cache.db");
  if (auto* t = subtable(root, "cache")) {
    Section s(*t, "[cache]", source);
    if (auto v = s.string("path")) c.cache_path = *v;
    s.finish();
  }
  c.socket.path = default_socket_path();
  if (auto* t = subtable(root, "socket")) {
    Section s(*t, "[socket]", source);
    read_socket(s, c.socket);
  }
  if (auto* t = subtable(root, "sql")) {
    Section s(*t, "[sql]", source);
    read_sql(s, c.sql);
  }
  if (auto* t = subtable(root, "notify")) {
    Section s(*t, "[notify]", source);
    read_notify(s, c.notify);
  }
  if (auto* t = subtable(root, "log")) {
    Section s(*t, "[log]", source);
    if (auto v = s.string("level")) c.log_level = *v;
    s.finish();
  }
  root.finish();
  return c;
}

std::string default_config_path(bool system) {
  if (system) return kSystemConfigPath;
  return default_path("XDG_CONFIG_HOME", "/.config", "focussync.toml");
}

std::string default_socket_path() { return default_path("XDG_RUNTIME_DIR", "/.cache", "focussync.sock"); }

Config load_config(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ConfigError("cannot read config file '" + path + "'");
  std::stringstream text;
  text << in.rdbuf();
  return parse_config(text.str(), path);
}

}  // namespace focus::config
