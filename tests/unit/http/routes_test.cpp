// The route table on its own: typed segments, the path's frame, 404 against 405 with Allow,
// the metrics label, and the Focus paths' table as both servers build it.
#include "http/routes.hpp"
#include "upstream/focus_paths.hpp"

#include <doctest/doctest.h>

#include <stdexcept>
#include <string>
#include <vector>

using namespace focus;
using namespace focus::http;

namespace {

const Routes<int>& table() {
  static const Routes<int> kRoutes(
      {
          {{"GET", "/v1/edits", "/v1/edits"}, 1},
          {{"GET", "/v1/edits/{edit_id}", "/v1/edits/{id}"}, 2},
          {{"DELETE", "/v1/edits/{edit_id}", "/v1/edits/{id}"}, 3},
          {{"POST", "/v1/edits/{edit_id}/retry", "/v1/edits/{id}/retry"}, 4},
          {{"GET", "/v1/edits/stats", "/v1/edits/stats"}, 5},
      },
      {{"edit_id", "an edit id must be an integer", false}});
  return kRoutes;
}

PathMatch match(const std::string& method, const std::string& target) {
  auto t = parse_target(target);
  REQUIRE(t);
  return table().match(method, *t);
}

}  // namespace

TEST_CASE("a matched route gives its handler, its ids and 'METHOD label'") {
  auto m = match("DELETE", "/v1/edits/42");
  REQUIRE(m.route);
  CHECK(m.status == 0);
  CHECK(m.path_matched);
  CHECK(table().handler(m) == 3);
  CHECK(m.ids.at("edit_id") == 42);
  CHECK(m.label() == "DELETE /v1/edits/{id}");
  CHECK(match("GET", "/v1/edits").label() == "GET /v1/edits");
  CHECK(match("GET", "/v1/edits/-7").ids.at("edit_id") == -7);  // the socket's temporary ids are negative
  CHECK_THROWS_AS(m.ids.at("project_id"), std::out_of_range);
}

TEST_CASE("a literal segment wins over a capture at the same place") {
  auto m = match("GET", "/v1/edits/stats");
  REQUIRE(m.route);
  CHECK(table().handler(m) == 5);
  CHECK_FALSE(m.ids.find("edit_id"));
}

TEST_CASE("a typed segment that is no integer is a 400 with its own message, and no label") {
  for (const char* bad : {"/v1/edits/abc", "/v1/edits/1.5", "/v1/edits/+1", "/v1/edits/99999999999999999999",
                          "/v1/edits/x/retry", "/v1/edits/x/bogus"}) {
    CAPTURE(bad);
    auto m = match("GET", bad);
    CHECK(m.status == 400);
    CHECK(m.error == "an edit id must be an integer");
    CHECK_FALSE(m.route);
    CHECK_FALSE(m.path_matched);
    CHECK(m.label() == "unknown");
  }
}

TEST_CASE("no pattern has the path: 404 'no such route', labelled unknown") {
  for (const char* path : {"/", "/v1", "/v1/edit", "/v1/edits/1/bogus", "/v1/edits/1/retry/again", "/v2/edits"}) {
    CAPTURE(path);
    auto m = match("GET", path);
    CHECK(m.status == 404);
    CHECK(m.error == std::string("no such route: ") + path);
    CHECK(m.allow.empty());
    CHECK(m.label() == "unknown");
  }
  // The ids read before the path went wrong are kept (focus-sim charges a
  // request's quota to the organization its path names).
  CHECK(match("GET", "/v1/edits/5/bogus").ids.at("edit_id") == 5);
}

TEST_CASE("a path without the method: 405 with Allow in table order, labelled with the request's method") {
  auto m = match("PUT", "/v1/edits/9");
  CHECK(m.status == 405);
  CHECK(m.path_matched);
  CHECK_FALSE(m.route);
  CHECK(m.error == "method PUT is not allowed on /v1/edits/9");
  CHECK(m.allow == "GET, HEAD, DELETE");
  CHECK(m.label() == "PUT /v1/edits/{id}");
  CHECK(match("GET", "/v1/edits/9/retry").allow == "POST");
  // A method HTTP does not define is named in the error, not in the label.
  auto made_up = match("FROB", "/v1/edits/9");
  CHECK(made_up.status == 405);
  CHECK(made_up.error == "method FROB is not allowed on /v1/edits/9");
  CHECK(made_up.label() == "OTHER /v1/edits/{id}");
}

TEST_CASE("two captures of different types at one place: the first in table order reads the segment") {
  const Routes<int> two({{{"GET", "/a/{first}", "/a/{first}"}, 1}, {{"GET", "/a/{second}", "/a/{second}"}, 2}},
                        {{"first", "first must be an integer", false}, {"second", "second must be an integer", false}});
  auto m = two.match("GET", *parse_target("/a/5"));
  REQUIRE(m.route);
  CHECK(two.handler(m) == 1);
  CHECK(m.ids.at("first") == 5);
  CHECK_FALSE(m.ids.find("second"));
  CHECK(two.match("GET", *parse_target("/a/x")).error == "first must be an integer");
}

