// focusctl: the command line over focussyncd's socket, for people and cron.
//   focusctl [--socket PATH] [--format table|json|ndjson|csv] [--workspace ORG/WS] COMMAND ...
// The three options are the whole line's: they may also come after the
// command (`focusctl projects list --socket PATH`), as with git or kubectl.
// `focusctl setup` is the first run (no socket needed: it writes the
// configuration focussyncd starts from).
// Exit codes: 0 success; 1 the operation failed, or `status` found a
// problem; 2 usage error; 3 focussyncd unreachable.

#include "cli/commands.hpp"
#include "config/config.hpp"

#include <CLI/CLI.hpp>

#include <charconv>
#include <iostream>
#include <string>

namespace {

// CLI11 reads 0x10 as 16, and a number past the 64-bit range as the
// largest one: `edits show 99999999999999999999` asked for edit
// 9223372036854775807. A number on focusctl's line is written in decimal,
// whole, and fits (an id may be negative: a temporary one).
std::string whole_number_problem(const std::string& word) {
  long long value = 0;
  const char* end = word.data() + word.size();
  const auto [stop, ec] = std::from_chars(word.data(), end, value);
  if (word.empty() || ec == std::errc::invalid_argument || stop != end)
    return "'" + word + "' is not a whole number";
  if (ec == std::errc::result_out_of_range) return "'" + word + "' is out of range";
  return "";
}

// --workspace is ORG/WS, two positive ids: it becomes part of every path
// asked for, so `1/1/projects/1004?` would have sent an edit elsewhere.
std::string workspace_problem(const std::string& word) {
  const auto slash = word.find('/');
  const std::string why = "'" + word + "' is not ORG/WS, like 1/42";
  if (slash == std::string::npos) return why;
  for (const std::string& part : {word.substr(0, slash), word.substr(slash + 1)})
    if (!whole_number_problem(part).empty() || part.front() == '-' || part.front() == '0')
      return why;
  return "";
}

// Every integer option of every command, checked in one place.
void check_whole_numbers(CLI::App& app) {
  for (CLI::Option* option : app.get_options())
    if (option->get_type_name().starts_with("INT")) option->check(CLI::Validator(
        [](std::string& word) { return whole_number_problem(word); }, ""));
  for (CLI::App* sub : app.get_subcommands(std::function<bool(CLI::App*)>{})) check_whole_numbers(*sub);
}

// How to get a daemon to talk to; the unit's name comes from its file's
// name at build time (config::user_unit), so the hint names a unit that
// exists.
std::string unreachable_hint(const std::string& socket_path, const std::string& why) {
  const std::string unit(focus::config::user_unit());
  return "focusctl: cannot reach focussyncd at " + socket_path + " (" + why + ").\nStart it with `systemctl --user start " +
         unit + "` (or run `focussyncd`; the first time, `focusctl setup` writes its configuration), or give --socket / "
         "FOCUSSYNC_SOCKET.\n";
}

// Runs the chosen command; its failures become the exit codes above.
int run(const focus::cli::Action& action, const std::string& socket_path, const std::string& format_name,
        const std::optional<std::string>& workspace) {
  using namespace focus::cli;
  SocketClient client(socket_path);
  Context ctx(client, *parse_format(format_name), workspace);
  try {
    return action(ctx);
  } catch (const Unreachable& e) {
    std::cerr << unreachable_hint(socket_path, e.what());
    return 3;
  } catch (const UsageError& e) {
    std::cerr << "focusctl: " << e.what() << "\n(see focusctl --help, or focusctl COMMAND --help)\n";
    return 2;
  } catch (const CommandFailed& e) {
    std::cerr << "focusctl: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "focusctl: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace

int main(int argc, char** argv) {
  using namespace focus::cli;
  CLI::App app{"focusctl: talk to focussyncd, the local mirror of Toggl Focus projects"};
  app.require_subcommand(1);
  // What a subcommand does not know goes up to its parent, so the options
  // below are accepted anywhere on the line; inherited by every subcommand
  // added after this.
  app.fallthrough();
  std::string socket_path = focus::config::default_socket_path();
  std::string format_name = "table";
  std::optional<std::string> workspace;
  app.add_option("--socket", socket_path, "focussyncd's socket")->envname("FOCUSSYNC_SOCKET")->capture_default_str();
  app.add_option("--format", format_name, "table, json, ndjson or csv (and html, for report)")
      ->check(CLI::IsMember({"table", "json", "ndjson", "csv", "html"}))
      ->capture_default_str();
  app.add_option("--workspace", workspace, "ORG/WS (default: the first one focussyncd mirrors)")
      ->check(CLI::Validator([](std::string& word) { return workspace_problem(word); }, "ORG/WS"));
  app.set_version_flag("--version", "focusctl " FOCUSSYNC_VERSION);
  Action action;
  add_status_commands(app, action);
  add_project_commands(app, action);
  add_edit_commands(app, action);
  add_report_command(app, action);
  add_sql_command(app, action);
  add_setup_command(app, action);
  check_whole_numbers(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "focusctl: " << e.what() << "\n(see focusctl --help, or focusctl COMMAND --help)\n";
    return 2;
  }
  if (!action) {
    std::cerr << "focusctl: say what to do (see focusctl --help)\n";
    return 2;
  }
  // Refused before anything runs, so a write never happens for want of a
  // way to print its answer.
  if (format_name == "html" && !app.got_subcommand("report")) {
    std::cerr << "focusctl: --format html is for `focusctl report` only (other commands: table, json, ndjson or csv)\n";
    return 2;
  }
  return run(action, socket_path, format_name, workspace);
}
