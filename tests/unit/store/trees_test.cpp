// Parent trees in the store, on a real SQLite file: an edit that would make a
// parent cycle (over the mirror, the overlay and temporary ids) is refused
// with nothing queued; long acyclic chains are accepted up to the bound; tree
// reads over data that already holds a cycle (as a server can send) end, with
// the right rows, and the cycle is reported once.
#include "store/database.hpp"
#include "store/edit_queue.hpp"
#include "store/mirror.hpp"
#include "store/project_reads.hpp"
#include "support/sim_process.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <filesystem>

using namespace focus;
using namespace focus::store;
using model::EditOp;
using nlohmann::json;

namespace {

const WorkspaceKey kWs{1, 1};

using test::TempDir;

model::Project project(Id id, std::optional<Id> parent, std::string name = "") {
  model::Project p;
  p.id = id;
  p.workspace_id = kWs.workspace_id;
  p.name = name.empty() ? "project " + std::to_string(id) : std::move(name);
  p.parent_project_id = parent;
  p.created_at = p.updated_at = now_utc();
  return p;
}

struct Store {
  TempDir dir;
  Database db{dir.path + "/cache.db"};
  Mirror mirror{db};
  EditQueue queue{db, mirror};
  ProjectReads reads{db};

  // As a listing brings them: what the server holds, cycles included.
  void load(const std::vector<model::Project>& projects) {
    std::vector<FetchedProject> page;
    for (const auto& p : projects) page.push_back(fetched(p));
    mirror.clear_staging(kWs);
    mirror.stage(kWs, page);
    mirror.reconcile(kWs, now_utc());
  }
  void put(Id id, std::optional<Id> parent, std::string name = "") {
    mirror.upsert_one(kWs, fetched(project(id, parent, std::move(name))), now_utc());
  }
  Submitted patch(Id id, json body) { return queue.submit(kWs, EditOp::patch, id, body, now_utc()); }
  std::int64_t queued() { return db.sql().execAndGet("SELECT count(*) FROM edits").getInt64(); }
  std::int64_t overlays() { return db.sql().execAndGet("SELECT count(*) FROM overlay").getInt64(); }
};

// The edit is refused as the Focus API would: 400, naming parent_project_id.
void check_cycle_refused(Store& s, EditOp op, Id id, const json& body, const std::string& says = "parent cycle") {
  auto edits_before = s.queued();
  auto overlays_before = s.overlays();
  try {
    s.queue.submit(kWs, op, id, body, now_utc());
    FAIL("accepted: ", body.dump());
  } catch (const EditRejected& e) {
    CHECK(e.status() == 400);
    CHECK(e.field() == "parent_project_id");
    CHECK_MESSAGE(std::string(e.what()).find(says) != std::string::npos, e.what());
  }
  CHECK(s.queued() == edits_before);
  CHECK(s.overlays() == overlays_before);
}

std::vector<Id> ids(const std::optional<std::vector<std::string>>& bodies) {
  REQUIRE(bodies);
  std::vector<Id> out;
  for (const auto& b : *bodies) out.push_back(json::parse(b)["id"].get<Id>());
  return out;
}

model::Paging page(std::int64_t n, std::int64_t per_page, std::vector<model::OrderKey> order = {}) {
  model::Paging p;
  p.page = n;
  p.per_page = per_page;
  p.order = std::move(order);
  return p;
}

// A ringbuffer on the default logger, for counting warnings.
struct CapturedLog {
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(1000);
  std::shared_ptr<spdlog::logger> previous = spdlog::default_logger();
  CapturedLog() { spdlog::set_default_logger(std::make_shared<spdlog::logger>("captured", sink)); }
  ~CapturedLog() { spdlog::set_default_logger(previous); }
  int count(const std::string& text) {
    int n = 0;
    for (const auto& line : sink->last_formatted())
      if (line.find(text) != std::string::npos) ++n;
    return n;
  }
};

}  // namespace

