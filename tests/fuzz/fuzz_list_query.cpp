// Fuzzes the list query as both servers read it: any query string is either
// a ListQuery or a QueryError (a 400), and a parsed query gives over the
// local socket exactly what focus-sim's in-memory semantics give. This is a
// differential test: ProjectReads answers it in SQL over a real SQLite cache
// (mirror rows plus pending edits in the overlay), and the answer is compared
// with model::matches / ordered_before applied to the same projects, as
// focus-sim pages them: same ids, same order, same total. The same bytes
// read as a path hold parse_target's plain-path reading to the URL grammar's.
#include "http/target.hpp"
#include "model/decode_error.hpp"
#include "model/project_codec.hpp"
#include "store/database.hpp"
#include "store/edit_queue.hpp"
#include "store/mirror.hpp"
#include "store/project_reads.hpp"
#include "upstream/list_query.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string_view>
#include <unistd.h>

using namespace focus;
using nlohmann::json;

namespace {

const store::WorkspaceKey kWs{1, 1};

[[noreturn]] void broken(const char* what, const std::string& detail) {
  std::fprintf(stderr, "property broken: %s\n%s\n", what, detail.c_str());
  std::abort();
}

// Projects whose fields tie, differ in case, lack dates or creation times,
// so that every filter and every order key has edges to get wrong.
json project_json(int i) {
  static const char* names[] = {"Alpha", "alpha", "ALPHA beta", "Beta", "beta gamma", "Gamma", "",
                                "zeta", "Zeta", "a%b", "a_b", "100%", "O'Brien", "\xc3\x84rger",
                                "\xc3\xa4rger", "mixed Case", "MIXED case", "tail ", " lead", "x"};
  json p = {{"id", 100 + i * 7},
            {"workspace_id", 1},
            {"name", names[i % 20]},
            {"active", i % 5 != 0},
            {"billable", i % 2 == 0},
            {"pinned", i % 3 == 0},
            {"private", i % 4 == 1},
            {"client_id", i % 6 == 0 ? json(nullptr) : json(i % 3 + 1)},
            {"toggl_user_id", i % 5 == 4 ? json(nullptr) : json(10 + i % 4)},
            {"tag_ids", i % 3 == 1 ? json::array() : json::array({i % 4 + 1, (i + 2) % 5 + 1})},
            {"total_tracked_time", i}};
  if (i % 5 == 0) p["archived_at"] = "2026-03-0" + std::to_string(i % 9 + 1) + "T00:00:00Z";
  if (i % 7 != 3) p["created_at"] = "2026-01-" + std::to_string(10 + i % 4) + "T08:00:00Z";
  if (i % 6 != 2) p["updated_at"] = "2026-02-" + std::to_string(10 + i % 3) + "T08:00:00.25" + std::to_string(i % 2) + "Z";
  if (i % 4 != 0) p["start_date"] = "2026-0" + std::to_string(i % 6 + 1) + "-15";
  if (i % 3 != 0) p["end_date"] = "2026-0" + std::to_string(i % 5 + 4) + "-01";
  return p;
}

struct World {
  std::string dir;
  std::unique_ptr<store::Database> db;
  std::unique_ptr<store::Mirror> mirror;
  std::unique_ptr<store::EditQueue> queue;
  std::unique_ptr<store::ProjectReads> reads;
  std::vector<model::Id> ids;  // every id reads may show
  std::vector<model::Project> visible;  // what reads show, by id, decoded once
};

// Each project as the queue's view() shows it: the overlay's body where edits
// are pending, else the mirror's; deleted ones left out.
std::vector<model::Project> visible_projects(World& w) {
  std::vector<model::Project> out;
  for (model::Id id : w.ids) {
    auto view = w.queue->view(kWs, id);
    if (view && !view->deleted) out.push_back(model::decode_project(std::string_view(view->body)));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  return out;
}

World& world() {
  static World* w = [] {
    auto* w = new World;
    char tmpl[] = "/tmp/focus-fuzz-list.XXXXXX";
    w->dir = mkdtemp(tmpl);
    w->db = std::make_unique<store::Database>(w->dir + "/cache.db");
    w->mirror = std::make_unique<store::Mirror>(*w->db);
    w->queue = std::make_unique<store::EditQueue>(*w->db, *w->mirror);
    w->reads = std::make_unique<store::ProjectReads>(*w->db);
    const Timestamp now = now_utc();
    for (int i = 0; i < 40; ++i) {
      auto p = model::decode_project(project_json(i));
      w->ids.push_back(p.id);
      w->mirror->upsert_one(kWs, store::fetched(std::move(p)), now);
    }
    // Pending edits, so the overlay takes part: a rename with new tags, an
    // archive, an unarchive, a delete and two creates.
    w->queue->submit(kWs, model::EditOp::patch, 107, {{"name", "alpha renamed"}, {"tag_ids", {3, 9}}}, now);
    w->queue->submit(kWs, model::EditOp::archive, 114, json(nullptr), now);
    w->queue->submit(kWs, model::EditOp::unarchive, 135, json(nullptr), now);
    w->queue->submit(kWs, model::EditOp::remove, 121, json(nullptr), now);
    for (const char* name : {"Created", "created too"}) {
      auto made = w->queue->submit(kWs, model::EditOp::create, 0, {{"name", name}, {"tag_ids", {1}}}, now);
      w->ids.push_back(model::decode_project(std::string_view(*made.project)).id);
    }
    w->visible = visible_projects(*w);
    std::atexit([] { std::filesystem::remove_all(world().dir); });
    return w;
  }();
  return *w;
}

std::string ids_text(const std::vector<model::Id>& ids) {
  std::string s;
  for (auto id : ids) s += std::to_string(id) + " ";
  return s;
}

// The same bytes as a path: parse_target's plain-path reading, where it
// takes a target, must read it as Boost.URL's grammar does.
void plain_path_read_as_the_grammar_reads_it(std::string_view bytes) {
  const std::string raw = "/" + std::string(bytes);
  auto plain = http::detail::parse_plain_path(raw);
  if (!plain) return;
  auto grammar = http::detail::parse_by_grammar(raw);
  if (!grammar || grammar->path != plain->path || grammar->segments != plain->segments || !grammar->params.empty())
    broken("the plain-path reading differs from the grammar's", raw);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  plain_path_read_as_the_grammar_reads_it(std::string_view(reinterpret_cast<const char*>(data), size));
  std::string target = "/api/organizations/1/workspaces/1/projects?";
  target.append(reinterpret_cast<const char*>(data), size);
  auto parsed = http::parse_target(target);
  if (!parsed) return 0;
  model::ListQuery q;
  try {
    q = upstream::parse_list_query(*parsed, 200);
  } catch (const upstream::QueryError& e) {
    if (std::string_view(e.what()).empty()) broken("a QueryError without a message", target);
    return 0;
  }
  if (q.paging.page < 1 || q.paging.per_page < 1 || q.paging.per_page > 200) broken("paging out of range", target);
  q.user_ids.clear();  // membership is not part of this data set

  World& w = world();
  std::vector<model::Project> hits;
  for (const auto& p : w.visible)
    if (model::matches(p, q)) hits.push_back(p);
  std::stable_sort(hits.begin(), hits.end(),
                   [&](const auto& a, const auto& b) { return model::ordered_before(a, b, q.paging.order); });
  std::vector<model::Id> expected;
  const auto total = static_cast<std::int64_t>(hits.size());
  for (auto i = q.paging.offset(); i < total && i - q.paging.offset() < q.paging.per_page; ++i)
    expected.push_back(hits[static_cast<std::size_t>(i)].id);

  store::BodyPage page = w.reads->list(kWs, q);
  std::vector<model::Id> got;
  for (const auto& body : page.bodies) got.push_back(json::parse(body).at("id").get<model::Id>());
  if (page.total != total) broken("total differs", target + "\nsql " + std::to_string(page.total) + " memory " + std::to_string(total));
  if (got != expected) broken("page differs", target + "\nsql    " + ids_text(got) + "\nmemory " + ids_text(expected));
  return 0;
}
