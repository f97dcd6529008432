// focusctl setup: the first run. Asks for the API key (or reads it from
// --key-file or stdin), checks each organization / workspace id with one
// request, and writes the key (0600) and the configuration (0600), refusing
// to replace either without --force; then says how to start focussyncd.
// Nothing is written when a check fails. On a terminal it asks for what was
// not given; otherwise every answer comes from options and stdin, for
// scripts and tests. The key is never echoed or printed.
#include "cli/commands.hpp"

#include "config/config.hpp"
#include "core/text.hpp"
#include "upstream/account_check.hpp"
#include "upstream/credentials.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <iostream>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

namespace focus::cli {
namespace {

namespace fs = std::filesystem;

struct SetupOptions {
  std::string config_path;
  std::optional<std::string> key_file;
  std::vector<std::string> workspaces;
  std::string base_url = config::Upstream{}.base_url;
  bool force = false;
};

std::optional<WorkspaceKey> parse_workspace(const std::string& text) {
  auto slash = text.find('/');
  if (slash == std::string::npos) return std::nullopt;
  auto org = parse_integer(std::string_view(text).substr(0, slash));
  auto ws = parse_integer(std::string_view(text).substr(slash + 1));
  if (!org || !ws || *org <= 0 || *ws <= 0) return std::nullopt;
  return WorkspaceKey{*org, *ws};
}

bool on_terminal() { return ::isatty(STDIN_FILENO) == 1; }

std::string trimmed(std::string line) {
  while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.pop_back();
  std::size_t start = 0;
  while (start < line.size() && std::isspace(static_cast<unsigned char>(line[start]))) ++start;
  return line.substr(start);
}

// A line from the terminal with echo off (the key), restoring it after.
// Echo goes off before the prompt shows, so nothing typed after it is echoed.
std::string read_hidden_line(const std::string& prompt) {
  termios before{};
  bool hidden = ::tcgetattr(STDIN_FILENO, &before) == 0;
  if (hidden) {
    termios quiet = before;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  }
  std::cerr << prompt << std::flush;
  std::string line;
  std::getline(std::cin, line);
  if (hidden) ::tcsetattr(STDIN_FILENO, TCSANOW, &before);
  std::cerr << "\n";
  return trimmed(line);
}

std::vector<WorkspaceKey> ask_workspaces(const SetupOptions& o) {
  std::vector<std::string> texts = o.workspaces;
  if (texts.empty() && on_terminal()) {
    std::cerr << "The workspaces to mirror, as ORGANIZATION_ID/WORKSPACE_ID (the numbers in the Focus API paths\n"
                 "/organizations/ORG/workspaces/WS/...), one a line; an empty line ends:\n";
    for (std::string line; std::cerr << "workspace: " << std::flush, std::getline(std::cin, line);) {
      line = trimmed(line);
      if (line.empty()) break;
      if (!parse_workspace(line)) {
        std::cerr << "  '" << line << "' is not ORG/WS, like 123/4567\n";
        continue;
      }
      texts.push_back(line);
    }
  }
  if (texts.empty()) throw UsageError("name at least one workspace: --workspace ORG/WS (repeat it for more)");
  std::vector<WorkspaceKey> out;
  for (const auto& t : texts) {
    auto w = parse_workspace(t);
    if (!w) throw UsageError("--workspace '" + t + "' is not ORG/WS with positive ids, like 123/4567");
    for (const auto& seen : out)
      if (seen.organization_id == w->organization_id && seen.workspace_id == w->workspace_id)
        throw UsageError("workspace " + t + " is named twice");
    out.push_back(*w);
  }
  return out;
}

// The key, and where focussyncd will read it from.
struct Key {
  std::string secret;
  std::string origin;  // for Credentials::describe
  fs::path file;
  bool store = false;  // to be written to `file`
};

Key ask_key(const SetupOptions& o, const fs::path& folder) {
  Key k;
  if (o.key_file) {
    // Used where it is, judged as focussyncd will judge it.
    k.file = fs::absolute(*o.key_file);
    try {
      k.secret = upstream::read_secret_file(k.file.string(), upstream::SecretFileCheck::refuse);
    } catch (const std::exception& e) {
      throw CommandFailed(e.what());
    }
    k.origin = "from file " + k.file.string();
    return k;
  }
  k.file = folder / "api-key";
  k.store = true;
  k.origin = "from file " + k.file.string();
  if (fs::exists(k.file) && !o.force)
    throw CommandFailed(k.file.string() + " exists already: give it with --key-file, or --force to replace it");
  if (on_terminal()) {
    std::cerr << "Your Toggl Focus API key (your profile's API key settings in Toggl Focus). It is stored in\n"
              << k.file.string() << ", readable by you alone, and never shown.\n";
    k.secret = read_hidden_line("API key: ");
  } else {
    std::string line;
    std::getline(std::cin, line);
    k.secret = trimmed(line);
  }
  if (k.secret.empty()) throw CommandFailed("no API key given (type it, pipe it on stdin, or give --key-file)");
  return k;
}

std::string toml_string(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\u%04x", static_cast<unsigned>(c));
      out += hex;
      continue;
    }
    out += c;
  }
  return out + "\"";
}

