#pragma once
// Internal to lib/local_api: the JSON answers every route builds the same way
// (http/json_answer.hpp builds the bodies).

#include "http/json_answer.hpp"

#include <string>

namespace focus::local_api::detail {

using http::json_answer;
using http::json_error;

}  // namespace focus::local_api::detail