TEST_CASE("a patch closing a cycle in the mirror is refused, and nothing is queued") {
  Store s;
  s.put(1000, std::nullopt);
  s.put(1001, 1000);
  check_cycle_refused(s, EditOp::patch, 1000, {{"parent_project_id", 1001}}, "(1000 -> 1001 -> 1000)");
  CHECK(s.queue.counts().pending == 0);
  CHECK(ids(s.reads.parents(kWs, 1001, page(1, 50))) == std::vector<Id>{1001, 1000});
}

TEST_CASE("the two offline patches of issue 14: the second one is refused") {
  Store s;
  s.put(1000, std::nullopt);
  s.put(1001, std::nullopt);
  s.patch(1000, {{"parent_project_id", 1001}});
  check_cycle_refused(s, EditOp::patch, 1001, {{"parent_project_id", 1000}});
  CHECK(s.queued() == 1);
  CHECK(ids(s.reads.children(kWs, 1001, page(1, 50))) == std::vector<Id>{1001, 1000});
  CHECK(s.reads.tree_problems(kWs).empty());
}

TEST_CASE("a project cannot be its own parent, by patch, by PUT, or through its temporary id") {
  Store s;
  s.put(1000, std::nullopt);
  check_cycle_refused(s, EditOp::patch, 1000, {{"parent_project_id", 1000}}, "its own parent");
  check_cycle_refused(s, EditOp::update, 1000, {{"name", "x"}, {"parent_project_id", 1000}}, "its own parent");
  auto made = s.queue.submit(kWs, EditOp::create, 0, {{"name", "offline"}}, now_utc());
  Id temporary = made.edit.project_id;
  REQUIRE(temporary < 0);
  check_cycle_refused(s, EditOp::patch, temporary, {{"parent_project_id", temporary}}, "its own parent");
  CHECK(s.queued() == 1);
}

TEST_CASE("a three-project cycle is refused, whichever link closes it") {
  Store s;
  s.put(1000, std::nullopt);
  s.put(1001, 1000);
  s.put(1002, 1001);
  check_cycle_refused(s, EditOp::patch, 1000, {{"parent_project_id", 1002}}, "(1000 -> 1002 -> 1001 -> 1000)");
  check_cycle_refused(s, EditOp::update, 1000, {{"name", "top"}, {"parent_project_id", 1002}});
  // Moving the middle one elsewhere and then closing it the other way is
  // judged on what reads show after the first edit.
  s.put(1003, std::nullopt);
  s.patch(1001, {{"parent_project_id", 1003}});
  s.patch(1000, {{"parent_project_id", 1002}});  // 1000 -> 1002 -> 1001 -> 1003: no cycle now
  check_cycle_refused(s, EditOp::patch, 1003, {{"parent_project_id", 1000}});
  CHECK(s.queued() == 2);
}

TEST_CASE("cycles through temporary ids of offline creates are refused") {
  Store s;
  s.put(1000, std::nullopt);
  auto a = s.queue.submit(kWs, EditOp::create, 0, {{"name", "a"}}, now_utc()).edit.project_id;
  auto b = s.queue.submit(kWs, EditOp::create, 0, {{"name", "b"}, {"parent_project_id", a}}, now_utc()).edit.project_id;
  auto c = s.queue.submit(kWs, EditOp::create, 0, {{"name", "c"}, {"parent_project_id", b}}, now_utc()).edit.project_id;
  check_cycle_refused(s, EditOp::patch, a, {{"parent_project_id", c}});
  // Through a mirror project: 1000 under c, then a under 1000.
  s.patch(1000, {{"parent_project_id", c}});
  check_cycle_refused(s, EditOp::patch, a, {{"parent_project_id", 1000}});
  check_cycle_refused(s, EditOp::update, a, {{"name", "a"}, {"parent_project_id", 1000}});
  CHECK(s.queued() == 4);
  CHECK(ids(s.reads.parents(kWs, 1000, page(1, 50))) == std::vector<Id>{1000, c, b, a});
  CHECK(ids(s.reads.children(kWs, a, page(1, 50))) == std::vector<Id>{a, b, c, 1000});
}

TEST_CASE("a deleted project still counts: restoring it must not bring a cycle back") {
  Store s;
  s.put(1000, std::nullopt);
  s.put(1001, 1000);
  s.queue.submit(kWs, EditOp::remove, 1001, nullptr, now_utc());
  check_cycle_refused(s, EditOp::patch, 1000, {{"parent_project_id", 1001}});
}

