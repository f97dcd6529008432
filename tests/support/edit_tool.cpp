// focus-test-edits: queues edits into a cache while focussyncd is stopped,
// through the real EditQueue, for the daemon's process tests (the socket
// that local tools use arrives with lib/local_api).
//   focus-test-edits CACHE submit   JSON lines on stdin, one result line each
//   focus-test-edits CACHE list     every edit, as a JSON array
//   focus-test-edits CACHE check    PRAGMA integrity_check's answer
// A submit line: {"op", "organization_id", "workspace_id", "project_id" or
// "project_ref", "body", "parent_ref"}; a *_ref is the 1-based number of an
// earlier line, standing for the project id that line answered.
#include "core/logging.hpp"
#include "store/database.hpp"
#include "store/edit_queue.hpp"
#include "store/mirror.hpp"

#include <nlohmann/json.hpp>

#include <iostream>
#include <string>
#include <vector>

using namespace focus;
using nlohmann::json;

namespace {

int submit(store::EditQueue& queue) {
  std::vector<model::Id> answered;
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line.empty()) continue;
    json in = json::parse(line);
    auto ref = [&](const char* key) { return answered.at(in[key].get<std::size_t>() - 1); };
    store::WorkspaceKey ws{in.value("organization_id", 1), in.value("workspace_id", 1)};
    model::Id id = in.contains("project_ref") ? ref("project_ref") : in.value("project_id", model::Id{0});
    json body = in.value("body", json());
    if (in.contains("parent_ref")) body["parent_project_id"] = ref("parent_ref");
    auto op = from_text<model::EditOp>(in["op"].get<std::string>()).value();
    try {
      auto s = queue.submit(ws, op, id, body, now_utc());
      answered.push_back(s.edit.project_id);
      std::cout << json{{"edit", s.edit.id}, {"project_id", s.edit.project_id}}.dump() << std::endl;
    } catch (const store::EditRejected& e) {
      answered.push_back(0);
      std::cout << json{{"error", e.what()}, {"status", e.status()}, {"field", e.field()}}.dump() << std::endl;
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: focus-test-edits CACHE submit|list|check\n";
    return 2;
  }
  try {
    init_stderr_logging("warn", "focus-test-edits");  // stdout carries the answers
    store::Database db(argv[1]);
    store::Mirror mirror(db);
    store::EditQueue queue(db, mirror);
    std::string what = argv[2];
    if (what == "submit") return submit(queue);
    if (what == "list") {
      json all = json::array();
      for (const auto& e : queue.list({}, 1'000'000)) all.push_back(e.to_json());
      std::cout << all.dump() << std::endl;
      return 0;
    }
    if (what == "check") {
      std::cout << db.sql().execAndGet("PRAGMA integrity_check").getString() << std::endl;
      return 0;
    }
    std::cerr << "focus-test-edits: unknown command '" << what << "'\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "focus-test-edits: " << e.what() << "\n";
    return 1;
  }
}
