#pragma once
// HTTP messages as plain values, so that code above lib/http never includes
// Beast. A Server hands handlers a Request and sends back their Response;
// a Response may also ask the server to misbehave in the ways real networks
// do (answer late, drop the connection, cut the body short), which is what
// focus-sim uses to be hostile. Plain data; any thread.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace focus::http {

struct Header {
  std::string name;
  std::string value;
};

struct Request {
  std::string method;  // "GET", "PATCH", ...
  std::string target;  // origin form: "/api/...?a=b"
  std::vector<Header> headers;
  std::string body;

  // The first header of that name, compared case-insensitively.
  std::optional<std::string_view> header(std::string_view name) const;
};

// How the server delivers a Response.
enum class Delivery {
  normal,    // send it
  drop,      // close the connection without answering
  truncate,  // send the headers with the full Content-Length, half the body, then close
};

struct Response {
  int status = 200;
  std::vector<Header> headers;
  std::string body;
  std::string content_type = "application/json";
  std::chrono::milliseconds delay{0};  // wait this long before answering
  Delivery delivery = Delivery::normal;

  Response& set_header(std::string name, std::string value);
  std::optional<std::string_view> header(std::string_view name) const;
};

// Case-insensitive ASCII comparison, as HTTP field names need.
bool iequals(std::string_view a, std::string_view b);

}  // namespace focus::http