TEST_CASE("a long acyclic chain is accepted up to the bound, and one level more is refused") {
  Store s;
  const Id n = static_cast<Id>(ProjectReads::kMaxTreeDepth);
  std::vector<model::Project> chain;
  for (Id i = 1; i <= n; ++i) chain.push_back(project(i, i == 1 ? std::nullopt : std::optional<Id>(i - 1)));
  chain.push_back(project(20000, std::nullopt));
  chain.push_back(project(20001, std::nullopt));
  s.load(chain);
  auto started = std::chrono::steady_clock::now();
  s.patch(20000, {{"parent_project_id", n}});  // n projects above it: the most allowed
  check_cycle_refused(s, EditOp::patch, 20001, {{"parent_project_id", 20000}}, "would put more than 10000 projects above");
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(5));
  CHECK(s.queued() == 1);
  // Every ancestor comes back, page by page.
  auto first = ids(s.reads.parents(kWs, 20000, page(1, 200)));
  CHECK(first.size() == 200);
  CHECK(first[0] == 20000);
  CHECK(first[1] == n);
  CHECK(ids(s.reads.parents(kWs, 20000, page(51, 200))) == std::vector<Id>{1});
  CHECK(ids(s.reads.parents(kWs, 20000, page(52, 200))).empty());
}

TEST_CASE("tree reads over a cycle the server sent end, with each project once, and report it once") {
  Store s;
  CapturedLog log;
  s.load({project(1000, 1001), project(1001, 1000), project(1002, 1001), project(1003, std::nullopt)});
  CHECK(ids(s.reads.children(kWs, 1000, page(1, 50))) == std::vector<Id>{1000, 1001, 1002});
  CHECK(ids(s.reads.children(kWs, 1001, page(1, 50))) == std::vector<Id>{1001, 1000, 1002});
  CHECK(ids(s.reads.parents(kWs, 1000, page(1, 50))) == std::vector<Id>{1000, 1001});
  CHECK(ids(s.reads.parents(kWs, 1002, page(1, 50))) == std::vector<Id>{1002, 1001, 1000});
  CHECK(ids(s.reads.children(kWs, 1003, page(1, 50))) == std::vector<Id>{1003});
  // Ordered and paged over the cycle: the project first, the rest sorted.
  std::vector<model::OrderKey> by_id_desc{{model::OrderKey::Field::id, true}};
  CHECK(ids(s.reads.children(kWs, 1000, page(1, 2, by_id_desc))) == std::vector<Id>{1000, 1002});
  CHECK(ids(s.reads.children(kWs, 1000, page(2, 2, by_id_desc))) == std::vector<Id>{1001});
  CHECK(ids(s.reads.children(kWs, 1000, page(INT64_MAX, 200, by_id_desc))).empty());
  CHECK(ids(s.reads.children(kWs, 1000, page(INT64_MAX, 200))).empty());
  for (int i = 0; i < 5; ++i) s.reads.children(kWs, 1000, page(1, 50));
  CHECK(s.reads.tree_problems(kWs) == std::vector<std::string>{"parent cycle through projects 1000, 1001"});
  CHECK(s.reads.tree_problems(kWs) == std::vector<std::string>{"parent cycle through projects 1000, 1001"});
  CHECK(log.count("workspace 1/1: parent cycle through projects 1000, 1001") == 1);
  // An edit under the cycle makes no new cycle: it is accepted.
  s.patch(1003, {{"parent_project_id", 1000}});
  CHECK(ids(s.reads.children(kWs, 1001, page(1, 50))) == std::vector<Id>{1001, 1000, 1002, 1003});
  // An edit through the cycle's members back to them is still refused.
  check_cycle_refused(s, EditOp::patch, 1001, {{"parent_project_id", 1003}});
  // The server mends it: the problem goes away; made again, it is logged again.
  s.load({project(1000, std::nullopt), project(1001, 1000), project(1002, 1001), project(1003, std::nullopt)});
  s.queue.rebuild_overlays(kWs);
  CHECK(s.reads.tree_problems(kWs).empty());
  s.load({project(1000, 1001), project(1001, 1000), project(1002, 1001), project(1003, std::nullopt)});
  CHECK(s.reads.tree_problems(kWs).size() == 1);
  CHECK(log.count("parent cycle through projects 1000, 1001") == 2);
}

