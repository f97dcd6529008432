// /v1/sql and /v1/sql/schema: read-only SQL over the documented views
// (docs/sql.md), run on the SQL thread (sql_service.hpp). Refusals
// (store::SqlRefused) reach handle(), the one error boundary, as 400 or 413.
#include "local_api/local_api.hpp"

#include "http/target.hpp"
#include "local_api/responses.hpp"
#include "local_api/sql_service.hpp"
#include "model/json_limits.hpp"

#include <nlohmann/json.hpp>

namespace focus::local_api {

namespace asio = boost::asio;
using nlohmann::json;
using detail::json_answer;

namespace {

struct SqlAsk {
  std::string query;
  json params;  // null or an array
};

// GET: ?q=SQL, and each ?param=V binds ?1, ?2, ... (a number as a number).
SqlAsk from_target(const http::Target& t) {
  auto* q = t.last("q");
  if (!q) throw store::SqlRefused(400, "say the query: /v1/sql?q=SELECT... (or POST it)");
  SqlAsk ask{q->value, nullptr};
  for (const auto* p : t.all("param")) {
    if (ask.params.is_null()) ask.params = json::array();
    ask.params.push_back(store::sql_param_from_text(p->value));
  }
  return ask;
}

// POST: the body is the query, or {"q": "SQL", "params": [...]}.
SqlAsk from_body(const std::string& body) {
  const auto first = body.find_first_not_of(" \t\r\n");
  if (first == std::string::npos || body[first] != '{') return {body, nullptr};
  const json j = model::parse_body(body);  // a parse error is a 400 at the boundary
  if (!j.contains("q") || !j["q"].is_string()) throw store::SqlRefused(400, "the body's \"q\" must be the query, a string");
  SqlAsk ask{j["q"].get<std::string>(), j.value("params", json())};
  if (!ask.params.is_null() && !ask.params.is_array()) throw store::SqlRefused(400, "\"params\" must be an array");
  return ask;
}

}  // namespace

SqlService& LocalApi::sql_service() {
  if (!sql_) sql_ = std::make_unique<SqlService>(config_.cache_path, store::SqlLimits{config_.sql.timeout, config_.sql.max_rows});
  return *sql_;
}

asio::awaitable<http::Answer> LocalApi::sql_query(const http::Request& request, const http::Target& target) {
  SqlAsk ask = request.method == "POST" ? from_body(request.body) : from_target(target);
  auto answer = co_await sql_service().run(std::move(ask.query), std::move(ask.params));
  co_return json_answer(200, {{"columns", answer.columns}, {"rows", std::move(answer.rows)}, {"truncated", answer.truncated}});
}

http::Response LocalApi::sql_schema() {
  json views = json::array();
  for (const auto& v : store::sql_views()) {
    json columns = json::array();
    for (const auto& c : v.columns) columns.push_back({{"name", c.name}, {"type", c.type}, {"meaning", c.meaning}});
    views.push_back({{"name", v.name}, {"meaning", v.meaning}, {"columns", std::move(columns)}});
  }
  return json_answer(200, {{"version", store::kSqlViewsVersion},
                           {"limits", {{"timeout_ms", config_.sql.timeout.count()}, {"max_rows", config_.sql.max_rows},
                                       {"max_answer_bytes", store::SqlLimits{}.max_answer_bytes}}},
                           {"views", std::move(views)}});
}

}  // namespace focus::local_api
