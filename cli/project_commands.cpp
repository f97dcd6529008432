// focusctl projects ... and members ...
#include "cli/commands.hpp"

#include "http/target.hpp"

#include <limits>
#include <map>
#include <optional>
#include <set>

namespace focus::cli {

using nlohmann::json;

namespace {

double hours(const json& v, double divisor) { return v.is_number() ? v.get<double>() / divisor : 0.0; }

// A project as one table row.
json project_row(const json& p) {
  json r = p;
  r["client"] = p["client"].is_object() ? p["client"]["name"] : json(nullptr);
  r["status"] = p["archived_at"].is_null() ? "active" : "archived";
  r["estimated_h"] = p["estimated_mins"].is_number() ? json(hours(p["estimated_mins"], 60)) : json(nullptr);
  r["tracked_h"] = hours(p["total_tracked_time"], 3600);
  json tags = json::array();
  for (const auto& t : p["tags"]) tags.push_back(t["name"]);
  r["tags"] = tags;
  return r;
}

const std::vector<Column>& project_columns() {
  static const std::vector<Column> cols = {
      {"id", "id", true},         {"name", "name"},          {"client", "client"},       {"status", "status"},
      {"pinned", "pinned"},       {"private", "private"},    {"tags", "tags"},           {"estimated_h", "est. h", true},
      {"tracked_h", "tracked h", true}, {"parent_project_id", "parent", true}, {"updated_at", "updated"}};
  return cols;
}

void print_projects(Context& ctx, const std::vector<json>& projects) {
  std::vector<json> rows;
  for (const auto& p : projects) rows.push_back(project_row(p));
  print_rows(ctx.out(), ctx.format(), project_columns(), rows);
}

struct ListFlags {
  std::string archived, name, from, to;
  std::optional<bool> pinned, is_private;
  std::vector<long long> clients, tags, creators, users;
  std::vector<std::string> order_by;
  long long limit = 50;
  bool all = false;

  std::string query() const {
    std::vector<http::QueryParam> params;
    auto add = [&](const std::string& k, const std::string& v) { params.push_back({k, v, true}); };
    if (archived == "all") add("archived", "");
    else if (!archived.empty()) add("archived", archived);
    if (pinned) add("pinned", *pinned ? "true" : "false");
    if (is_private) add("private", *is_private ? "true" : "false");
    if (!name.empty()) add("name", name);
    for (auto v : clients) add("client_id", std::to_string(v));
    for (auto v : tags) add("tag_id", std::to_string(v));
    for (auto v : creators) add("creator_id", std::to_string(v));
    for (auto v : users) add("user_id", std::to_string(v));
    if (!from.empty()) add("start_date", from);
    if (!to.empty()) add("end_date", to);
    for (const auto& o : order_by) add("order_by", o);
    return http::query_string(params);
  }
};

// The words a yes/no flag takes; "" (the flag alone) is yes.
std::optional<bool> yes_no_word(const std::string& word) {
  static const std::map<std::string, bool> kWords = {{"", true},      {"true", true},  {"yes", true},
                                                     {"on", true},    {"1", true},     {"false", false},
                                                     {"no", false},   {"off", false},  {"0", false}};
  auto it = kWords.find(word);
  return it == kWords.end() ? std::nullopt : std::optional<bool>(it->second);
}

// A yes/no flag: `--pinned` alone means true; `--pinned false` (or no, off,
// 0) says no; any other word is refused before a command runs. A word after
// the flag is taken as its value: `patch 1042 --pinned`, not
// `patch --pinned 1042 --name X`.
CLI::Option* add_yes_no(CLI::App* cmd, const std::string& name, std::optional<bool>& value) {
  auto* option = cmd->add_option_function<std::string>(
      name, [&value](const std::string& word) { value = yes_no_word(word); }, "true or false; alone: true");
  option->expected(0, 1)->type_name("[BOOLEAN]");
  option->check(CLI::Validator(
      [](std::string& word) { return yes_no_word(word) ? std::string() : "'" + word + "' is not true or false"; },
      ""));
  return option;
}

// Field flags shared by create, update and patch.
struct BodyFlags {
  std::optional<std::string> name, color, description, start, end, json_file;
  std::optional<long long> client, parent, estimate;
  std::optional<bool> billable, is_private, pinned;
  std::vector<long long> tags;
  std::vector<std::string> clear;

