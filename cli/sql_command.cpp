// focusctl sql: read-only SQL over focussyncd's documented views (docs/sql.md).
#include "cli/commands.hpp"

#include "store/sql_reader.hpp"

namespace focus::cli {

using nlohmann::json;

namespace {

// The answer's rows as objects keyed by column; a repeated column name gets
// ":2", ":3" ... so that no cell hides another.
std::vector<Column> answer_columns(const json& names) {
  std::vector<Column> columns;
  std::map<std::string, int> seen;
  for (const auto& n : names) {
    std::string key = n.get<std::string>();
    if (int count = ++seen[key]; count > 1) key += ":" + std::to_string(count);
    columns.push_back({key, key});
  }
  return columns;
}

int run_query(Context& ctx, const std::string& query, const std::vector<std::string>& params) {
  json body = {{"q", query}, {"params", json::array()}};
  for (const auto& p : params) body["params"].push_back(store::sql_param_from_text(p));
  const json answer = ctx.call("POST", "/v1/sql", body).body;
  auto columns = answer_columns(answer["columns"]);
  std::vector<json> rows;
  for (const auto& cells : answer["rows"]) {
    json row = json::object();
    for (std::size_t i = 0; i < columns.size(); ++i) {
      // A table and CSV print what the query gave, not the two decimals
      // focusctl's own figures are shown with: 3.14159 stays 3.14159.
      const bool as_text = cells[i].is_number_float() && (ctx.format() == Format::table || ctx.format() == Format::csv);
      row[columns[i].key] = as_text ? json(cells[i].dump()) : cells[i];
      if (cells[i].is_number()) columns[i].number = true;
    }
    rows.push_back(std::move(row));
  }
  print_rows(ctx.out(), ctx.format(), columns, rows);
  if (answer.value("truncated", false))
    ctx.err() << "focusctl: the answer was cut at " << rows.size() << " rows ([sql] max_rows)\n";
  return 0;
}

// focusctl sql --schema: a row per column of each view.
int run_schema(Context& ctx) {
  const json schema = ctx.call("GET", "/v1/sql/schema").body;
  std::vector<json> rows;
  for (const auto& v : schema["views"])
    for (const auto& c : v["columns"])
      rows.push_back({{"view", v["name"]}, {"column", c["name"]}, {"type", c["type"]}, {"meaning", c["meaning"]}});
  print_rows(ctx.out(), ctx.format(), {{"view", "view"}, {"column", "column"}, {"type", "type"}, {"meaning", "meaning"}},
             rows);
  return 0;
}

}  // namespace

void add_sql_command(CLI::App& app, Action& action) {
  auto* sql = app.add_subcommand("sql", "read-only SQL over the documented views (docs/sql.md)");
  auto query = std::make_shared<std::string>();
  auto params = std::make_shared<std::vector<std::string>>();
  auto schema = std::make_shared<bool>(false);
  auto* query_option = sql->add_option("query", *query, "one SELECT over projects, project_tags, members, changes, edits");
  auto* param_option = sql->add_option("--param", *params, "binds ?1, ?2 ... in order (a number as a number, else text)");
  sql->add_flag("--schema", *schema, "instead: the views and their columns")->excludes(query_option)->excludes(param_option);
  sql->callback([&action, query, params, schema] {
    if (*schema) {
      action = [](Context& c) { return run_schema(c); };
      return;
    }
    if (query->empty()) throw CLI::ValidationError("query", "say the query (or --schema)");
    action = [query, params](Context& c) { return run_query(c, *query, *params); };
  });
}

}  // namespace focus::cli
