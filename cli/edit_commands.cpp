// focusctl edits ...
#include "cli/commands.hpp"

#include "model/edit.hpp"

#include <limits>

namespace focus::cli {

using nlohmann::json;

namespace {

const std::vector<Column>& edit_columns() {
  static const std::vector<Column> cols = {{"id", "id", true},         {"state", "state"},       {"op", "op"},
                                           {"project_id", "project", true}, {"attempts", "tries", true},
                                           {"created_at", "made"},      {"last_error", "last error"}, {"note", "note"}};
  return cols;
}

std::string value_text(const json& v) { return v.is_null() ? "null" : v.dump(); }

std::optional<model::EditOp> op_of(const json& edit) {
  const auto& op = edit["op"];
  return op.is_string() ? from_text<model::EditOp>(op.get<std::string>()) : std::nullopt;
}

std::vector<std::string> state_texts() {
  std::vector<std::string> out;
  for (const auto& [state, text] : all_texts<model::EditState>()) out.emplace_back(text);
  return out;
}

// Field by field: what the edit saw, what the server has now, what the edit sets.
void print_diff(Context& ctx, const json& e) {
  json wanted = e["body"];
  if (auto op = op_of(e); op == model::EditOp::update || op == model::EditOp::create) {
    json full = json::object();
    for (const char* k : {"name", "auto_compute_estimates", "billable", "pinned", "private", "client_id", "parent_project_id",
                          "color", "description", "start_date", "end_date", "estimated_mins", "fixed_fee", "tag_ids"})
      full[k] = wanted.contains(k) ? wanted[k] : json(nullptr);
    wanted = full;
  }
  if (!wanted.is_object()) return;
  std::vector<json> rows;
  for (const auto& [field, local] : wanted.items()) {
    json base = e["base"].is_object() && e["base"].contains(field) ? e["base"][field] : json(nullptr);
    json server = e["server"].is_object() && e["server"].contains(field) ? e["server"][field] : json(nullptr);
    bool conflict = server != base && server != local;
    rows.push_back({{"field", field}, {"base", value_text(base)}, {"server", value_text(server)},
                    {"local", value_text(local)}, {"conflict", conflict}});
  }
  ctx.out() << "\n";
  print_rows(ctx.out(), ctx.format(), {{"field", "field"}, {"base", "when edited"}, {"server", "server now"},
                                       {"local", "this edit"}, {"conflict", "conflict"}}, rows);
}

// One function per subcommand; the flags each binds live in shared_ptrs (or
// a struct in one) the callbacks capture, so they outlive the parse as CLI11
// needs. add_edit_commands calls them in the order `--help` lists them.

void add_list_command(CLI::App* edits, Action& action) {
  auto* list = edits->add_subcommand("list", "edits, oldest first");
  auto states = std::make_shared<std::vector<std::string>>();
  list->add_option("--state", *states, joined_texts<model::EditState>() + " (repeatable)")
      ->check(CLI::IsMember(state_texts()));
  list->callback([&action, states] {
    action = [states](Context& c) {
      std::string q = "?limit=1000";
      for (std::size_t i = 0; i < states->size(); ++i) q += (i == 0 ? "&state=" : ",") + (*states)[i];
      // The socket answers a page at a time (by id, and at most a few MB).
      std::vector<json> rows;
      long long after = 0;
      for (;;) {
        auto r = c.call("GET", "/v1/edits" + q + "&after=" + std::to_string(after)).body;
        for (auto& e : r["edits"]) rows.push_back(std::move(e));
        if (!r.contains("next_after") || !r["next_after"].is_number_integer()) break;
        after = r["next_after"].get<long long>();
      }
      print_rows(c.out(), c.format(), edit_columns(), rows);
      return 0;
    };
  });
}

void add_show_command(CLI::App* edits, Action& action) {
  auto id = std::make_shared<long long>(0);
  auto* show = edits->add_subcommand("show", "one edit; for a conflict, field by field");
  show->add_option("id", *id, "edit id")->required();
  show->callback([&action, id] {
    action = [id](Context& c) {
      auto e = c.call("GET", "/v1/edits/" + std::to_string(*id)).body;
      if (c.format() != Format::table) {
        print_object(c.out(), c.format(), e);
        return 0;
      }
      json shown = e;
      for (const char* k : {"base", "server", "body"}) shown.erase(k);
      shown["body"] = e["body"].dump();
      print_object(c.out(), c.format(), shown);
      if (auto op = op_of(e); op == model::EditOp::patch || op == model::EditOp::update) print_diff(c, e);
      return 0;
    };
  });
}

// retry, discard: an edit id and no flags.
void add_retry_discard_commands(CLI::App* edits, Action& action) {
  for (const char* verb : {"retry", "discard"}) {
    auto* cmd = edits->add_subcommand(verb, std::string(verb) == "retry" ? "send a failed or waiting edit again"
                                                                        : "drop an edit and its local effect");
    auto eid = std::make_shared<long long>(0);
    cmd->add_option("id", *eid, "edit id")->required();
    std::string v = verb;
    cmd->callback([&action, eid, v] {
      action = [eid, v](Context& c) {
        if (v == "retry") c.call("POST", "/v1/edits/" + std::to_string(*eid) + "/retry");
        else c.call("DELETE", "/v1/edits/" + std::to_string(*eid));
        c.out() << "edit " << *eid << (v == "retry" ? " will be sent again\n" : " discarded\n");
        return 0;
      };
    });
  }
}

// The flags of `edits resolve`: exactly one of the four ways may be given
// (CLI11 enforces that with excludes; how() still checks one was).
struct ResolveFlags {
  long long id = 0;
  std::string take, body_file;
  long long created_as = 0;
  bool send_again = false;

