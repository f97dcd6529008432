// How FocusApi reports each failure the real service and network produce,
// provoked with focus-sim's faults: the error code the engine branches on,
// the server's text, and how many requests were really sent.
#include "fixture.hpp"
#include "upstream/answer.hpp"

#include <doctest/doctest.h>

#include <limits>
#include <optional>

using namespace focus;
using namespace focus::test;
using namespace focus::upstream;
using nlohmann::json;

namespace {

model::ProjectWrite named(const std::string& name) {
  model::ProjectWrite w;
  w.name = name;
  return w;
}

std::size_t project_count(SimProcess& sim) { return sim.control("GET", "state")["projects"].size(); }

}  // namespace

TEST_CASE("a wrong key is unauthorized, and the message holds neither key") {
  SimProcess sim({"--projects", "2", "--api-key", kKey});
  Upstream up(sim, {}, Upstream::fast_retry(), Credentials::api_key("toggl_sk_wrong_one", "(test)"));
  auto r = up(up.api->list_projects(up.ws, {}));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().is(Errc::unauthorized));
  CHECK(r.error().message.find("401") != std::string::npos);
  CHECK(r.error().message.find("toggl_sk_wrong_one") == std::string::npos);
  CHECK(sim.requests() == 1);  // 401 is never retried
}

TEST_CASE("400 carries the server's text; 404 for an unknown workspace") {
  SimProcess sim({"--projects", "2", "--api-key", kKey});
  Upstream up(sim);
  auto r = up(up.api->create_project(up.ws, named("   ")));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().is(Errc::bad_request));
  CHECK(r.error().message == "POST /organizations/1/workspaces/1/projects: 400: field 'name' must not be blank");
  auto missing = up(up.api->list_projects(WorkspaceKey{1, 99}, {}));
  CHECK(missing.error().is(Errc::not_found));
}

TEST_CASE("server errors: reads are retried with backoff, writes are sent once") {
  SimProcess sim({"--projects", "2", "--api-key", kKey, "--error-rate", "1"});
  Upstream up(sim);
  auto read = up(up.api->get_project(up.ws, 1000));
  CHECK(read.error().is(Errc::server_error));
  CHECK(sim.requests() == 4);  // max_attempts
  auto write = up(up.api->create_project(up.ws, named("once")));
  CHECK(write.error().is(Errc::server_error));
  CHECK(sim.requests() == 5);
}

TEST_CASE("reads recover from intermittent server errors") {
  SimProcess sim({"--projects", "2", "--api-key", kKey, "--error-rate", "0.5", "--seed", "3"});
  Upstream up(sim, {}, [] {
    auto p = Upstream::fast_retry();
    p.max_attempts = 12;
    return p;
  }());
  for (int i = 0; i < 5; ++i) CHECK(up(up.api->get_project(up.ws, 1000)).ok());
  CHECK(sim.requests() > 5);
}

TEST_CASE("429: rate_limited with Retry-After, and nothing is sent before it passes") {
  SimProcess sim({"--projects", "2", "--api-key", kKey, "--rate-limited-rate", "1"});
  auto once = Upstream::fast_retry();
  once.max_attempts = 1;
  Upstream up(sim, {}, once);
  auto r = up(up.api->get_project(up.ws, 1000));
  CHECK(r.error().is(Errc::rate_limited));
  CHECK(r.error().message.find("retry after") != std::string::npos);
  auto refused = up(up.api->get_project(up.ws, 1000));
  CHECK(refused.error().is(Errc::rate_limited));
  CHECK(refused.error().message.find("not sent") != std::string::npos);
  CHECK(sim.requests() == 1);
}

TEST_CASE("a 429 with a short Retry-After is waited out for a read") {
  SimProcess sim({"--projects", "2", "--api-key", kKey});
  Upstream up(sim);
  sim.control("PUT", "faults", {{"rate_limited_rate", 0.5}});
  int ok = 0;
  for (int i = 0; i < 4; ++i) ok += up(up.api->get_project(up.ws, 1000)).ok();
  CHECK(ok == 4);
}

