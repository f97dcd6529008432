#pragma once
// Internal to lib/local_api: the JSON answers every route builds the same way
// (http/json_answer.hpp builds the bodies).

#include "http/json_answer.hpp"

#include <string>

namespace focus::local_api::detail {

using http::json_answer;
using http::json_error;

inline http::Response method_not_allowed(const std::string& method, const std::string& path, const std::string& allow) {
  auto r = json_error(405, "method " + method + " is not allowed on " + path);
  r.set_header("Allow", allow);
  return r;
}

}  // namespace focus::local_api::detail