  void add_to(CLI::App* cmd) {
    cmd->add_option("--name", name, "the project's name");
    cmd->add_option("--color", color, "#rrggbb");
    cmd->add_option("--description", description);
    cmd->add_option("--client", client, "client id");
    cmd->add_option("--parent", parent, "parent project id (a negative id: a project created offline)");
    cmd->add_option("--start", start, "start date, YYYY-MM-DD");
    cmd->add_option("--end", end, "end date, YYYY-MM-DD");
    cmd->add_option("--estimate", estimate, "estimated minutes");
    add_yes_no(cmd, "--billable", billable);
    add_yes_no(cmd, "--private", is_private);
    add_yes_no(cmd, "--pinned", pinned);
    cmd->add_option("--tag", tags, "tag id (repeat for several)");
    cmd->add_option("--json", json_file, "the body as JSON, from a file or - for stdin (flags override its fields)");
  }

  json body() const {
    json b = json_file ? read_json_file(*json_file) : json::object();
    auto set = [&](const char* k, const auto& v) {
      if (v) b[k] = *v;
    };
    set("name", name);
    set("color", color);
    set("description", description);
    set("start_date", start);
    set("end_date", end);
    set("client_id", client);
    set("parent_project_id", parent);
    set("estimated_mins", estimate);
    set("billable", billable);
    set("private", is_private);
    set("pinned", pinned);
    if (!tags.empty()) b["tag_ids"] = tags;
    for (const auto& field : clear) b[field] = nullptr;
    return b;
  }
};

// "queued as edit 12: patch of project 1042"
int report_queued(Context& ctx, const Reply& r, const std::string& what) {
  auto edit = r.raw.header("X-Focussync-Edit").value_or("?");
  json out = {{"edit", std::stoll(edit)}, {"operation", what}};
  if (r.body.is_object()) out["project_id"] = r.body["id"];
  if (ctx.format() == Format::table) {
    ctx.out() << "queued as edit " << edit << ": " << what;
    if (r.body.is_object())
      ctx.out() << " (project " << r.body["id"] << ", " << displayable(r.body["name"].get<std::string>()) << ")";
    ctx.out() << "\n";
  } else {
    print_object(ctx.out(), ctx.format(), out);
  }
  return 0;
}

// Indentation stops growing here: a chain thousands deep would otherwise
// print lines thousands of characters wide (and hold them all).
constexpr int kMaxIndent = 32;
// `projects tree ID` reads at most this many descendants (pages of 200).
constexpr std::size_t kMaxTreeRows = 10'000;

// People see the tree drawn; scripts get the name as it is, with the parent
// and the depth the drawing showed.
const std::vector<Column>& tree_columns(Format f) {
  static const std::vector<Column> drawn = {{"id", "id", true}, {"tree", "project"}, {"status", "status"}};
  static const std::vector<Column> data = {{"id", "id", true},          {"name", "name"},
                                           {"parent_project_id", "parent"}, {"depth", "depth", true},
                                           {"in_parent_cycle", "in cycle"}, {"status", "status"}};
  return f == Format::table ? drawn : data;
}

// Projects as an indented tree: each under its parent when the parent is
// among them. Walked with an explicit stack and a visited set, so neither a
// deep chain nor a parent cycle in the data can overflow the stack or loop;
// projects no top reaches (a parent cycle) are shown at the top, marked,
// and named on stderr.
void print_tree(Context& ctx, const std::vector<json>& projects, std::optional<long long> root) {
  std::map<long long, std::vector<const json*>> children;
  std::map<long long, const json*> by_id;
  for (const auto& p : projects) by_id[p["id"].get<long long>()] = &p;
  std::vector<const json*> tops;
  for (const auto& p : projects) {
    auto parent = p["parent_project_id"];
    if (parent.is_number() && by_id.contains(parent.get<long long>()) && (!root || p["id"] != *root))
      children[parent.get<long long>()].push_back(&p);
    else if (!root || p["id"] == *root)
      tops.push_back(&p);
  }
  std::vector<json> rows;
  std::set<long long> shown;
  struct Frame {
    const json* project;
    int depth;
    std::string prefix;  // drawn before this row's connector
    bool last;
  };
  auto walk = [&](const json* top, const std::string& note) {
    std::vector<Frame> stack{{top, 0, "", true}};
    while (!stack.empty()) {
      Frame f = std::move(stack.back());
      stack.pop_back();
      const auto id = (*f.project)["id"].get<long long>();
      if (!shown.insert(id).second) continue;
      json r = project_row(*f.project);
      r["depth"] = f.depth;
      const auto name = (*f.project)["name"].get<std::string>();
      r["tree"] = f.depth == 0 ? name + note : f.prefix + (f.last ? "\u2514\u2500 " : "\u251c\u2500 ") + name;
      r["in_parent_cycle"] = !note.empty();  // name and parent_project_id are the project's own
      rows.push_back(std::move(r));
      const auto& kids = children[id];
      std::string below = f.depth == 0 || f.depth >= kMaxIndent ? f.prefix : f.prefix + (f.last ? "   " : "\u2502  ");
      for (std::size_t i = kids.size(); i-- > 0;) stack.push_back({kids[i], f.depth + 1, below, i + 1 == kids.size()});
    }
  };
  for (const auto* top : tops) walk(top, "");
  std::vector<long long> stranded;  // where the walks of those no top reached began
  const auto reached = rows.size();
  for (const auto& p : projects)
    if (!shown.contains(p["id"].get<long long>()) && (!root || p["id"] != *root)) {
      stranded.push_back(p["id"].get<long long>());
      walk(&p, " (in a parent cycle)");
    }
  if (!stranded.empty()) {
    ctx.err() << "focusctl: " << rows.size() - reached << " project(s) are in or under a parent cycle; shown at the top from";
    for (std::size_t i = 0; i < stranded.size() && i < 20; ++i) ctx.err() << " " << stranded[i];
    ctx.err() << (stranded.size() > 20 ? " ..." : "") << " (see focusctl status)\n";
  }
  print_rows(ctx.out(), ctx.format(), tree_columns(ctx.format()), rows);
}

// A project and its descendants, every page up to kMaxTreeRows.
std::vector<json> tree_under(Context& c, long long id) {
  std::vector<json> projects;
  for (int page = 1;; ++page) {
    auto r = c.call("GET", c.projects_path() + "/" + std::to_string(id) + "/children?per_page=200&page=" +
                               std::to_string(page)).body;
    const auto& data = r["data"];
    for (const auto& p : data) projects.push_back(p);
    if (data.size() < 200) break;
    if (projects.size() >= kMaxTreeRows) {
      c.err() << "focusctl: showing the first " << projects.size() << " projects of the tree only\n";
      break;
    }
  }
  return projects;
}

// One function per subcommand (or per family of subcommands that share a
// flag set). The flags each binds live in shared_ptrs the callbacks capture,
// so they outlive these functions and the parse, as CLI11 needs. The order of
// the calls in add_project_commands is the order `--help` lists them in.

void add_list_command(CLI::App* projects, Action& action) {
  auto flags = std::make_shared<ListFlags>();
  auto* list = projects->add_subcommand("list", "projects, with the Focus list's filters");
  list->add_option("--archived", flags->archived, "all, true or false (default: active only)")
      ->check(CLI::IsMember({"all", "true", "false"}));
  add_yes_no(list, "--pinned", flags->pinned);
  add_yes_no(list, "--private", flags->is_private);
  list->add_option("--name", flags->name, "part of the name, any case");
  list->add_option("--client", flags->clients, "client id (repeatable)");
  list->add_option("--tag", flags->tags, "tag id (repeatable)");
  list->add_option("--creator", flags->creators, "creator's user id (repeatable)");
  list->add_option("--user", flags->users, "visible to this user id (repeatable)");
  list->add_option("--from", flags->from, "overlapping the period from this date (YYYY-MM-DD)");
  list->add_option("--to", flags->to, "overlapping the period up to this date (YYYY-MM-DD)");
  list->add_option("--order-by", flags->order_by, "id, name, created_at, updated_at; '-' before for descending");
  list->add_option("--limit", flags->limit, "at most this many (default 50)")->check(CLI::Range(1LL, std::numeric_limits<long long>::max()));
  list->add_flag("--all", flags->all, "every matching project");
  list->callback([&action, flags] {
    action = [flags](Context& c) {
      print_projects(c, c.list_all(flags->query(), flags->all ? -1 : flags->limit));
      return 0;
    };
  });
}

void add_get_command(CLI::App* projects, Action& action) {
  auto id = std::make_shared<long long>(0);
  auto* get = projects->add_subcommand("get", "one project");
  get->add_option("id", *id, "project id")->required();
  get->callback([&action, id] {
    action = [id](Context& c) {
      auto p = c.call("GET", c.projects_path() + "/" + std::to_string(*id)).body;
      if (c.format() == Format::table) {
        json shown = project_row(p);
        for (const char* k : {"permissions", "rate", "tags", "client", "extra", "workspace_id", "task_estimated_mins"}) shown.erase(k);
        print_object(c.out(), c.format(), shown);
      } else {
        print_object(c.out(), c.format(), p);
      }
      return 0;
    };
  });
}

void add_tree_command(CLI::App* projects, Action& action) {
  auto tree_root = std::make_shared<std::optional<long long>>();
  auto* tree = projects->add_subcommand("tree", "projects as an indented tree (all, or under one)");
  tree->add_option("id", *tree_root, "the project at the top");
  tree->callback([&action, tree_root] {
    action = [tree_root](Context& c) {
      std::vector<json> projects;
      if (*tree_root) {
        projects = tree_under(c, **tree_root);
      } else {
        projects = c.list_all("?archived=", -1);
      }
      print_tree(c, projects, *tree_root);
      return 0;
    };
  });
}

// children, parents: one page of the relatives the server lists.
void add_relative_commands(CLI::App* projects, Action& action) {
  for (const char* which : {"children", "parents"}) {
    auto* cmd = projects->add_subcommand(which, std::string("a project and its ") + which);
    auto tid = std::make_shared<long long>(0);
    cmd->add_option("id", *tid, "project id")->required();
    std::string w = which;
    cmd->callback([&action, tid, w] {
      action = [tid, w](Context& c) {
        auto r = c.call("GET", c.projects_path() + "/" + std::to_string(*tid) + "/" + w + "?per_page=200").body;
        print_projects(c, r["data"].get<std::vector<json>>());
        return 0;
      };
    });
  }
}

// create, update, patch: the BodyFlags field flags, queued as one edit.
void add_write_commands(CLI::App* projects, Action& action) {
  struct WriteSpec {
    const char* name;
    const char* help;
    const char* method;
    bool needs_id;
  };
  for (auto spec : {WriteSpec{"create", "queue a new project", "POST", false},
                    WriteSpec{"update", "queue a full update (PUT: fields left out are reset)", "PUT", true},
                    WriteSpec{"patch", "queue a change of the given fields", "PATCH", true}}) {
    auto* cmd = projects->add_subcommand(spec.name, spec.help);
    auto flags = std::make_shared<BodyFlags>();
    auto wid = std::make_shared<long long>(0);
    if (spec.needs_id) cmd->add_option("id", *wid, "project id")->required();
    flags->add_to(cmd);
    if (std::string(spec.name) == "patch") cmd->add_option("--clear", flags->clear, "set this field to null (repeatable)");
    cmd->callback([&action, flags, wid, spec] {
      action = [flags, wid, spec](Context& c) {
        std::string path = c.projects_path() + (spec.needs_id ? "/" + std::to_string(*wid) : "");
        auto r = c.call(spec.method, path, flags->body());
        return report_queued(c, r, std::string(spec.name) + (spec.needs_id ? " of project " + std::to_string(*wid) : ""));
      };
    });
  }
}

// delete, archive, unarchive, restore, pin, unpin: an id and no body.
void add_action_commands(CLI::App* projects, Action& action) {
  struct ActionSpec {
    const char* name;
    const char* method;
    const char* suffix;
  };
  for (auto spec : {ActionSpec{"delete", "DELETE", ""}, ActionSpec{"archive", "PATCH", "/archive"},
                    ActionSpec{"unarchive", "PATCH", "/unarchive"}, ActionSpec{"restore", "PATCH", "/restore"},
                    ActionSpec{"pin", "POST", "/pinned"}, ActionSpec{"unpin", "DELETE", "/pinned"}}) {
    auto* cmd = projects->add_subcommand(spec.name, std::string("queue: ") + spec.name + " a project");
    auto aid = std::make_shared<long long>(0);
    cmd->add_option("id", *aid, "project id")->required();
    cmd->callback([&action, aid, spec] {
      action = [aid, spec](Context& c) {
        auto r = c.call(spec.method, c.projects_path() + "/" + std::to_string(*aid) + spec.suffix);
        return report_queued(c, r, std::string(spec.name) + " of project " + std::to_string(*aid));
      };
    });
  }
}

void add_member_list_command(CLI::App* members, Action& action) {
  auto mid = std::make_shared<long long>(0);
  auto* mlist = members->add_subcommand("list", "users and groups of a project");
  mlist->add_option("id", *mid, "project id")->required();
  mlist->callback([&action, mid] {
    action = [mid](Context& c) {
      auto m = c.call("GET", c.projects_path() + "/" + std::to_string(*mid) + "/members").body;
      std::vector<json> rows;
      for (const auto& u : m["user_ids"]) rows.push_back({{"kind", "user"}, {"id", u["user_id"]}, {"manager", u["manager"]}});
      for (const auto& g : m["group_ids"])
        rows.push_back({{"kind", "group"}, {"id", g["group_id"]}, {"manager", g.value("manager", json(nullptr))}});
      print_rows(c.out(), c.format(), {{"kind", "kind"}, {"id", "id", true}, {"manager", "manager"}}, rows);
      return 0;
    };
  });
}

// Flags of members add, set-role and remove. add sends every id given; the
// others name one user or group (the first given).
struct MemberFlags {
  long long project = 0;
  std::vector<long long> users, groups;
  std::optional<long long> role;