TEST_CASE("a timeout: reads fail as timeout, a write's outcome is unknown") {
  SimProcess sim({"--projects", "2", "--api-key", kKey, "--latency-ms", "600"});
  http::ClientOptions options;
  options.read_timeout = std::chrono::milliseconds(150);
  auto once = Upstream::fast_retry();
  once.max_attempts = 1;
  Upstream up(sim, options, once);
  CHECK(up(up.api->get_project(up.ws, 1000)).error().is(Errc::timeout));
  auto write = up(up.api->create_project(up.ws, named("slow")));
  CHECK(write.error().is(Errc::outcome_unknown));
}

TEST_CASE("the total deadline bounds an exchange whatever the phase limits") {
  SimProcess sim({"--projects", "2", "--api-key", kKey, "--latency-ms", "600"});
  http::ClientOptions options;
  options.total_timeout = std::chrono::milliseconds(200);
  auto once = Upstream::fast_retry();
  once.max_attempts = 1;
  Upstream up(sim, options, once);
  auto started = std::chrono::steady_clock::now();
  CHECK(up(up.api->get_project(up.ws, 1000)).error().is(Errc::timeout));
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::milliseconds(550));
}

TEST_CASE("a dropped connection: a read is a network error, a write that was applied is outcome_unknown") {
  SimProcess sim({"--projects", "2", "--api-key", kKey, "--drop-rate", "1"});
  Upstream up(sim);
  CHECK(up(up.api->get_project(up.ws, 1000)).error().is(Errc::network));
  auto before = project_count(sim);
  auto write = up(up.api->create_project(up.ws, named("applied, answer lost")));
  CHECK(write.error().is(Errc::outcome_unknown));
  CHECK(project_count(sim) == before + 1);
}

TEST_CASE("a body cut short is a network error, never a half-decoded page") {
  SimProcess sim({"--projects", "50", "--api-key", kKey, "--truncate-rate", "1"});
  Upstream up(sim);
  auto r = up(up.api->list_projects(up.ws, {}));
  CHECK(r.error().is(Errc::network));
  CHECK(r.error().message.find("middle of the answer") != std::string::npos);
}

TEST_CASE("malformed JSON is bad_payload") {
  SimProcess sim({"--projects", "5", "--api-key", kKey, "--garbage-rate", "1"});
  Upstream up(sim);
  CHECK(up(up.api->list_projects(up.ws, {})).error().is(Errc::bad_payload));
  CHECK(sim.requests() == 4);
}

TEST_CASE("a wrong type in an answer is bad_payload naming the field and the project") {
  // focus-sim never sends one, so the answer decoder is checked on the text.
  auto page = upstream::detail::decode_page(R"({"data":[{"id":1},{"id":77,"name":["x"]}],"page":1,"per_page":2,"total":2})", true);
  REQUIRE_FALSE(page.ok());
  CHECK(page.error().is(Errc::bad_payload));
  CHECK(page.error().message == "project 77: field 'name': expected string, got array");
  CHECK(upstream::detail::decode_page(R"({"data":[],"page":1})", true).error().message ==
        "the list answer has no integer 'total'");
  CHECK(upstream::detail::decode_page(R"({"page":1})", false).error().is(Errc::bad_payload));
}

TEST_CASE("an oversized body is an error, gzip or not") {
  SimProcess sim({"--projects", "5", "--api-key", kKey, "--oversize-rate", "1", "--oversize-bytes", "3000000"});
  for (bool gzip : {true, false}) {
    http::ClientOptions options;
    options.max_body_bytes = 1'000'000;
    options.accept_gzip = gzip;
    auto once = Upstream::fast_retry();
    once.max_attempts = 1;
    Upstream up(sim, options, once);
    auto r = up(up.api->list_projects(up.ws, {}));
    CHECK_MESSAGE(r.error().is(Errc::body_too_large), "gzip=" << gzip);
  }
}

TEST_CASE("requests to a server that refuses the connection cost no quota") {
  std::optional<SimProcess> sim(std::in_place, std::vector<std::string>{"--projects", "3", "--api-key", kKey, "--quota", "30"});
  Upstream up(*sim);
  REQUIRE(up(up.api->get_project(up.ws, 1000)).ok());
  REQUIRE(up.quota.snapshot(1).remaining == 29);
  sim.reset();          // nobody listens on its port now
  up.client->close();   // and no kept-alive connection: a request written on one may have been read
  auto r = up(up.api->get_project(up.ws, 1000));
  REQUIRE_FALSE(r.ok());
  CHECK(up.api->counters().sent == 1 + Upstream::fast_retry().max_attempts);
  CHECK(up.api->counters().unsent == Upstream::fast_retry().max_attempts);
  CHECK(up.api->counters().spent() == 1);  // what a workspace's requests_spent adds
  CHECK(up.quota.snapshot(1).remaining == 29);
  CHECK(up.quota.snapshot(1).sent_in_window == 1);
}

