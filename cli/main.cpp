// focusctl: the command line over focussyncd's socket, for people and cron.
//   focusctl [--socket PATH] [--format table|json|ndjson|csv] [--workspace ORG/WS] COMMAND ...
// Exit codes: 0 success; 1 the operation failed, or `status` found a
// problem; 2 usage error; 3 focussyncd unreachable.

#include "cli/commands.hpp"
#include "config/config.hpp"

#include <CLI/CLI.hpp>

#include <iostream>

int main(int argc, char** argv) {
  using namespace focus::cli;
  CLI::App app{"focusctl: talk to focussyncd, the local mirror of Toggl Focus projects"};
  app.require_subcommand(1);
  std::string socket_path = focus::config::default_socket_path();
  std::string format_name = "table";
  std::optional<std::string> workspace;
  app.add_option("--socket", socket_path, "focussyncd's socket")->envname("FOCUSSYNC_SOCKET")->capture_default_str();
  app.add_option("--format", format_name, "table, json, ndjson or csv")
      ->check(CLI::IsMember({"table", "json", "ndjson", "csv"}))
      ->capture_default_str();
  app.add_option("--workspace", workspace, "ORG/WS (default: the first one focussyncd mirrors)");
  app.set_version_flag("--version", "focusctl " FOCUSSYNC_VERSION);
  Action action;
  add_status_commands(app, action);
  add_project_commands(app, action);
  add_edit_commands(app, action);
  add_report_command(app, action);
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
  SocketClient client(socket_path);
  Context ctx(client, *parse_format(format_name), workspace);
  try {
    return action(ctx);
  } catch (const Unreachable& e) {
    std::cerr << "focusctl: cannot reach focussyncd at " << socket_path << " (" << e.what()
              << ").\nStart it with `focussyncd --config FILE` (or `systemctl --user start focussyncd`), or give "
                 "--socket / FOCUSSYNC_SOCKET.\n";
    return 3;
  } catch (const CommandFailed& e) {
    std::cerr << "focusctl: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "focusctl: " << e.what() << "\n";
    return 1;
  }
}
