#include "daemon/check_config.hpp"

#include "daemon/service.hpp"
#include "http/client.hpp"
#include "http/unix_server.hpp"
#include "store/database.hpp"
#include "upstream/account_check.hpp"
#include "upstream/credentials.hpp"

#include <boost/asio/io_context.hpp>

#include <grp.h>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace focus::daemon {
namespace {

std::string workspace_list(const config::Config& c) {
  std::string text = std::to_string(c.workspaces.size()) + (c.workspaces.size() == 1 ? " workspace (" : " workspaces (");
  for (std::size_t i = 0; i < c.workspaces.size(); ++i)
    text += (i ? ", " : "") + std::to_string(c.workspaces[i].organization_id) + "/" +
            std::to_string(c.workspaces[i].workspace_id);
  return text + ")";
}

// The HTTP client refuses a base URL it cannot use and a CA file it cannot
// load; making one (it connects to nothing until asked) is the check.
std::optional<std::string> client_problem(const config::Upstream& u) {
  try {
    boost::asio::io_context io;
    http::ClientOptions o;
    o.base_url = u.base_url;
    o.ca_file = u.ca_file;
    o.insecure_skip_verify = u.insecure_skip_verify;
    http::Client client(io, o);
  } catch (const std::exception& e) {
    return std::string("[upstream]: ") + e.what();
  }
  return std::nullopt;
}

}  // namespace

int check_config(const config::Config& config, bool online, std::ostream& out, std::ostream& err) {
  std::vector<std::string> problems;
  std::optional<upstream::Credentials> credentials;
  try {
    init_logging(config.log_level);  // the level is tried; a key file warning goes to stderr
  } catch (const std::exception& e) {
    problems.push_back(std::string("[log] level: ") + e.what());
  }
  try {
    credentials = upstream::load_credentials(config.upstream);
  } catch (const std::exception& e) {
    problems.push_back(e.what());
  }
  if (auto p = client_problem(config.upstream)) problems.push_back(*p);
  if (auto p = store::cache_folder_problem(config.cache_path)) problems.push_back(*p);
  if (auto p = http::socket_folder_problem(config.socket.path)) problems.push_back(*p);
  if (config.socket.group && !::getgrnam(config.socket.group->c_str()))
    problems.push_back("[socket] group: there is no group '" + *config.socket.group + "'");
  if (!problems.empty()) {
    err << "focussyncd: " << config.source << " cannot work:\n";
    for (const auto& p : problems) err << "  - " << p << "\n";
    return 2;
  }
  out << "focussyncd: " << config.source << " is valid: will sync " << workspace_list(config) << " from "
      << config.upstream.base_url << " using the " << credentials->describe() << ", cache at " << config.cache_path
      << ", socket at " << config.socket.path << "\n";
  if (auto warning = config::socket_mode_warning(config.socket)) err << "focussyncd: warning: " << *warning << "\n";
  if (!online) return 0;
  std::vector<WorkspaceKey> refs;
  for (const auto& w : config.workspaces) refs.push_back({w.organization_id, w.workspace_id});
  auto check = upstream::check_account(config.upstream, std::move(*credentials), refs);
  out << upstream::describe(check);
  if (check.ok()) return 0;
  err << "focussyncd: the online check failed (see above)\n";
  return check.lasting_problem() ? 2 : 1;
}

}  // namespace focus::daemon