  void add_to(CLI::App* resolve) {
    resolve->add_option("id", id, "edit id")->required();
    auto* take_opt = resolve->add_option("--take", take, "local (send the edit) or remote (keep the server's values)")
                         ->check(CLI::IsMember({"local", "remote"}));
    auto* json_opt = resolve->add_option("--json", body_file, "a new body for the edit, from a file or - for stdin");
    auto* created_opt = resolve->add_option("--created-as", created_as,
                                            "the create made this project (one of the candidates `edits show` lists)")
                            ->check(CLI::Range(1LL, std::numeric_limits<long long>::max()));
    auto* again_opt = resolve->add_flag("--send-again", send_again, "none of the candidates is it: send the edit again");
    take_opt->excludes(json_opt)->excludes(created_opt)->excludes(again_opt);
    json_opt->excludes(created_opt)->excludes(again_opt);
    created_opt->excludes(again_opt);
  }

  // The body of POST /v1/edits/ID/resolve. Throws CommandFailed when no way is given.
  json how() const {
    if (!body_file.empty()) return {{"body", read_json_file(body_file)}};
    if (!take.empty()) return {{"take", take}};
    if (created_as > 0) return {{"created_as", created_as}};
    if (send_again) return {{"send_again", true}};
    throw UsageError("resolve needs --take local|remote, --json FILE, --created-as ID or --send-again");
  }
};

void add_resolve_command(CLI::App* edits, Action& action) {
  auto* resolve = edits->add_subcommand(
      "resolve", "settle a conflict (--take, --json), or a create whose outcome is unknown (--created-as, --send-again)");
  auto flags = std::make_shared<ResolveFlags>();
  flags->add_to(resolve);
  resolve->callback([&action, flags] {
    action = [flags](Context& c) {
      auto e = c.call("POST", "/v1/edits/" + std::to_string(flags->id) + "/resolve", flags->how()).body;
      c.out() << "edit " << flags->id << " resolved; it is " << e["state"].get<std::string>();
      if (e.contains("result_id") && e["result_id"].is_number_integer()) c.out() << " (project " << e["result_id"].dump() << ")";
      c.out() << "\n";
      return 0;
    };
  });
}

}  // namespace

void add_edit_commands(CLI::App& app, Action& action) {
  auto* edits = app.add_subcommand("edits", "the queue of local edits")->require_subcommand(1);
  add_list_command(edits, action);
  add_show_command(edits, action);
  add_retry_discard_commands(edits, action);
  add_resolve_command(edits, action);
}

}  // namespace focus::cli