  json body(bool add) const {
    json body = json::object();
    if (add) {
      body["user_ids"] = users;
      body["group_ids"] = groups;
    } else {
      if (!users.empty()) body["user_id"] = users.front();
      if (!groups.empty()) body["group_id"] = groups.front();
    }
    if (role) body["role_id"] = *role;
    return body;
  }
};

void add_member_write_commands(CLI::App* members, Action& action) {
  struct MemberSpec {
    const char* name;
    const char* method;
    const char* help;
  };
  for (auto spec : {MemberSpec{"add", "POST", "queue: add users and/or groups with a role"},
                    MemberSpec{"set-role", "PUT", "queue: change one user's or group's role"},
                    MemberSpec{"remove", "DELETE", "queue: remove one user or group"}}) {
    auto* cmd = members->add_subcommand(spec.name, spec.help);
    auto flags = std::make_shared<MemberFlags>();
    cmd->add_option("id", flags->project, "project id")->required();
    cmd->add_option("--user", flags->users, "user id");
    cmd->add_option("--group", flags->groups, "group id");
    if (std::string(spec.name) != "remove") cmd->add_option("--role", flags->role, "role id");
    cmd->callback([&action, spec, flags] {
      action = [spec, flags](Context& c) {
        auto body = flags->body(std::string(spec.name) == "add");
        auto pid = std::to_string(flags->project);
        auto r = c.call(spec.method, c.projects_path() + "/" + pid + "/members", body);
        return report_queued(c, r, std::string("members ") + spec.name + " of project " + pid);
      };
    });
  }
}

}  // namespace

void add_project_commands(CLI::App& app, Action& action) {
  auto* projects = app.add_subcommand("projects", "list, show and edit projects")->require_subcommand(1);
  add_list_command(projects, action);
  add_get_command(projects, action);
  add_tree_command(projects, action);
  add_relative_commands(projects, action);
  add_write_commands(projects, action);
  add_action_commands(projects, action);

  auto* members = app.add_subcommand("members", "a project's members")->require_subcommand(1);
  add_member_list_command(members, action);
  add_member_write_commands(members, action);
}

}  // namespace focus::cli