TEST_CASE("a cycle made by another user's change meeting a queued edit is read safely and named") {
  Store s;
  s.put(1000, std::nullopt);
  s.put(1001, std::nullopt);
  s.put(1002, 1001);
  s.patch(1000, {{"parent_project_id", 1002}});  // accepted: no cycle yet
  s.put(1001, 1000);                              // the server's change: 1000 -> 1002 -> 1001 -> 1000
  s.queue.rebuild_overlays(kWs);
  CHECK(ids(s.reads.children(kWs, 1000, page(1, 50))) == std::vector<Id>{1000, 1001, 1002});
  CHECK(ids(s.reads.parents(kWs, 1000, page(1, 50))) == std::vector<Id>{1000, 1002, 1001});
  CHECK(s.reads.tree_problems(kWs) == std::vector<std::string>{"parent cycle through projects 1000, 1002, 1001"});
}

TEST_CASE("tree reads stop at the depth bound on a server chain deeper than it") {
  Store s;
  CapturedLog log;
  const Id n = static_cast<Id>(ProjectReads::kMaxTreeDepth) + 50;
  std::vector<model::Project> chain;
  for (Id i = 1; i <= n; ++i) chain.push_back(project(i, i == 1 ? std::nullopt : std::optional<Id>(i - 1)));
  s.load(chain);
  auto started = std::chrono::steady_clock::now();
  auto all = page(1, 200);
  // Children: levels 0 .. bound-1; parents: the project and bound ancestors.
  CHECK(ids(s.reads.children(kWs, 1, page(50, 200))).size() == 200);
  CHECK(ids(s.reads.children(kWs, 1, page(51, 200))) == std::vector<Id>{n - 49});
  CHECK(ids(s.reads.children(kWs, 1, page(52, 200))).empty());
  CHECK(ids(s.reads.parents(kWs, n, page(51, 200))) == std::vector<Id>{n - static_cast<Id>(ProjectReads::kMaxTreeDepth)});
  CHECK(ids(s.reads.parents(kWs, n, all)).size() == 200);
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(10));
  CHECK(log.count("the children of project 1 stop at 10001 projects") == 1);
  CHECK(log.count("the parents of project " + std::to_string(n) + " stop at 10001 projects") == 1);
  CHECK(s.reads.tree_problems(kWs).empty());
}

TEST_CASE("ordered tree pages are the project first, then the rest as list() sorts it") {
  Store s;
  s.load({project(1000, std::nullopt, "root"), project(1001, 1000, "delta"), project(1002, 1000, "Alpha"),
          project(1003, 1001, "charlie"), project(1004, 1002, "bravo"), project(1005, 1003, "alpha")});
  std::vector<model::OrderKey> by_name{{model::OrderKey::Field::name, false}};
  std::vector<Id> paged;
  for (int p = 1; p <= 4; ++p)
    for (Id id : ids(s.reads.children(kWs, 1000, page(p, 2, by_name)))) paged.push_back(id);
  CHECK(paged == std::vector<Id>{1000, 1002, 1005, 1004, 1003, 1001});
  CHECK(ids(s.reads.children(kWs, 1000, page(1, 50))) == std::vector<Id>{1000, 1001, 1002, 1003, 1004, 1005});
  std::vector<model::OrderKey> by_name_desc{{model::OrderKey::Field::name, true}};
  CHECK(ids(s.reads.parents(kWs, 1005, page(1, 1, by_name_desc))) == std::vector<Id>{1005});
  CHECK(ids(s.reads.parents(kWs, 1005, page(2, 2, by_name_desc))) == std::vector<Id>{1001, 1003});
  CHECK(!s.reads.children(kWs, 4242, page(1, 50)));
  CHECK(!s.reads.parents(kWs, 4242, page(1, 50)));
}
