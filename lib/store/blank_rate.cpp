#include "store/blank_rate.hpp"

#include "core/text.hpp"

#include <simdjson.h>

namespace focus::store::detail {

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
    if (field.value().get(value) || value.type().get(type)) return std::nullopt;
    if (type == simdjson::ondemand::json_type::object || type == simdjson::ondemand::json_type::array)
      return std::nullopt;
    const std::string_view token = without_trailing_json_space(value.raw_json_token());
    const auto at = static_cast<std::size_t>(token.data() - padded.data());
    std::string out;
    out.reserve(body.size() + 4);
    out.append(body.substr(0, at)).append("null").append(body.substr(at + token.size()));
    return out;
  }
  return std::string(body);
}

}  // namespace focus::store::detail
