#include "cli/context.hpp"

#include "core/time.hpp"

#include <fstream>
#include <iterator>

namespace focus::cli {

using nlohmann::json;

Reply Context::call(const std::string& method, const std::string& target, const json& body) {
  Reply r;
  r.raw = client_.request(method, target, body.is_null() ? std::string() : body.dump());
  r.status = r.raw.status;
  if (!r.raw.body.empty()) r.body = json::parse(r.raw.body, nullptr, false);
  if (r.status >= 400) {
    std::string message = r.body.is_object() && r.body.contains("error") ? r.body["error"].get<std::string>()
                                                                          : "focussyncd answered " + std::to_string(r.status);
    if (r.body.is_object() && r.body.contains("field") && !r.body["field"].get<std::string>().empty() &&
        message.find(r.body["field"].get<std::string>()) == std::string::npos)
      message += " (field '" + r.body["field"].get<std::string>() + "')";
    throw CommandFailed(message);
  }
  return r;
}

std::string Context::workspace_text() {
  if (!workspace_resolved_) {
    std::string ws = workspace_.value_or("");
    if (ws.empty()) {
      auto status = call("GET", "/v1/status").body;
      if (status["workspaces"].empty()) throw CommandFailed("focussyncd mirrors no workspace");
      ws = std::to_string(status["workspaces"][0]["organization_id"].get<long long>()) + "/" +
           std::to_string(status["workspaces"][0]["workspace_id"].get<long long>());
    }
    // --workspace was checked as it was read (main.cpp); the status's are ids.
    workspace_resolved_ = ws;
  }
  return *workspace_resolved_;
}

std::string Context::projects_path() {
  const std::string ws = workspace_text();
  const auto slash = ws.find('/');
  return "/api/organizations/" + ws.substr(0, slash) + "/workspaces/" + ws.substr(slash + 1) + "/projects";
}

json Context::workspace_status() {
  const std::string ws = workspace_text();
  auto status = call("GET", "/v1/status").body;
  for (const auto& w : status["workspaces"])
    if (std::to_string(w["organization_id"].get<long long>()) + "/" + std::to_string(w["workspace_id"].get<long long>()) ==
        ws)
      return w;
  throw CommandFailed("focussyncd does not mirror workspace " + ws);
}

std::vector<json> Context::list_all(const std::string& query, std::int64_t limit) {
  std::vector<json> out;
  const std::string sep = query.empty() ? "?" : "&";
  for (std::int64_t page = 1;; ++page) {
    auto r = call("GET", projects_path() + query + sep + "per_page=200&page=" + std::to_string(page)).body;
    for (auto& p : r["data"]) {
      if (limit >= 0 && static_cast<std::int64_t>(out.size()) >= limit) return out;
      out.push_back(p);
    }
    if (r["data"].size() < 200) return out;
  }
}

std::string age_text(const std::string& text) {
  auto t = parse_rfc3339(text);
  if (!t) return text;
  auto s = std::chrono::duration_cast<std::chrono::seconds>(now_utc() - *t).count();
  if (s < 120) return std::to_string(s) + "s ago";
  if (s < 7200) return std::to_string(s / 60) + "m ago";
  if (s < 172800) return std::to_string(s / 3600) + "h ago";
  return std::to_string(s / 86400) + "d ago";
}

json read_json_file(const std::string& path) {
  std::string text;
  if (path == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin), {});
  } else {
    std::ifstream in(path);
    if (!in) throw CommandFailed("cannot read '" + path + "'");
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  auto j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw CommandFailed("'" + path + "' does not hold a JSON object");
  return j;
}

}  // namespace focus::cli
