#pragma once
// `focussyncd --check-config [--online]`: whether a loaded configuration can
// work, judged without creating anything and, unless --online, without
// sending anything: the secret is read (never shown), the cache and socket
// folders judged by the rules the cache and the socket apply when they open,
// the socket group looked up, the base URL and CA file given to an HTTP
// client, the log level tried. Then it says what focussyncd will do. With
// --online, one list request per workspace proves the key and the ids and
// reports the quota left (upstream/account_check.hpp). Main thread, before
// any io_context runs.

#include "config/config.hpp"

#include <iosfwd>

namespace focus::daemon {

// Prints to `out` (what it will do, the online verdicts) and `err` (the
// problems). Answers the exit code: 0 fine; 2 the configuration cannot work
// (every reason listed), also for a key refused or an id unknown online;
// 1 the online check could not be made (network, quota, server error).
int check_config(const config::Config& config, bool online, std::ostream& out, std::ostream& err);

}  // namespace focus::daemon
