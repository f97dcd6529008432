// focusctl report: figures per client, tag, parent project or status, and a
// summary of the change log, for cron and people.
#include "cli/commands.hpp"

#include "core/duration.hpp"
#include "core/time.hpp"
#include "model/change_kind.hpp"
#include "model/edit.hpp"

#include <cmath>
#include <map>

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

std::vector<std::string> keys_of(const json& p, const std::string& by, const std::map<long long, std::string>& names) {
  if (by == "client") return {p["client"].is_object() ? p["client"]["name"].get<std::string>() : "(no client)"};
  if (by == "status") return {p["archived_at"].is_null() ? "active" : "archived"};
  if (by == "parent") {
    if (!p["parent_project_id"].is_number()) return {"(top level)"};
    auto it = names.find(p["parent_project_id"].get<long long>());
    return {it == names.end() ? "project " + std::to_string(p["parent_project_id"].get<long long>()) : it->second};
  }
  std::vector<std::string> tags;  // by tag: a project counts under each of its tags
  for (const auto& t : p["tags"]) tags.push_back(t["name"].get<std::string>());
  if (tags.empty()) tags.push_back("(no tag)");
  return tags;
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

// The summary row one change counts in (nullptr: none). A kind this
// focusctl does not know (a newer daemon's) counts as an update.
const char* summary_row(const json& c, const std::map<long long, json>& current, Timestamp since) {
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
  if (has("archived_at")) {
    auto it = current.find(c["project_id"].get<long long>());
    bool archived_now = it != current.end() && !it->second["archived_at"].is_null();
    return archived_now ? "archived" : "unarchived";
  }
  return has("name") ? "renamed" : "updated";
}

// The rows of the change summary, in the order people read them.
constexpr const char* kSummaryRows[] = {"created",  "first seen (initial mirror)", "renamed",       "updated",
                                        "archived", "unarchived", "deleted", "restored", "edits applied",
                                        "edits failed"};

// focusctl report --changes-since D: how many changes of each kind the
// change log holds from the last D.
int run_change_summary(Context& ctx, const std::string& changes_since) {
  auto d = parse_duration(changes_since);
  if (!d) throw CommandFailed("--changes-since: '" + changes_since + "' is not a duration like \"1d\" or \"12h\"");
  const auto since = now_utc() - std::chrono::duration_cast<std::chrono::microseconds>(*d);
  std::map<long long, json> current;
  for (auto& p : ctx.list_all("?archived=", -1)) current[p["id"].get<long long>()] = p;
  std::map<std::string, long long> counts;
  for (const char* row : kSummaryRows) counts[row] = 0;
  long long seq = 0;
  for (;;) {
    auto r = ctx.call("GET", "/v1/changes?limit=1000&since=" + std::to_string(seq)).body;
    for (const auto& c : r["changes"]) {
      auto at = parse_rfc3339(c["at"].get<std::string>());
      if (!at || *at < since) continue;
      if (auto row = summary_row(c, current, since)) ++counts[row];
    }
    if (r["changes"].size() < 1000) break;
    seq = r["next"].get<long long>();
  }
  std::vector<json> rows;
  for (const char* k : kSummaryRows) rows.push_back({{"change", k}, {"count", counts[k]}});
  print_rows(ctx.out(), ctx.format(), {{"change", "change"}, {"count", "count", true}}, rows);
  return 0;
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

std::map<std::string, Group> group_projects(Context& ctx, const std::string& by) {
  auto projects = ctx.list_all("?archived=&include_rates=true", -1);
  std::map<long long, std::string> names;
  for (const auto& p : projects) names[p["id"].get<long long>()] = p["name"].get<std::string>();
  std::map<std::string, Group> groups;
  for (const auto& p : projects)
    for (const auto& key : keys_of(p, by, names)) add_to_group(groups[key], p);
  return groups;
}

void print_over_estimate(std::ostream& out, const std::map<std::string, Group>& groups) {
  bool any = false;
  for (const auto& [key, g] : groups)
    for (const auto& name : g.over) {
      if (!any) out << "\nover their estimate:\n";
      any = true;
      out << "  " << key << ": " << name << "\n";
    }
}

// focusctl report --by K: one row of figures per group.
int run_group_report(Context& ctx, const std::string& by) {
  const auto groups = group_projects(ctx, by);
  const bool structured = ctx.format() == Format::json || ctx.format() == Format::ndjson;
  std::vector<json> rows;
  for (const auto& [key, g] : groups) {
    json row = {{by, key},
                {"projects", g.projects},
                {"active", g.active},
                {"archived", g.archived},
                {"estimated_hours", round2(g.estimated_h)},
                {"tracked_hours", round2(g.tracked_h)},
                {"over_estimate", g.over_estimate},
                {"billable_value", round2(g.billable_value)}};
    if (structured) row["over_estimate_projects"] = g.over;
    rows.push_back(row);
  }
  std::vector<Column> cols = {{by, by},
                              {"projects", "projects", true},
                              {"active", "active", true},
                              {"archived", "archived", true},
                              {"estimated_hours", "est. h", true},
                              {"tracked_hours", "tracked h", true},
                              {"over_estimate", "over est.", true},
                              {"billable_value", "billable", true}};
  if (structured) cols.push_back({"over_estimate_projects", "over"});
  print_rows(ctx.out(), ctx.format(), cols, rows);
  if (ctx.format() == Format::table) print_over_estimate(ctx.out(), groups);
  return 0;
}

int run_report(Context& ctx, const std::string& by, const std::string& changes_since) {
  return changes_since.empty() ? run_group_report(ctx, by) : run_change_summary(ctx, changes_since);
}

}  // namespace

void add_report_command(CLI::App& app, Action& action) {
  auto* report = app.add_subcommand("report", "figures per client, tag, parent project or status; or recent changes");
  auto by = std::make_shared<std::string>("client");
  auto since = std::make_shared<std::string>();
  report->add_option("--by", *by, "client, tag, parent or status (default client)")
      ->check(CLI::IsMember({"client", "tag", "parent", "status"}));
  report->add_option("--changes-since", *since, "instead: what changed in this long (\"1d\", \"12h\")");
  report->callback([&action, by, since] { action = [by, since](Context& c) { return run_report(c, *by, *since); }; });
}

}  // namespace focus::cli
