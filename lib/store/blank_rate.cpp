#include "store/blank_rate.hpp"

#include "core/text.hpp"

#include <simdjson.h>

namespace focus::store::detail {
namespace {

// The value's text as stored: the whole object or array (a project's rate
// is an object), or the one token of a scalar.
simdjson::simdjson_result<std::string_view> raw_value(simdjson::ondemand::value& value,
                                                      simdjson::ondemand::json_type type) {
  if (type == simdjson::ondemand::json_type::object) {
    simdjson::ondemand::object o;
    if (auto error = value.get_object().get(o)) return error;
    return o.raw_json();
  }
  if (type == simdjson::ondemand::json_type::array) {
    simdjson::ondemand::array a;
    if (auto error = value.get_array().get(a)) return error;
    return a.raw_json();
  }
  return value.raw_json_token();
}

}  // namespace

std::optional<std::string> blank_rate(std::string_view body) {
  thread_local simdjson::ondemand::parser parser;
  const simdjson::padded_string padded(body);
  simdjson::ondemand::document doc;
  simdjson::ondemand::object object;
  if (parser.iterate(padded).get(doc) || doc.get_object().get(object)) return std::nullopt;
  for (auto field : object) {
    // The key as written, escapes and all, as json_replace's path matches it.
    simdjson::ondemand::raw_json_string key;
    if (field.key().get(key)) return std::nullopt;
    if (!key.is_equal("rate")) continue;
    simdjson::ondemand::value value;
    simdjson::ondemand::json_type type;
    std::string_view token;
    if (field.value().get(value) || value.type().get(type)) return std::nullopt;
    if (raw_value(value, type).get(token)) return std::nullopt;
    token = without_trailing_json_space(token);
    const auto at = static_cast<std::size_t>(token.data() - padded.data());
    std::string out;
    out.reserve(body.size() + 4);
    out.append(body.substr(0, at)).append("null").append(body.substr(at + token.size()));
    return out;
  }
  return std::string(body);
}

}  // namespace focus::store::detail
