#include "model/json_reader.hpp"

#include <limits>

namespace focus::model::detail {

std::string_view json_type_name(const nlohmann::json& v) {
  switch (v.type()) {
    case nlohmann::json::value_t::null: return "null";
    case nlohmann::json::value_t::boolean: return "boolean";
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned: return "integer";
    case nlohmann::json::value_t::number_float: return "number";
    case nlohmann::json::value_t::string: return "string";
    case nlohmann::json::value_t::array: return "array";
    case nlohmann::json::value_t::object: return "object";
    default: return "binary";
  }
}

JsonReader::JsonReader(const nlohmann::json& object, std::string what, std::string path)
    : object_(object), what_(std::move(what)), path_(std::move(path)) {}

JsonReader object_reader(const nlohmann::json& value, std::string what) {
  if (!value.is_object())
    throw DecodeError("", what + ": expected a JSON object, got " +
                              std::string(json_type_name(value)));
  return JsonReader(value, std::move(what));
}

void JsonReader::fail(std::string_view key, std::string_view problem) const {
  std::string field = path_ + std::string(key);
  // `problem` is either a predicate ("is required") or ": expected ...".
  std::string sep = problem.starts_with(":") ? "" : " ";
  throw DecodeError(field, what_ + ": field '" + field + "'" + sep + std::string(problem));
}

void JsonReader::type_error(std::string_view key, const nlohmann::json& v,
                            std::string_view expected) const {
  fail(key, ": expected " + std::string(expected) + ", got " + std::string(json_type_name(v)));
}

const nlohmann::json* JsonReader::find(std::string_view key) const {
  auto it = object_.find(key);
  return it == object_.end() ? nullptr : &*it;
}

bool JsonReader::has(std::string_view key) const { return find(key) != nullptr; }

bool JsonReader::is_null(std::string_view key) const {
  auto v = find(key);
  return v && v->is_null();
}

Id JsonReader::id_value(const nlohmann::json& v, std::string_view key) const {
  if (v.is_number_unsigned()) {
    auto u = v.get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(std::numeric_limits<Id>::max()))
      fail(key, "is out of range for a 64-bit id");
    return static_cast<Id>(u);
  }
  if (v.is_number_integer()) return v.get<Id>();
  type_error(key, v, "integer");
}

std::string JsonReader::string_value(const nlohmann::json& v, std::string_view key) const {
  if (!v.is_string()) type_error(key, v, "string");
  return v.get<std::string>();
}

std::optional<Id> JsonReader::optional_id(std::string_view key) const {
  auto v = find(key);
  if (!v || v->is_null()) return std::nullopt;
  return id_value(*v, key);
}

std::optional<std::int64_t> JsonReader::optional_int(std::string_view key) const {
  return optional_id(key);  // same range and type rules as ids
}

std::optional<double> JsonReader::optional_number(std::string_view key) const {
  auto v = find(key);
  if (!v || v->is_null()) return std::nullopt;
  if (!v->is_number()) type_error(key, *v, "number");
  return v->get<double>();
}

std::optional<bool> JsonReader::optional_bool(std::string_view key) const {
  auto v = find(key);
  if (!v || v->is_null()) return std::nullopt;
  if (!v->is_boolean()) type_error(key, *v, "boolean");
  return v->get<bool>();
}

std::optional<std::string> JsonReader::optional_string(std::string_view key) const {
  auto v = find(key);
  if (!v || v->is_null()) return std::nullopt;
  return string_value(*v, key);
}

std::optional<Timestamp> JsonReader::optional_time(std::string_view key) const {
  auto text = optional_string(key);
  if (!text) return std::nullopt;
  auto t = parse_rfc3339(*text);
  if (!t) fail(key, "is not an RFC 3339 date-time: '" + *text + "'");
  return t;
}

std::optional<Date> JsonReader::optional_date(std::string_view key) const {
  auto text = optional_string(key);
  if (!text) return std::nullopt;
  auto d = parse_date(*text);
  if (!d) fail(key, "is not a date (YYYY-MM-DD): '" + *text + "'");
  return d;
}

std::optional<std::vector<Id>> JsonReader::optional_id_array(std::string_view key) const {
  auto v = find(key);
  if (!v || v->is_null()) return std::nullopt;
  if (!v->is_array()) type_error(key, *v, "array of integers");
  std::vector<Id> ids;
  ids.reserve(v->size());
  for (std::size_t i = 0; i < v->size(); ++i)
    ids.push_back(id_value((*v)[i], std::string(key) + "[" + std::to_string(i) + "]"));
  return ids;
}

Id JsonReader::required_id(std::string_view key) const {
  auto id = optional_id(key);
  if (!id) fail(key, "is required");
  return *id;
}

JsonReader JsonReader::nested(std::string_view key) const {
  return JsonReader(*find(key), what_, path_ + std::string(key) + ".");
}

}  // namespace focus::model::detail
