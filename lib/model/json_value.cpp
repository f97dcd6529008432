#include "model/json_value.hpp"

#include <limits>

namespace focus::model::detail {

std::string_view json_type_name(JsonType type) {
  switch (type) {
    case JsonType::null: return "null";
    case JsonType::boolean: return "boolean";
    case JsonType::integer:
    case JsonType::big_unsigned: return "integer";
    case JsonType::number: return "number";
    case JsonType::string: return "string";
    case JsonType::array: return "array";
    case JsonType::object: return "object";
  }
  return "value";
}

JsonType NlohmannValue::type() const {
  using T = nlohmann::json::value_t;
  switch (v_->type()) {
    case T::null: return JsonType::null;
    case T::boolean: return JsonType::boolean;
    case T::number_integer: return JsonType::integer;
    case T::number_unsigned:
      return v_->get<std::uint64_t>() > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())
                 ? JsonType::big_unsigned
                 : JsonType::integer;
    case T::number_float: return JsonType::number;
    case T::string: return JsonType::string;
    case T::array: return JsonType::array;
    case T::object: return JsonType::object;
    default: return JsonType::null;  // binary: never made by parsing text
  }
}

}  // namespace focus::model::detail