TEST_CASE("with a 30-per-window quota, 40 reads send exactly 30 requests") {
  SimProcess sim({"--projects", "3", "--api-key", kKey, "--quota", "30", "--quota-window", "60"});
  Upstream up(sim);
  int ok = 0, exhausted = 0;
  for (int i = 0; i < 40; ++i) {
    auto r = up(up.api->get_project(up.ws, 1000));
    if (r.ok()) ++ok;
    else if (r.error().is(Errc::quota_exhausted)) ++exhausted;
  }
  CHECK(ok == 30);
  CHECK(exhausted == 10);
  CHECK(sim.requests() == 30);
  auto snapshot = up.quota.snapshot(1);
  CHECK(snapshot.remaining == 0);
  CHECK(snapshot.exhausted);
}

TEST_CASE("a 402 met unawares marks the quota spent until the reset; then nothing is sent") {
  SimProcess sim({"--projects", "3", "--api-key", kKey, "--quota", "2", "--quota-window", "60"});
  {
    Upstream other(sim);  // another process spends the quota
    CHECK(other(other.api->get_project(other.ws, 1000)).ok());
    CHECK(other(other.api->get_project(other.ws, 1000)).ok());
  }
  Upstream up(sim);
  auto r = up(up.api->get_project(up.ws, 1000));
  CHECK(r.error().is(Errc::quota_exhausted));
  CHECK(r.error().message.find("402") != std::string::npos);
  CHECK(r.error().message.find("resets in") != std::string::npos);
  auto again = up(up.api->create_project(up.ws, named("not now")));
  CHECK(again.error().is(Errc::quota_exhausted));
  CHECK(sim.requests() == 3);
  CHECK(sim.control("GET", "stats")["by_status"]["402"] == 1);
}

TEST_CASE("a 204 write answer and a 201 with a body both succeed") {
  SimProcess sim({"--projects", "3", "--api-key", kKey});
  Upstream up(sim);
  auto created = up(up.api->create_project(up.ws, named("body")));
  REQUIRE(created.ok());
  CHECK(created->has_value());
  CHECK(up(up.api->archive_project(up.ws, (*created)->id)).ok());
}

TEST_CASE("offline: connections dropped, reads fail as network errors without hanging") {
  SimProcess sim({"--projects", "3", "--api-key", kKey, "--offline"});
  Upstream up(sim);
  CHECK(up(up.api->list_projects(up.ws, {})).error().is(Errc::network));
  sim.control("PUT", "faults", {{"offline", false}});
  CHECK(up(up.api->list_projects(up.ws, {})).ok());
}

TEST_CASE("absurd quota headers keep focussync quiet for at most two hours, without overflowing the clock") {
  // Found by fuzz_upstream_answer: "X-Toggl-Quota-Resets-In: 4099276460824344802" overflowed now + seconds.
  ManualClock clock;
  const auto now = clock.steady_now();
  const auto most = now + std::chrono::hours(2);
  QuotaTracker spent(clock);
  spent.on_headers(1, std::numeric_limits<std::int64_t>::max(), std::numeric_limits<std::int64_t>::max());
  spent.on_sent(1);
  spent.on_headers(1, 0, std::numeric_limits<std::int64_t>::max());
  REQUIRE(spent.blocked_until(1));
  CHECK(*spent.blocked_until(1) == most);

  QuotaTracker limited(clock);
  limited.on_rate_limited(1, std::chrono::seconds(std::numeric_limits<std::int64_t>::max() / 2));
  CHECK(*limited.blocked_until(1) == most);
  QuotaTracker gone(clock);
  gone.on_quota_exhausted(1, std::chrono::seconds(-50));
  CHECK(!gone.blocked_until(1));

  clock.advance(std::chrono::hours(2));
  CHECK(!spent.blocked_until(1));
}
