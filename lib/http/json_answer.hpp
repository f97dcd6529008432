#pragma once
// The one way a JSON answer and a JSON error body are built, for the socket,
// focus-sim and the servers' own refusals: {"error": message} (and "field"
// when one is to blame). Encoding never throws: text that is not valid UTF-8
// (a message quoting a client's bytes, say) is written with U+FFFD in place
// of what is invalid. Pure; any thread.

#include "http/message.hpp"

#include <nlohmann/json.hpp>

#include <string>

namespace focus::http {

inline Response json_answer(int status, const nlohmann::json& body) {
  Response r;
  r.status = status;
  r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

inline Response json_error(int status, const std::string& message, const std::string& field = {}) {
  nlohmann::json body = {{"error", message}};
  if (!field.empty()) body["field"] = field;
  return json_answer(status, body);
}

}  // namespace focus::http
