// The head the servers write by hand in place of Beast's serializer: each
// case set against what Beast itself writes for the same answer, but for
// the Content-Length Beast put on answers that have no body.
#include "http/beast_glue.hpp"

#include <doctest/doctest.h>

#include <sstream>

using namespace focus::http;

namespace {

// What Beast wrote before: to_beast, then its serializer's header block.
std::string beast_head(Response r, unsigned version, bool keep_alive) {
  auto res = detail::to_beast(std::move(r), version, keep_alive);
  std::ostringstream out;
  out << res.base();
  return out.str();
}

Response answer(int status, std::string body) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  r.set_header("X-Focussync-Edit", "7");
  return r;
}

}  // namespace

TEST_CASE("the hand-written head is Beast's, for every status class, version and keep-alive") {
  for (int status : {200, 201, 204, 304, 400, 404, 413, 503}) {
    for (unsigned version : {10u, 11u}) {
      for (bool keep_alive : {false, true}) {
        const std::string body = detail::has_no_body(status) ? "" : R"({"id":1})";
        CAPTURE(status);
        CAPTURE(version);
        CAPTURE(keep_alive);
        std::string expected = beast_head(answer(status, body), version, keep_alive);
        // The one deliberate difference: Beast writes "Content-Length: 0"
        // on a 204 or 304, which RFC 9110 (8.6) says a server must not.
        if (detail::has_no_body(status)) {
          const std::string zero = "Content-Length: 0\r\n";
          REQUIRE(expected.find(zero) != std::string::npos);
          expected.erase(expected.find(zero), zero.size());
        }
        CHECK(detail::response_head(answer(status, body), version, keep_alive) == expected);
      }
    }
  }
}

TEST_CASE("an answer without a body says so: no Content-Length for 204 and 304, a length of 0 for an empty 200") {
  CHECK(detail::response_head(answer(204, ""), 11, true).find("Content-Length") == std::string::npos);
  CHECK(detail::response_head(answer(304, ""), 11, true).find("Content-Length") == std::string::npos);
  CHECK(detail::response_head(answer(200, ""), 11, true).find("Content-Length: 0\r\n") != std::string::npos);
}
