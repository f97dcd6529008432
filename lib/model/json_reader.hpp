#pragma once
// Internal to lib/model (and the page decoder in lib/upstream): typed reads
// of one JSON object's fields, each failing with a DecodeError that names the
// field path and the entity being decoded (e.g. "project 42"). Missing fields
// and nulls are the caller's choice via the optional_* and required_*
// families. The rules are stated once, over any parser's value type
// (json_value.hpp); JsonReader is the one over nlohmann::json. Borrows the
// JSON; lives on the stack.

#include "core/time.hpp"
#include "model/decode_error.hpp"
#include "model/json_value.hpp"
#include "model/project.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace focus::model::detail {

template <class Value>
class BasicJsonReader {
 public:
  // `what` names the entity for errors ("project 42", "project body").
  // `path` prefixes field names for nested objects ("fixed_fee.").
  BasicJsonReader(Value object, std::string what, std::string path = "")
      : fields_(object), what_(std::move(what)), path_(std::move(path)) {}

  bool has(std::string_view key) const { return find(key).has_value(); }  // present, null or not
  bool is_null(std::string_view key) const {  // present and null
    auto v = find(key);
    return v && v->is_null();
  }
  std::optional<Value> find(std::string_view key) const { return fields_.find(key); }  // nullopt when absent

  // Absent or null -> nullopt; wrong type -> DecodeError.
  std::optional<Id> optional_id(std::string_view key) const {
    auto v = find(key);
    if (!v || v->is_null()) return std::nullopt;
    return id_value(*v, key);
  }
  std::optional<std::int64_t> optional_int(std::string_view key) const {
    return optional_id(key);  // same range and type rules as ids
  }
  std::optional<double> optional_number(std::string_view key) const {
    auto v = find(key);
    if (!v || v->is_null()) return std::nullopt;
    switch (v->type()) {
      case JsonType::integer: return static_cast<double>(v->get_int64());
      case JsonType::big_unsigned: return static_cast<double>(v->get_uint64());
      case JsonType::number: return v->get_double();
      default: type_error(key, *v, "number");
    }
  }
  std::optional<bool> optional_bool(std::string_view key) const {
    auto v = find(key);
    if (!v || v->is_null()) return std::nullopt;
    if (v->type() != JsonType::boolean) type_error(key, *v, "boolean");
    return v->get_bool();
  }
  std::optional<std::string> optional_string(std::string_view key) const {
    auto v = find(key);
    if (!v || v->is_null()) return std::nullopt;
    return string_value(*v, key);
  }
  std::optional<Timestamp> optional_time(std::string_view key) const {
    return optional_text_as(key, parse_rfc3339, "an RFC 3339 date-time");
  }
  std::optional<Date> optional_date(std::string_view key) const {
    return optional_text_as(key, parse_date, "a date (YYYY-MM-DD)");
  }
  std::optional<std::vector<Id>> optional_id_array(std::string_view key) const {
    auto v = find(key);
    if (!v || v->is_null()) return std::nullopt;
    if (!v->is_array()) type_error(key, *v, "array of integers");
    std::vector<Id> ids;
    ids.reserve(v->size());
    v->for_each_element([&](std::size_t i, const Value& item) {
      ids.push_back(id_value(item, std::string(key) + "[" + std::to_string(i) + "]"));
    });
    return ids;
  }

  // Absent or null -> DecodeError "is required".
  Id required_id(std::string_view key) const {
    auto id = optional_id(key);
    if (!id) fail(key, "is required");
    return *id;
  }

  // Converts one JSON value as if it were field `key`.
  Id id_value(const Value& v, std::string_view key) const {
    switch (v.type()) {
      case JsonType::integer: return v.get_int64();
      case JsonType::big_unsigned: fail(key, "is out of range for a 64-bit id");
      default: type_error(key, v, "integer");
    }
  }
  std::string string_value(const Value& v, std::string_view key) const {
    if (v.type() != JsonType::string) type_error(key, v, "string");
    return std::string(v.get_string());
  }

  // A reader for the nested object at `key` (the caller checked it is one).
  BasicJsonReader nested(std::string_view key) const {
    return BasicJsonReader(*find(key), what_, path_ + std::string(key) + ".");
  }
  const std::string& what() const { return what_; }

  [[noreturn]] void fail(std::string_view key, std::string_view problem) const {
    std::string field = path_ + std::string(key);
    // `problem` is either a predicate ("is required") or ": expected ...".
    std::string sep = problem.starts_with(":") ? "" : " ";
    throw DecodeError(field, what_ + ": field '" + field + "'" + sep + std::string(problem));
  }
  [[noreturn]] void type_error(std::string_view key, const Value& v, std::string_view expected) const {
    fail(key, ": expected " + std::string(expected) + ", got " + std::string(json_type_name(v.type())));
  }

 private:
  // A string field read by `parse` (which answers nullopt for a bad text).
  template <class Parse>
  auto optional_text_as(std::string_view key, Parse parse, std::string_view expected) const
      -> decltype(parse(std::string_view())) {
    auto text = optional_string(key);
    if (!text) return std::nullopt;
    auto parsed = parse(*text);
    if (!parsed) fail(key, "is not " + std::string(expected) + ": '" + *text + "'");
    return parsed;
  }

  typename Value::Fields fields_;  // the object's fields, found by key
  std::string what_;
  std::string path_;
};

using JsonReader = BasicJsonReader<NlohmannValue>;

// The reader for a top-level value, which must be an object.
template <class Value>
BasicJsonReader<Value> object_reader(const Value& value, std::string what) {
  if (!value.is_object())
    throw DecodeError("", what + ": expected a JSON object, got " + std::string(json_type_name(value.type())));
  return BasicJsonReader<Value>(value, std::move(what));
}

inline JsonReader object_reader(const nlohmann::json& value, std::string what) {
  return object_reader(NlohmannValue(value), std::move(what));
}

}  // namespace focus::model::detail
