// The scheduler's error boundaries, against a real focus-sim and a real
// SQLite file: a step that throws (here a real SQLite error, raised by a
// trigger the test puts on the cache) is logged, kept as that workspace's
// error and counted, the other workspaces are synced in the same pass, and
// once the cause is gone the same scheduler syncs the workspace again.
#include "support/sync_parts.hpp"
#include "sync/scheduler.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <thread>

using namespace focus;
using namespace focus::test;

namespace {

struct Engine : SyncParts {
  explicit Engine(std::vector<std::string> sim_args)
      : SyncParts({std::move(sim_args), quick_settings(), std::nullopt, std::nullopt, "focus-sched-"}) {
    scheduler = std::make_unique<sync::Scheduler>(*puller, *members, *replayer, quota, *mirror, settings,
                                                  std::vector<WorkspaceKey>{{1, 1}, {1, 2}});
  }
  static config::Sync quick_settings() {
    config::Sync s;
    s.interval = std::chrono::milliseconds(100);
    s.members = config::MembersPolicy::never;
    return s;
  }

  // One pass; it must not throw whatever a step did.
  std::chrono::milliseconds pass() { return run(io, scheduler->pass()); }

  // Passes (sleeping what each asks, at most 200 ms) until `done` or 15 s.
  bool passes_until(const std::function<bool()>& done) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (std::chrono::steady_clock::now() < deadline) {
      auto wait = pass();
      if (done()) return true;
      std::this_thread::sleep_for(std::min(wait, std::chrono::milliseconds(200)));
    }
    return false;
  }

  std::int64_t live(model::Id workspace) { return mirror->live_count({1, workspace}); }

  std::unique_ptr<sync::Scheduler> scheduler;
};

}  // namespace

TEST_CASE("a listing step that throws is kept as its workspace's error; the other workspace syncs; the loop goes on") {
  Engine e({"--projects", "120", "--workspaces", "1:1,1:2", "--seed", "3"});
  // A real SQLite error inside the listing's reconcile, for workspace 1 only.
  e.db->sql().exec(
      "CREATE TEMP TRIGGER refuse_ws1 BEFORE INSERT ON main.projects WHEN NEW.workspace_id = 1 "
      "BEGIN SELECT RAISE(ABORT, 'injected: the cache refuses workspace 1'); END");

  CHECK_NOTHROW(e.pass());
  CHECK(e.live(1) == 0);
  CHECK(e.live(2) > 0);  // the same pass went on to the next workspace
  auto error = e.scheduler->workspace_error({1, 1});
  REQUIRE(error);
  CHECK(error->find("listing failed") != std::string::npos);
  CHECK(error->find("injected: the cache refuses workspace 1") != std::string::npos);
  CHECK_FALSE(e.scheduler->workspace_error({1, 2}));
  CHECK(e.scheduler->step_failures().at("listing") == 1);
  // Recorded where /v1/status reads it when the cache can take it.
  REQUIRE(e.mirror->sync_state({1, 1}).last_error);
  CHECK(e.mirror->sync_state({1, 1}).last_error->find("injected") != std::string::npos);

  // It keeps failing while the cause is there, backing off rather than spinning.
  const auto sent_before = e.api->counters().sent;
  for (int i = 0; i < 5; ++i) CHECK_NOTHROW(e.pass());
  CHECK(e.api->counters().sent - sent_before <= 6);  // not a listing per pass: the workspace backs off

  // The cause goes: the same scheduler lists workspace 1 and clears its error.
  e.db->sql().exec("DROP TRIGGER refuse_ws1");
  CHECK(e.passes_until([&] { return e.live(1) > 0; }));
  CHECK_FALSE(e.scheduler->workspace_error({1, 1}));
  CHECK(e.live(1) == 120);  // --projects counts per workspace
}

TEST_CASE("a replay step that throws does not stop the listing of its workspace nor the next pass") {
  Engine e({"--projects", "30", "--workspaces", "1:1,1:2", "--seed", "4"});
  CHECK(e.passes_until([&] { return e.live(1) > 0 && e.live(2) > 0; }));
  auto one = e.mirror->live_bodies({1, 1}).front();
  auto id = nlohmann::json::parse(one)["id"].get<model::Id>();
  e.queue->submit({1, 1}, model::EditOp::patch, id, {{"name", "renamed while the cache refuses"}}, now_utc());
  // Marking the edit in flight fails: a real SQLite error in the replay step.
  e.db->sql().exec(
      "CREATE TEMP TRIGGER refuse_in_flight BEFORE UPDATE OF state ON main.edits WHEN NEW.state = 'in_flight' "
      "BEGIN SELECT RAISE(ABORT, 'injected: no edit may be sent'); END");
  CHECK(e.passes_until([&] { return e.scheduler->step_failures().count("replay") > 0; }));
  auto error = e.scheduler->workspace_error({1, 1});
  REQUIRE(error);
  CHECK(error->find("replay failed") != std::string::npos);
  // The edit is still there, pending, and not sent.
  auto edits = e.queue->list({}, 10);
  REQUIRE(edits.size() == 1);
  CHECK(edits[0].state == store::EditState::pending);
  auto state = e.sim.control("GET", "state");
  for (auto& p : state["projects"])
    if (p["id"] == id) CHECK(p["name"] != "renamed while the cache refuses");

  e.db->sql().exec("DROP TRIGGER refuse_in_flight");
  CHECK(e.passes_until([&] { return e.queue->counts().done == 1; }));
  state = e.sim.control("GET", "state");
  bool renamed = false;
  for (auto& p : state["projects"])
    if (p["id"] == id) renamed = p["name"] == "renamed while the cache refuses";
  CHECK(renamed);
}

TEST_CASE("spend = all: after a probe the scheduler comes back when the window's plan says, not after interval") {
  // 30 requests a minute: the reserve is 6, a listing of 120 projects one page.
  Engine e({"--projects", "120", "--workspaces", "1:1", "--seed", "3", "--quota", "30", "--quota-window", "60"});
  e.settings.interval = std::chrono::seconds(5);
  e.settings.min_interval = std::chrono::milliseconds(500);
  e.scheduler = std::make_unique<sync::Scheduler>(*e.puller, *e.members, *e.replayer, e.quota, *e.mirror, e.settings,
                                                  std::vector<WorkspaceKey>{{1, 1}});
  e.pass();  // the first listing
  REQUIRE(e.live(1) == 120);
  // About a minute left, 24 usable less the page spent, one more listing
  // due in the window: probes some 2.5 to 3 s apart, under the 5 s interval.
  const auto until_first = e.pass();  // not due yet: it says when
  CHECK(until_first < std::chrono::milliseconds(4000));
  std::this_thread::sleep_for(until_first);
  const auto sent_before = e.quota.snapshot(1).sent_in_window;
  const auto after_probe = e.pass();  // this one probes
  CHECK(e.quota.snapshot(1).sent_in_window == sent_before + 1);
  CHECK(after_probe < std::chrono::milliseconds(4000));
  CHECK(after_probe >= std::chrono::milliseconds(500));
  e.settings.spend = config::SpendPolicy::interval;
  CHECK(e.pass() >= std::chrono::milliseconds(4500));  // one probe an interval
}
