// focusctl status, sync and changes.
#include "cli/commands.hpp"

#include "core/duration.hpp"
#include "core/time.hpp"

#include <limits>
#include <unistd.h>

namespace focus::cli {

using nlohmann::json;

namespace {

std::string text_or(const json& v, const std::string& fallback) { return v.is_string() ? v.get<std::string>() : fallback; }

// "ORG/WS", as status and sync name a workspace.
std::string workspace_name(const json& w) {
  return std::to_string(w["organization_id"].get<long long>()) + "/" + std::to_string(w["workspace_id"].get<long long>());
}

// What in a GET /v1/status answer is not well, one sentence each: status
// prints them on stderr and exits 1 when there is any.
// Without --max-age (nullopt), a workspace is too old when the daemon says
// it is stale (its [socket] stale_after); with it, when older than that.
std::vector<std::string> status_problems(const json& s, std::optional<std::chrono::milliseconds> max_age,
                                         const std::string& max_age_text) {
  std::vector<std::string> problems;
  for (const auto& w : s["workspaces"]) {
    std::string name = workspace_name(w);
    auto last = w["last_success_at"].is_string() ? parse_rfc3339(w["last_success_at"].get<std::string>()) : std::nullopt;
    if (!last) problems.push_back("workspace " + name + " has never synced");
    else if (max_age && now_utc() - *last > *max_age)
      problems.push_back("workspace " + name + " last synced " + age_text(w["last_success_at"]) + ", more than " + max_age_text +
                         " ago" + (w["last_error"].is_string() ? " (" + w["last_error"].get<std::string>() + ")" : ""));
    else if (!max_age && w.value("stale", false))  // the daemon's own word: older than its [socket] stale_after
      problems.push_back("workspace " + name + " is stale: last synced " + age_text(w["last_success_at"]) +
                         ", longer ago than focussyncd's [socket] stale_after" +
                         (w["last_error"].is_string() ? " (" + w["last_error"].get<std::string>() + ")" : ""));
    // Parent cycles the server sent (tree reads stop at them; fix them there).
    for (const auto& t : w.value("tree_problems", json::array())) problems.push_back("workspace " + name + ": " + text_or(t, "?"));
  }
  if (s.contains("storage") && s["storage"]["state"] != "ok")
    problems.push_back("the cache's storage: " + text_or(s["storage"]["message"], text_or(s["storage"]["state"], "?")));
  if (s.contains("engine") && s["engine"]["state"] == "stalled")
    problems.push_back("the sync engine has made no progress since " + text_or(s["engine"]["last_progress_at"], "?") +
                       " (longer than " + std::to_string(s["engine"].value("stall_after_s", 0LL)) +
                       " s): see focussyncd's log; systemd restarts it when its watchdog is on");
  if (s["upstream"] == "unauthorized") problems.push_back("the Focus API refuses the credentials (401): fix them and reload focussyncd "
                                                   "(systemctl --user reload focussync, or SIGHUP)");
  if (s["edits"]["failed"].get<long long>() > 0)
    problems.push_back(std::to_string(s["edits"]["failed"].get<long long>()) + " edit(s) failed: focusctl edits list --state failed");
  if (s["edits"]["conflict"].get<long long>() > 0)
    problems.push_back(std::to_string(s["edits"]["conflict"].get<long long>()) +
                       " edit(s) in conflict: focusctl edits list --state conflict");
  return problems;
}

// --format json/ndjson: the status answer with the problems added; csv: one
// row per workspace.
void print_status_data(Context& ctx, json s, const std::vector<std::string>& problems) {
  s["problems"] = problems;
  if (ctx.format() != Format::csv) {
    print_object(ctx.out(), ctx.format(), s);
    return;
  }
  std::vector<Column> cols = {{"workspace", "workspace"}, {"projects", "projects", true}, {"last_success_at", "last"},
                              {"last_error", "error"},     {"stale", "stale"},           {"pending_edits", "pending", true}};
  std::vector<json> rows;
  for (auto w : s["workspaces"]) {
    w["workspace"] = workspace_name(w);
    rows.push_back(w);
  }
  print_rows(ctx.out(), ctx.format(), cols, rows);
}

// --format table: a few lines for people.
void print_status_table(Context& ctx, const json& s) {
  auto& o = ctx.out();
  o << "focussyncd " << text_or(s["version"], "?") << ", upstream " << text_or(s["upstream"], "?");
  if (s.value("waiting_since", json()).is_string()) o << " (no answer since " << age_text(s["waiting_since"]) << ")";
  if (s.contains("engine")) o << ", engine " << text_or(s["engine"]["state"], "?");
  o << "\n";
  for (const auto& w : s["workspaces"]) {
    o << "workspace " << w["organization_id"] << "/" << w["workspace_id"] << ": " << w["projects"] << " projects, synced "
      << (w["last_success_at"].is_string() ? age_text(w["last_success_at"]) : "never")
      << (w["stale"].get<bool>() ? " (stale)" : "") << ", " << w["pending_edits"] << " edit(s) pending";
    if (w["last_error"].is_string()) o << "; last error: " << w["last_error"].get<std::string>();
    o << "\n";
  }
  const auto& e = s["edits"];
  o << "edits: " << e["pending"] << " pending, " << e["in_flight"] << " in flight, " << e["unknown_outcome"]
    << " being checked, " << e["conflict"] << " in conflict, " << e["failed"] << " failed, " << e["done"] << " done\n";
  if (s["quota"]["remaining"].is_number())
    o << "quota: " << s["quota"]["remaining"] << " requests left"
      << (s["quota"]["resets_at"].is_string() ? ", resets " + s["quota"]["resets_at"].get<std::string>() : "") << "\n";
}

int run_status(Context& ctx, const std::string& max_age_text) {
  std::optional<std::chrono::milliseconds> max_age;
  if (!max_age_text.empty()) {
    auto parsed = parse_duration(max_age_text);
    if (!parsed) throw UsageError("--max-age: '" + max_age_text + "' is not a duration like \"30m\" or \"2h\"");
    max_age = std::chrono::duration_cast<std::chrono::milliseconds>(*parsed);
  }
  json s = ctx.call("GET", "/v1/status").body;
  const auto problems = status_problems(s, max_age, max_age_text);
  if (ctx.format() != Format::table) print_status_data(ctx, std::move(s), problems);
  else print_status_table(ctx, s);
  for (const auto& p : problems) ctx.err() << "focusctl: " << p << "\n";
  return problems.empty() ? 0 : 1;
}

void draw_progress(const json& e, bool terminal) {
  std::string ws = text_or(e["workspace"], "");
  std::string phase = text_or(e["phase"], "");
  if (!terminal) {
    // A log, not an animation: the start, each quarter, the end.
    long long pages = e.value("pages", 0LL), expected = e.value("expected_pages", 0LL);
    if (expected > 0) {
      long long step = std::max(1LL, expected / 4);
      if (pages % step != 0 && pages != expected) return;
      std::cerr << ws << " " << phase << ": page " << pages << " of " << expected << "\n";
    } else {
      std::cerr << ws << " " << phase << "\n";
    }
    return;
  }
  long long done = e.value("pages", 0LL), expected = e.value("expected_pages", 0LL);
  std::string bar;
  if (phase == "listing" && expected > 0) {
    const int width = 30;
    int filled = static_cast<int>(width * std::min(done, expected) / expected);
    bar = " [" + std::string(filled, '#') + std::string(width - filled, ' ') + "] " + std::to_string(done) + "/" +
          std::to_string(expected) + " pages";
  }
  std::cerr << "\r\033[K" << ws << " " << phase << bar << std::flush;
}

int run_sync(Context& ctx, bool wait, bool spend_reserve) {
  const std::string path = spend_reserve ? "/v1/sync?spend_reserve=1" : "/v1/sync";
  if (!wait) {
    ctx.call("POST", path);
    ctx.out() << "sync started\n";
    return 0;
  }
  const bool terminal = ::isatty(STDERR_FILENO);
  json summary;
  std::string event, error;
  int status = ctx.client().stream("POST", path, [&](const std::string& line) {
    if (line.rfind("event: ", 0) == 0) event = line.substr(7);
    if (line.rfind("data: ", 0) != 0) return true;
    json data = json::parse(line.substr(6), nullptr, false);
    if (event == "progress") draw_progress(data, terminal);
    if (event == "done") {
      summary = data;
      return false;
    }
    return true;
  }, error);
  if (terminal) std::cerr << "\r\033[K";
  if (status != 200) throw CommandFailed("sync: focussyncd answered " + std::to_string(status) + " " + error);
  if (summary.is_null()) throw CommandFailed("sync: focussyncd ended the stream before the sync did");
  std::vector<Column> cols = {{"workspace", "workspace"}, {"projects", "projects", true}, {"inserted", "inserted", true},
                              {"updated", "updated", true}, {"deleted", "deleted", true}, {"requests", "requests", true},
                              {"edits_applied", "edits applied", true}, {"error", "error"}};
  std::vector<json> rows;
  for (auto w : summary["workspaces"]) {
    w["workspace"] = workspace_name(w);
    if (w.contains("edits")) w["edits_applied"] = w["edits"]["applied"];
    rows.push_back(w);
  }
  print_rows(ctx.out(), ctx.format(), cols, rows);
  if (summary.value("stopped_at_reserve", false))
    ctx.err() << "focusctl: the listing stopped at the quota reserve kept for replaying edits; focussyncd continues it "
                 "as the quota allows (--spend-reserve spends the reserve too)\n";
  return summary["error"].is_null() ? 0 : 1;
}

const std::vector<Column>& change_columns() {
  static const std::vector<Column> cols = {{"seq", "seq", true}, {"at", "at"},         {"workspace", "workspace"},
                                           {"project_id", "project", true}, {"kind", "kind"}, {"initial", "initial"},
                                           {"fields", "fields"},           {"edit", "edit"}};
  return cols;
}

// An edit's settlement names its op, state and error; the update a replayed
// edit made names the edit and its op. As one cell: "edit 12 patch: applied".
// Whatever a newer daemon adds or leaves out, the cell says what it has.
std::string edit_text(const json& e) {
  std::string text = "edit";
  if (e.contains("edit") && e["edit"].is_number_integer()) text += " " + std::to_string(e["edit"].get<long long>());
  if (e.contains("op") && e["op"].is_string()) text += " " + e["op"].get<std::string>();
  if (e.contains("state") && e["state"].is_string()) text += ": " + e["state"].get<std::string>();
  if (e.contains("error") && e["error"].is_string()) text += " (" + e["error"].get<std::string>() + ")";
  return text;
}

// JSON and NDJSON keep the socket's change whole (its `initial`, its `edit`
// object, whatever a newer daemon adds), with the workspace as ORG/WS added;
// a table and CSV flatten it into the change columns.
void print_changes(std::ostream& out, Format f, std::vector<json> changes) {
  for (auto& c : changes) c["workspace"] = workspace_name(c);
  if (f == Format::json) {
    print_object(out, f, json(std::move(changes)));
    return;
  }
  if (f == Format::ndjson) {
    for (const auto& c : changes) print_object(out, f, c);
    return;
  }
  for (auto& c : changes) {
    c["initial"] = c.value("initial", false);  // the socket says it only when true
    if (c.contains("edit") && c["edit"].is_object()) c["edit"] = edit_text(c["edit"]);
  }
  print_rows(out, f, change_columns(), changes);
}

int run_changes(Context& ctx, long long since, bool follow) {
  if (!follow) {
    std::vector<json> rows;
    for (;;) {
      auto r = ctx.call("GET", "/v1/changes?limit=1000&since=" + std::to_string(since)).body;
      for (auto& c : r["changes"]) rows.push_back(c);
      if (r["changes"].size() < 1000) break;
      since = r["next"].get<long long>();
    }
    print_changes(ctx.out(), ctx.format(), std::move(rows));
    return 0;
  }
  // Followed: one line per change as it happens (a table has no room to
  // realign, so it prints rows without a header after the first).
  std::string error;
  const Format f = ctx.format() == Format::json ? Format::ndjson : ctx.format();
  bool first = true;
  int status = ctx.client().stream("GET", "/v1/changes?since=" + std::to_string(since), [&](const std::string& line) {
    if (line.rfind("data: ", 0) != 0) return true;
    auto c = json::parse(line.substr(6), nullptr, false);
    if (c.is_discarded()) return true;
    std::ostringstream row;
    print_changes(row, f, {c});
    std::string text = row.str();
    if (!first && (f == Format::table || f == Format::csv)) text = text.substr(text.find('\n') + 1);
    first = false;
    ctx.out() << text << std::flush;
    return true;
  }, error);
  if (status != 200) throw CommandFailed("changes: " + error);
  return 0;
}

}  // namespace

void add_status_commands(CLI::App& app, Action& action) {
  auto* status = app.add_subcommand("status", "how the daemon, its workspaces and its edits are doing; exit 1 if not well");
  auto max_age = std::make_shared<std::string>();
  status->add_option("--max-age", *max_age,
                     "a workspace synced longer ago than this is a problem (default: when focussyncd calls it stale, "
                     "past its [socket] stale_after)");
  status->callback([&action, max_age] { action = [max_age](Context& c) { return run_status(c, *max_age); }; });

  auto* sync = app.add_subcommand("sync", "sync every workspace now");
  auto wait = std::make_shared<bool>(false);
  sync->add_flag("--wait", *wait, "wait for it, showing progress, then print the summary");
  auto spend = std::make_shared<bool>(false);
  sync->add_flag("--spend-reserve", *spend, "also spend the share of the quota kept for replaying edits");
  sync->callback([&action, wait, spend] { action = [wait, spend](Context& c) { return run_sync(c, *wait, *spend); }; });

  auto* changes = app.add_subcommand("changes", "the change log: inserts, updates, deletes, restores, settled edits");
  auto since = std::make_shared<long long>(0);
  auto follow = std::make_shared<bool>(false);
  changes->add_option("--since", *since, "only changes after this sequence number")->check(CLI::Range(0LL, std::numeric_limits<long long>::max()));
  changes->add_flag("--follow,-f", *follow, "keep printing changes as they happen, until interrupted");
  changes->callback([&action, since, follow] { action = [since, follow](Context& c) { return run_changes(c, *since, *follow); }; });
}

}  // namespace focus::cli
