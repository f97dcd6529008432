#pragma once
// Internal to lib/model: typed reads of one JSON object's fields, each failing
// with a DecodeError that names the field path and the entity being decoded
// (e.g. "project 42"). Missing fields and nulls are the caller's choice via the
// optional_* and required_* families. Borrows the JSON; lives on the stack.

#include "core/time.hpp"
#include "model/decode_error.hpp"
#include "model/project.hpp"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace focus::model::detail {

class JsonReader {
 public:
  // `what` names the entity for errors ("project 42", "project body").
  // `path` prefixes field names for nested objects ("fixed_fee.").
  JsonReader(const nlohmann::json& object, std::string what, std::string path = "");

  bool has(std::string_view key) const;  // present, null or not
  bool is_null(std::string_view key) const;  // present and null
  const nlohmann::json* find(std::string_view key) const;  // nullptr when absent

  // Absent or null -> nullopt; wrong type -> DecodeError.
  std::optional<Id> optional_id(std::string_view key) const;
  std::optional<std::int64_t> optional_int(std::string_view key) const;
  std::optional<double> optional_number(std::string_view key) const;
  std::optional<bool> optional_bool(std::string_view key) const;
  std::optional<std::string> optional_string(std::string_view key) const;
  std::optional<Timestamp> optional_time(std::string_view key) const;
  std::optional<Date> optional_date(std::string_view key) const;
  std::optional<std::vector<Id>> optional_id_array(std::string_view key) const;

  // Absent or null -> DecodeError "is required".
  Id required_id(std::string_view key) const;

  // Converts one JSON value as if it were field `key`.
  Id id_value(const nlohmann::json& v, std::string_view key) const;
  std::string string_value(const nlohmann::json& v, std::string_view key) const;

  // A reader for the nested object at `key` (the caller checked it is one).
  JsonReader nested(std::string_view key) const;
  const std::string& what() const { return what_; }
  [[noreturn]] void fail(std::string_view key, std::string_view problem) const;
  [[noreturn]] void type_error(std::string_view key, const nlohmann::json& v,
                               std::string_view expected) const;

 private:
  const nlohmann::json& object_;
  std::string what_;
  std::string path_;
};

// The reader for a top-level value, which must be an object.
JsonReader object_reader(const nlohmann::json& value, std::string what);

// A JSON type name as a person would say it ("string", "number", ...).
std::string_view json_type_name(const nlohmann::json& v);

}  // namespace focus::model::detail
