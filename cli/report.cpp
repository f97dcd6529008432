// focusctl report: figures per client, tag, parent project or status, and a
// summary of the change log, for cron and people.
#include "cli/commands.hpp"
#include "cli/report.hpp"

#include "core/duration.hpp"
#include "core/time.hpp"
#include "model/change_kind.hpp"
#include "model/edit.hpp"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <sstream>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace focus::cli {

using nlohmann::json;

namespace {

struct Group {
  long long projects = 0, active = 0, archived = 0, over_estimate = 0;
  double estimated_h = 0, tracked_h = 0, billable_value = 0;
  std::vector<std::string> over;
};

double round2(double v) { return std::round(v * 100) / 100; }

// What a project earns: its fixed fee, else its hourly rate times the hours
// tracked; nothing when it is not billable.
double billable_value(const json& p) {
  if (!p["billable"].get<bool>()) return 0;
  if (p["fixed_fee"].is_object()) return p["fixed_fee"]["amount"].get<double>();
  if (p["rate"].is_object()) return p["rate"]["hourly_rate"].get<double>() * p["total_tracked_time"].get<double>() / 3600;
  return 0;
}

// A group is an entity (a client, a tag, a parent project: its id), shown
// by its name; two of one name stay two groups. id 0: no entity ("(no
// client)", a status).
struct GroupKey {
  std::string name;
  long long id = 0;
  auto operator<=>(const GroupKey&) const = default;
};

long long id_or_zero(const json& v) { return v.is_number_integer() ? v.get<long long>() : 0; }

std::vector<GroupKey> keys_of(const json& p, const std::string& by, const std::map<long long, std::string>& names) {
  if (by == "client")
    return {p["client"].is_object() ? GroupKey{p["client"]["name"].get<std::string>(), id_or_zero(p["client_id"])}
                                    : GroupKey{"(no client)"}};
  if (by == "status") return {{p["archived_at"].is_null() ? "active" : "archived"}};
  if (by == "parent") {
    if (!p["parent_project_id"].is_number()) return {{"(top level)"}};
    const auto parent = p["parent_project_id"].get<long long>();
    auto it = names.find(parent);
    return {{it == names.end() ? "project " + std::to_string(parent) : it->second, parent}};
  }
  std::vector<GroupKey> tags;  // by tag: a project counts under each of its tags
  for (const auto& t : p["tags"]) tags.push_back({t["name"].get<std::string>(), id_or_zero(t["id"])});
  if (tags.empty()) tags.push_back({"(no tag)"});
  return tags;
}

// The groups by their labels, in the order of their names: a group's name,
// and where another group has the same name, its id too ("Audit (client 12)").
std::vector<std::pair<std::string, Group>> labelled(std::map<GroupKey, Group> groups, const std::string& by) {
  std::map<std::string, int> named;
  for (const auto& [key, g] : groups) ++named[key.name];
  const std::string kind = by == "parent" ? "project" : by;
  std::vector<std::pair<std::string, Group>> out;
  for (auto& [key, g] : groups) {
    const bool shared = named[key.name] > 1 && key.id != 0;
    out.emplace_back(shared ? key.name + " (" + kind + " " + std::to_string(key.id) + ")" : key.name, std::move(g));
  }
  return out;
}

// An insert's row. The mirror seeing a project is not its creation: the
// first mirroring of a workspace ("initial" in the change log) is its own
// row, and any other insert counts as created only when the project's
// created_at falls in the window (one since deleted cannot say: it counts).
const char* insert_row(const json& c, const std::map<long long, json>& current, Timestamp since) {
  if (c.value("initial", false)) return "first seen (initial mirror)";
  auto it = current.find(c["project_id"].get<long long>());
  if (it == current.end() || !it->second["created_at"].is_string()) return "created";
  auto created = parse_rfc3339(it->second["created_at"].get<std::string>());
  return !created || *created >= since ? "created" : nullptr;
}

// Which way each update of archived_at went, by the change's seq: true,
// archived. The log names the fields an update changed, not their values,
// so the way is read back from the project as it reads now: its last
// change of archived_at left it so, and each one before went the other way.
// (Judged by the project alone, an archive later undone counted as an
// unarchive.) A project no longer listed (deleted) reads as not archived.
using ArchiveWays = std::map<long long, bool>;

bool changes_archived_at(const json& c) {
  // As summary_row reads it: a kind this focusctl does not know is an update.
  const auto kind = from_text<model::ChangeKind>(c["kind"].get<std::string>()).value_or(model::ChangeKind::update);
  if (kind != model::ChangeKind::update) return false;
  const auto& fields = c["fields"];
  return std::find(fields.begin(), fields.end(), "archived_at") != fields.end();
}

ArchiveWays archive_ways(const std::vector<json>& changes, const std::map<long long, json>& current) {
  std::map<long long, std::vector<long long>> by_project;  // seqs, oldest first
  for (const auto& c : changes)
    if (changes_archived_at(c)) by_project[c["project_id"].get<long long>()].push_back(c["seq"].get<long long>());
  ArchiveWays ways;
  for (const auto& [id, seqs] : by_project) {
    auto it = current.find(id);
    bool archived = it != current.end() && !it->second["archived_at"].is_null();
    for (auto seq = seqs.rbegin(); seq != seqs.rend(); ++seq, archived = !archived) ways[*seq] = archived;
  }
  return ways;
}

// The summary row one change counts in (nullptr: none). A kind this
// focusctl does not know (a newer daemon's) counts as an update.
const char* summary_row(const json& c, const std::map<long long, json>& current, const ArchiveWays& ways,
                        Timestamp since) {
  using model::ChangeKind;
  using model::EditState;
  switch (from_text<ChangeKind>(c["kind"].get<std::string>()).value_or(ChangeKind::update)) {
    case ChangeKind::insert: return insert_row(c, current, since);
    case ChangeKind::remove: return "deleted";
    case ChangeKind::restore: return "restored";
    case ChangeKind::edit: {
      auto state = from_text<EditState>(c["edit"]["state"].get<std::string>());  // or "discarded"
      if (state == EditState::done) return "edits applied";
      if (state == EditState::failed) return "edits failed";
      return nullptr;
    }
    case ChangeKind::update: break;
  }
  auto fields = c["fields"].get<std::vector<std::string>>();
  auto has = [&](const char* f) { return std::find(fields.begin(), fields.end(), f) != fields.end(); };
  if (has("archived_at")) return ways.at(c["seq"].get<long long>()) ? "archived" : "unarchived";
  return has("name") ? "renamed" : "updated";
}

// The rows of the change summary, in the order people read them.
constexpr const char* kSummaryRows[] = {"created",  "first seen (initial mirror)", "renamed",       "updated",
                                        "archived", "unarchived", "deleted", "restored", "edits applied",
                                        "edits failed"};

// focusctl report --changes-since D: how many changes of each kind the
// change log holds from the last D, in all and per day.
ChangeFigures change_figures(Context& ctx, const std::string& changes_since) {
  auto d = parse_duration(changes_since);
  if (!d) throw UsageError("--changes-since: '" + changes_since + "' is not a duration like \"1d\" or \"12h\"");
  ChangeFigures f;
  f.until = now_utc();
  f.since = f.until - std::chrono::duration_cast<std::chrono::microseconds>(*d);
  std::map<long long, json> current;
  for (auto& p : ctx.list_all("?archived=", -1)) current[p["id"].get<long long>()] = p;
  std::map<std::string, long long> counts;
  for (const char* row : kSummaryRows) counts[row] = 0;
  std::vector<json> window;  // the window's changes, oldest first
  long long seq = 0;
  for (;;) {
    auto r = ctx.call("GET", "/v1/changes?limit=1000&since=" + std::to_string(seq)).body;
    for (auto& c : r["changes"]) {
      auto at = parse_rfc3339(c["at"].get<std::string>());
      if (at && *at >= f.since) window.push_back(std::move(c));
    }
    if (r["changes"].size() < 1000) break;
    seq = r["next"].get<long long>();
  }
  const auto ways = archive_ways(window, current);
  for (const auto& c : window) {
    if (auto row = summary_row(c, current, ways, f.since)) {
      ++counts[row];
      ++f.per_day[std::chrono::floor<std::chrono::days>(*parse_rfc3339(c["at"].get<std::string>()))][row];
    }
  }
  f.columns = {{"change", "change"}, {"count", "count", true}};
  for (const char* k : kSummaryRows) {
    f.kinds.emplace_back(k);
    f.rows.push_back({{"change", k}, {"count", counts[k]}});
  }
  return f;
}

void add_to_group(Group& g, const json& p) {
  ++g.projects;
  ++(p["archived_at"].is_null() ? g.active : g.archived);
  double tracked = p["total_tracked_time"].get<double>() / 3600;
  g.tracked_h += tracked;
  if (p["estimated_mins"].is_number()) {
    double estimated = p["estimated_mins"].get<double>() / 60;
    g.estimated_h += estimated;
    if (tracked > estimated) {
      ++g.over_estimate;
      g.over.push_back(p["name"].get<std::string>());
    }
  }
  g.billable_value += billable_value(p);
}

std::vector<std::pair<std::string, Group>> group_projects(Context& ctx, const std::string& by) {
  auto projects = ctx.list_all("?archived=&include_rates=true", -1);
  std::map<long long, std::string> names;
  for (const auto& p : projects) names[p["id"].get<long long>()] = p["name"].get<std::string>();
  std::map<GroupKey, Group> groups;
  for (const auto& p : projects)
    for (const auto& key : keys_of(p, by, names)) add_to_group(groups[key], p);
  return labelled(std::move(groups), by);
}

// focusctl report --by K: one row of figures per group. The list of
// projects over their estimate is a column of its own only where a cell
// can hold a list (JSON, NDJSON); a table prints it after the rows.
GroupFigures group_figures(Context& ctx, const std::string& by) {
  GroupFigures f;
  f.by = by;
  for (const auto& [key, g] : group_projects(ctx, by)) {
    f.rows.push_back({{by, key},
                      {"projects", g.projects},
                      {"active", g.active},
                      {"archived", g.archived},
                      {"estimated_hours", round2(g.estimated_h)},
                      {"tracked_hours", round2(g.tracked_h)},
                      {"over_estimate", g.over_estimate},
                      {"billable_value", round2(g.billable_value)},
                      {"over_estimate_projects", g.over}});
    for (const auto& name : g.over) f.over.emplace_back(key, name);
  }
  f.columns = {{by, by},
               {"projects", "projects", true},
               {"active", "active", true},
               {"archived", "archived", true},
               {"estimated_hours", "est. h", true},
               {"tracked_hours", "tracked h", true},
               {"over_estimate", "over est.", true},
               {"billable_value", "billable", true}};
  if (ctx.format() == Format::json || ctx.format() == Format::ndjson)
    f.columns.push_back({"over_estimate_projects", "over"});
  return f;
}

void print_over_estimate(std::ostream& out, const GroupFigures& f) {
  if (f.over.empty()) return;
  out << "\nover their estimate:\n";
  for (const auto& [key, name] : f.over) out << "  " << displayable(key) << ": " << displayable(name) << "\n";
}

ReportHeader report_header(Context& ctx) {
  const json ws = ctx.workspace_status();
  ReportHeader h;
  h.workspace = ctx.workspace_text();
  if (ws["last_success_at"].is_string())
    if (auto t = parse_rfc3339(ws["last_success_at"].get<std::string>()))
      h.synced = format_rfc3339(std::chrono::floor<std::chrono::seconds>(*t));
  h.stale = ws.value("stale", true);
  h.generated = format_rfc3339(std::chrono::floor<std::chrono::seconds>(now_utc()));
  return h;
}

// The report, whole, in the format asked for.
std::string render_report(Context& ctx, const std::string& by, const std::string& changes_since) {
  std::ostringstream out;
  if (!changes_since.empty()) {
    auto f = change_figures(ctx, changes_since);
    if (ctx.format() == Format::html) return change_report_html(report_header(ctx), f);
    print_rows(out, ctx.format(), f.columns, f.rows);
  } else {
    auto f = group_figures(ctx, by);
    if (ctx.format() == Format::html) return group_report_html(report_header(ctx), f);
    print_rows(out, ctx.format(), f.columns, f.rows);
    if (ctx.format() == Format::table) print_over_estimate(out, f);
  }
  return out.str();
}

// The mode a report written to `path` gets: that of the file it replaces
// (a report of billable figures kept 0600 stays 0600), else what the umask
// leaves of 0666.
mode_t report_mode(const std::string& path) {
  struct stat existing {};
  if (::stat(path.c_str(), &existing) == 0) return existing.st_mode & 0777;
  const mode_t umask_now = ::umask(0);  // read by setting; focusctl is one thread
  ::umask(umask_now);
  return 0666 & ~umask_now;
}

// Written whole or not at all: a temporary file of a fresh name beside FILE
// (made 0600, so nobody else can open it while it fills), given its mode,
// written, synced and renamed over FILE, so a cron job never mails half a
// report and a run killed part-way blocks no later one.
void write_file(const std::string& path, const std::string& text) {
  std::string temporary = path + ".tmp-XXXXXX";
  const int fd = ::mkostemp(temporary.data(), O_CLOEXEC);
  if (fd < 0) throw CommandFailed("--output: cannot write beside '" + path + "': " + std::strerror(errno));
  std::string why;
  auto failed = [&why](const char* what) {
    why = std::string(what) + ": " + (errno ? std::strerror(errno) : "nothing written");
    return false;
  };
  bool ok = ::fchmod(fd, report_mode(path)) == 0 || failed("chmod");
  for (std::size_t done = 0; ok && done < text.size();) {
    errno = 0;
    const auto n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) ok = failed("write");
    else done += static_cast<std::size_t>(n);
  }
  if (ok && ::fsync(fd) != 0) ok = failed("fsync");
  if (::close(fd) != 0 && ok) ok = failed("close");
  if (ok && std::rename(temporary.c_str(), path.c_str()) != 0) {
    why = std::string("cannot replace '") + path + "': " + std::strerror(errno);
    ::unlink(temporary.c_str());
    throw CommandFailed("--output: " + why);
  }
  if (!ok) {
    ::unlink(temporary.c_str());
    throw CommandFailed("--output: cannot write '" + temporary + "': " + why);
  }
}

int run_report(Context& ctx, const std::string& by, const std::string& changes_since, const std::string& output) {
  const std::string text = render_report(ctx, by, changes_since);
  if (output.empty() || output == "-") ctx.out() << text;
  else write_file(output, text);
  return 0;
}

}  // namespace

void add_report_command(CLI::App& app, Action& action) {
  auto* report = app.add_subcommand("report", "figures per client, tag, parent project or status; or recent changes");
  auto by = std::make_shared<std::string>("client");
  auto since = std::make_shared<std::string>();
  auto* by_option = report->add_option("--by", *by, "client, tag, parent or status (default client)")
                        ->check(CLI::IsMember({"client", "tag", "parent", "status"}));
  auto output = std::make_shared<std::string>();
  report->add_option("--changes-since", *since, "instead: what changed in this long (\"1d\", \"12h\")")
      ->excludes(by_option);  // one report or the other, never one of them silently
  report->add_option("--output", *output, "write the report to FILE (whole, or not at all) instead of stdout");
  report->callback([&action, by, since, output] {
    action = [by, since, output](Context& c) { return run_report(c, *by, *since, *output); };
  });
}

}  // namespace focus::cli
