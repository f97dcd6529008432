#pragma once
// Internal to lib/local_api: the JSON answers every route builds the same way.
// Encoding never throws: a string that is not valid UTF-8 (a message quoting
// a client's bytes, say) is written with U+FFFD in place of what is invalid.

#include "http/message.hpp"

#include <nlohmann/json.hpp>

#include <string>

namespace focus::local_api::detail {

inline http::Response json_answer(int status, const nlohmann::json& body) {
  http::Response r;
  r.status = status;
  r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

// {"error": message} (and "field" when one is to blame).
inline http::Response json_error(int status, const std::string& message, const std::string& field = {}) {
  nlohmann::json body = {{"error", message}};
  if (!field.empty()) body["field"] = field;
  return json_answer(status, body);
}

inline http::Response method_not_allowed(const std::string& method, const std::string& path, const std::string& allow) {
  auto r = json_error(405, "method " + method + " is not allowed on " + path);
  r.set_header("Allow", allow);
  return r;
}

}  // namespace focus::local_api::detail