TEST_CASE("a table of 64 distinct paths answers its last, and a 65th path is refused") {
  std::vector<RouteSpec> specs;
  for (int i = 0; i < 64; ++i) specs.push_back({"GET", "/p" + std::to_string(i) + "/{edit_id}", "/p"});
  const std::vector<IdSegment> ids{{"edit_id", "an edit id must be an integer", false}};
  const PathTable full(specs, ids);
  auto last = full.match("GET", *parse_target("/p63/7"));
  REQUIRE(last.route);
  CHECK(*last.route == 63);
  CHECK(last.ids.at("edit_id") == 7);
  CHECK(full.match("GET", *parse_target("/p63/x")).status == 400);
  CHECK(full.match("GET", *parse_target("/p64/7")).status == 404);
  specs.push_back({"GET", "/p64/{edit_id}", "/p"});
  CHECK_THROWS_AS(PathTable(specs, ids), std::invalid_argument);
}

TEST_CASE("a pattern naming a segment the table does not define is refused when the table is built") {
  CHECK_THROWS_AS(PathTable({{"GET", "/a/{nope}", "/a"}}, {}), std::invalid_argument);
}

TEST_CASE("a pattern with more ids than a match keeps is refused when the table is built; as many is served") {
  const std::vector<IdSegment> ids = {{"edit_id", "an edit id must be an integer", false}};
  const PathTable four({{"GET", "/a/{edit_id}/{edit_id}/{edit_id}/{edit_id}", "/a"}}, ids);
  const auto m = four.match("GET", *parse_target("/a/1/2/3/4"));
  CHECK(m.route == 0u);
  CHECK(m.ids.at("edit_id") == 1);
  CHECK_THROWS_AS(PathTable({{"GET", "/a/{edit_id}/{edit_id}/{edit_id}/{edit_id}/{edit_id}", "/a"}}, ids),
                  std::invalid_argument);
}

TEST_CASE("the Focus paths: the reference's messages, statuses and Allow") {
  std::vector<Route<upstream::FocusOp>> routes;
  for (const auto& p : upstream::focus_paths()) routes.push_back({p.spec, p.op});
  const Routes<upstream::FocusOp> focus(std::move(routes), upstream::focus_segments());
  auto at = [&](const std::string& method, const std::string& target) {
    return focus.match(method, *parse_target(target));
  };
  const std::string base = "/api/organizations/1/workspaces/2/projects";

  CHECK(focus.handler(at("GET", base)) == upstream::FocusOp::list);
  CHECK(focus.handler(at("POST", base)) == upstream::FocusOp::create);
  CHECK(focus.handler(at("DELETE", base + "/3/pinned")) == upstream::FocusOp::unpin);
  CHECK(focus.handler(at("PUT", base + "/3/members")) == upstream::FocusOp::members_role);
  CHECK(at("PATCH", base + "/3/archive").label() == "PATCH /projects/{id}/archive");
  CHECK(at("GET", base + "/3").ids.at("workspace_id") == 2);

  CHECK(at("GET", "/api/organizations/x/workspaces/2/projects").error ==
        "organization_id and workspace_id must be integers");
  CHECK(at("GET", "/api/organizations/1/workspaces/y/projects/3").error ==
        "organization_id and workspace_id must be integers");
  auto bad_project = at("GET", base + "/abc/children");
  CHECK(bad_project.status == 400);
  CHECK(bad_project.error == "project_id must be an integer, got 'abc'");
  CHECK(at("GET", base + "/3/nonsense").status == 404);
  // The frame (every literal but the last) first: a misspelt "workspaces" is
  // a 404 whatever the ids; the action is compared after the ids.
  CHECK(at("GET", "/api/organizations/x/workspacez/2/projects/3").status == 404);
  CHECK(at("GET", "/api/organizations/x/workspaces/2/projects/3/nonsense").status == 400);
  CHECK_FALSE(at("GET", "/api/organizations/1/workspaces/2/projectz/3/archive").ids.find("organization_id"));
  CHECK(at("GET", base + "/3/nonsense").ids.at("organization_id") == 1);

  const std::pair<std::string, std::string> allows[] = {
      {"", "GET, HEAD, POST"},          {"/3", "GET, HEAD, PUT, PATCH, DELETE"}, {"/3/archive", "PATCH"},
      {"/3/unarchive", "PATCH"},        {"/3/restore", "PATCH"},                 {"/3/pinned", "POST, DELETE"},
      {"/3/children", "GET, HEAD"},     {"/3/parents", "GET, HEAD"},
      {"/3/members", "GET, HEAD, POST, PUT, DELETE"},
  };
  for (const auto& [tail, allow] : allows) {
    CAPTURE(tail);
    auto m = at("OPTIONS", base + tail);
    CHECK(m.status == 405);
    CHECK(m.allow == allow);
    // HEAD is served wherever GET is, by the GET route itself.
    auto head = at("HEAD", base + tail);
    CHECK(head.status == (allow.starts_with("GET") ? 0 : 405));
    if (allow.starts_with("GET")) CHECK(head.route == at("GET", base + tail).route);
  }
}
