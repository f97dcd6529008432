#include "http/target.hpp"

#include <doctest/doctest.h>

#include <random>
#include <string>

using namespace focus::http;

TEST_CASE("'archived=' (empty value) and 'archived' (no value) stay apart") {
  auto t = parse_target("/api/x?archived=&pinned");
  REQUIRE(t);
  REQUIRE(t->params.size() == 2);
  CHECK(t->params[0].key == "archived");
  CHECK(t->params[0].has_value);
  CHECK(t->params[0].value.empty());
  CHECK_FALSE(t->params[1].has_value);
}

TEST_CASE("segments and values are percent-decoded; repeats and [] keys are all found") {
  auto t = parse_target("/api/organizations/1/workspaces/2/projects?name=caf%C3%A9%20bar&client_id=1&client_id[]=2&client_id%5B%5D=3");
  REQUIRE(t);
  CHECK(t->segments == std::vector<std::string>{"api", "organizations", "1", "workspaces", "2", "projects"});
  CHECK(t->last("name")->value == "café bar");
  auto ids = t->all("client_id");
  REQUIRE(ids.size() == 3);
  CHECK(ids[0]->value == "1");
  CHECK(ids[1]->value == "2");
  CHECK(ids[2]->value == "3");
  CHECK(t->last("client_id")->value == "3");
  CHECK(t->last("missing") == nullptr);
}

TEST_CASE("characters clients send unescaped are tolerated; a non-origin form is not") {
  auto t = parse_target("/p?name=a b|c");
  REQUIRE(t);
  CHECK(t->last("name")->value == "a b|c");
  CHECK_FALSE(parse_target("http://example.com/p"));
  CHECK_FALSE(parse_target("no-slash"));
}

TEST_CASE("query_string percent-encodes what parse_target would misread, and round-trips") {
  std::vector<QueryParam> params = {{"name", "C++ & a=b/é", true}, {"archived", "", true}, {"flag", "", false}};
  auto query = query_string(params);
  CHECK(query == "?name=C%2B%2B%20%26%20a%3Db%2F%C3%A9&archived=&flag");
  auto back = parse_target("/x" + query);
  REQUIRE(back);
  REQUIRE(back->params.size() == 3);
  CHECK(back->params[0].value == "C++ & a=b/é");
  CHECK(back->params[1].has_value);
  CHECK_FALSE(back->params[2].has_value);
  CHECK(query_string({}).empty());
}

TEST_CASE("a plain path is read as the URL grammar reads it, and anything else is left to the grammar") {
  auto same = [](const std::string& raw) {
    auto plain = detail::parse_plain_path(raw);
    auto grammar = detail::parse_by_grammar(raw);
    if (!plain) return true;  // not plain: parse_target asks the grammar alone
    return grammar && plain->path == grammar->path && plain->segments == grammar->segments && grammar->params.empty();
  };
  for (const char* raw : {"/", "//", "/a", "/a/", "//a//b/", "/a.b/c.", "/api/organizations/1/workspaces/2/projects/-3",
                          "/~x_y-z.1", "/v1/status"}) {
    INFO(raw);
    REQUIRE(detail::parse_plain_path(raw));
    CHECK(same(raw));
  }
  for (const char* raw : {"", "a/b", "/a?b", "/a%20b", "/a+b", "/a b", "/a;b", "/caf\xc3\xa9", "http://h/a", "/./a", "/a/../b"}) {
    INFO(raw);
    CHECK_FALSE(detail::parse_plain_path(raw));
  }
  // Random paths over the plain alphabet and a few characters outside it.
  std::mt19937 rng(17);
  const std::string alphabet = "/////aZ09-._~?%+ ;=&";
  for (int n = 0; n < 20000; ++n) {
    std::string raw = "/";
    for (int k = static_cast<int>(rng() % 24); k > 0; --k) raw += alphabet[rng() % alphabet.size()];
    INFO(raw);
    REQUIRE(same(raw));
    CHECK(parse_target(raw).has_value() == detail::parse_by_grammar(raw).has_value());
  }
}
