#pragma once
// focusctl's commands, each file adding its own to the CLI11 app. A command
// sets `action` when it is chosen; main runs it with the Context. An action
// answers the exit code (0, or 1 when what it checks is not well, e.g.
// `status`), and throws CommandFailed when the operation fails.

#include "cli/context.hpp"

#include <CLI/CLI.hpp>

#include <functional>

namespace focus::cli {

using Action = std::function<int(Context&)>;

void add_status_commands(CLI::App& app, Action& action);   // status, sync, changes
void add_project_commands(CLI::App& app, Action& action);  // projects, members
void add_edit_commands(CLI::App& app, Action& action);     // edits
void add_report_command(CLI::App& app, Action& action);    // report
void add_sql_command(CLI::App& app, Action& action);       // sql
void add_setup_command(CLI::App& app, Action& action);     // setup (the first run; no socket)

}  // namespace focus::cli