std::string config_text(const SetupOptions& o, const fs::path& key_file, const std::vector<WorkspaceKey>& ws) {
  std::string text =
      "# Written by `focusctl setup`. Every other key, with its default and what it does:\n"
      "# `focussyncd --print-example-config`. Check this file with `focussyncd --check-config`\n"
      "# (add --online to ask the server too).\n\n"
      "[upstream]\n"
      "base_url = " + toml_string(o.base_url) + "\n"
      "api_key_file = " + toml_string(key_file.string()) + "\n";
  for (const auto& w : ws)
    text += "\n[[workspaces]]\norganization_id = " + std::to_string(w.organization_id) +
            "\nworkspace_id = " + std::to_string(w.workspace_id) + "\n";
  return text;
}

// Missing levels of `folder`, 0700 (the XDG base directory spec's mode).
void make_folder(const fs::path& folder) {
  std::vector<fs::path> missing;
  for (auto p = folder; !p.empty() && !fs::exists(p); p = p.parent_path()) {
    missing.push_back(p);
    if (p == p.parent_path()) break;
  }
  for (auto it = missing.rbegin(); it != missing.rend(); ++it)
    if (::mkdir(it->c_str(), 0700) != 0 && errno != EEXIST)
      throw CommandFailed("cannot create the folder '" + it->string() + "': " + std::strerror(errno));
}

// `text` into `path`, 0600 whatever the umask; an existing file only with `replace`.
void write_private(const fs::path& path, const std::string& text, bool replace) {
  int flags = O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | (replace ? O_TRUNC : O_EXCL);
  int fd = ::open(path.c_str(), flags, 0600);
  if (fd < 0) throw CommandFailed("cannot write '" + path.string() + "': " + std::strerror(errno));
  bool ok = ::fchmod(fd, 0600) == 0;
  for (std::size_t done = 0; ok && done < text.size();) {
    auto n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) done += static_cast<std::size_t>(n);
  }
  ok = ::close(fd) == 0 && ok;
  if (!ok) throw CommandFailed("cannot write '" + path.string() + "': " + std::strerror(errno));
}

int run_setup(const SetupOptions& o) {
  const fs::path config_file = fs::absolute(o.config_path.empty() ? config::default_config_path(false) : o.config_path);
  if (fs::exists(config_file) && !o.force)
    throw CommandFailed(config_file.string() + " exists already; check it with `focussyncd --config " + config_file.string() +
                        " --check-config --online`, or give --force to replace it");
  auto workspaces = ask_workspaces(o);
  auto key = ask_key(o, config_file.parent_path());
  // What will be written must load: the base URL (and everything else) is
  // judged here by the daemon's own parser, before anything is sent.
  const std::string text = config_text(o, key.file, workspaces);
  config::Config parsed;
  try {
    parsed = config::parse_config(text, config_file.string());
  } catch (const config::ConfigError& e) {
    throw CommandFailed(std::string(e.what()) + " (see --base-url)");
  }
  std::cout << "checking the key and " << workspaces.size() << " workspace" << (workspaces.size() == 1 ? "" : "s")
            << " at " << o.base_url << " (one request each)\n";
  auto check = upstream::check_account(parsed.upstream, upstream::Credentials::api_key(key.secret, key.origin), workspaces);
  std::cout << upstream::describe(check);
  if (!check.ok()) {
    std::cerr << "focusctl: setup wrote nothing: fix the above and run it again\n";
    return 1;
  }
  make_folder(config_file.parent_path());
  if (key.store) {
    write_private(key.file, key.secret + "\n", o.force);
    std::cout << "wrote the key to " << key.file.string() << " (mode 0600)\n";
  }
  write_private(config_file, text, o.force);
  std::cout << "wrote the configuration to " << config_file.string() << " (mode 0600)\n";
  const bool default_place = config_file == fs::absolute(config::default_config_path(false));
  if (default_place) {
    std::cout << "start it:  systemctl --user enable --now " << config::user_unit() << "\n"
              << "(or run `focussyncd` in a terminal); then `focusctl status`\n";
  } else {
    std::cout << "this is not where focussyncd looks by default (" << config::default_config_path(false)
              << "): start it with `focussyncd --config " << config_file.string() << "`; then `focusctl status`\n";
  }
  return 0;
}

}  // namespace

void add_setup_command(CLI::App& app, Action& action) {
  auto o = std::make_shared<SetupOptions>();
  auto* cmd = app.add_subcommand("setup",
                                 "first run: ask for the API key and the workspaces, check them with one request each, "
                                 "write the key and the configuration, say how to start focussyncd");
  cmd->add_option("--config", o->config_path,
                  "where to write the configuration (default: $XDG_CONFIG_HOME/focussync/focussync.toml, else "
                  "~/.config/focussync/focussync.toml); the key goes beside it as api-key");
  cmd->add_option("--key-file", o->key_file,
                  "use the key in this file (mode 0600) where it is, instead of asking for it (or reading it from stdin)");
  cmd->add_option("--workspace", o->workspaces, "ORG/WS to mirror (repeat it for more); asked for on a terminal");
  cmd->add_option("--base-url", o->base_url, "the Focus API (focus-sim for a try: http://127.0.0.1:PORT/api)")
      ->capture_default_str();
  cmd->add_flag("--force", o->force, "replace an existing configuration (and key file)");
  cmd->callback([&action, o] { action = [o](Context&) { return run_setup(*o); }; });
}

}  // namespace focus::cli
