#pragma once
// Internal to lib/model (and the page decoder in lib/upstream): what the
// model's decoders need of one parsed JSON value, whichever parser read it.
// A value type is a cheap handle that borrows the parsed document; it has
//   type(), is_null(), is_object(), is_array(),
//   get_bool(), get_int64(), get_uint64(), get_double(), get_string(),
//   size() and for_each_element(f(index, value)) (arrays),
//   find(key) (objects, nullopt when absent),
//   for_each_member(f(key, value)) (objects, in document order),
//   to_json() (a nlohmann copy, for the fields kept verbatim),
//   and a type Fields: made from an object value, its find(key) answers
//   as the value's own find does; a reader, which looks up many fields of
//   one object, makes one and asks it (the value's find may be a scan).
// NlohmannValue is the one for nlohmann::json; the listing's simdjson value
// lives beside the page decoder. JsonReader (json_reader.hpp) states the
// type rules once over any of them.

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string_view>

namespace focus::model::detail {

// The JSON types as the decoders tell them apart: an integer that fits 64
// signed bits, a larger unsigned one, and every other number.
enum class JsonType { null, boolean, integer, big_unsigned, number, string, array, object };

// As a person would say it ("string", "number", ...).
std::string_view json_type_name(JsonType type);

class NlohmannValue {
 public:
  // nlohmann's objects are maps already: a reader asks the value itself.
  using Fields = NlohmannValue;

  NlohmannValue(const nlohmann::json& v) : v_(&v) {}  // NOLINT: implicit, as the json it stands for

  JsonType type() const;
  bool is_null() const { return v_->is_null(); }
  bool is_object() const { return v_->is_object(); }
  bool is_array() const { return v_->is_array(); }
  bool get_bool() const { return v_->get<bool>(); }
  std::int64_t get_int64() const { return v_->get<std::int64_t>(); }
  std::uint64_t get_uint64() const { return v_->get<std::uint64_t>(); }
  double get_double() const { return v_->get<double>(); }
  std::string_view get_string() const { return v_->get_ref<const std::string&>(); }
  std::size_t size() const { return v_->size(); }
  template <class F>
  void for_each_element(F&& f) const {
    for (std::size_t i = 0; i < v_->size(); ++i) f(i, NlohmannValue((*v_)[i]));
  }
  std::optional<NlohmannValue> find(std::string_view key) const {
    auto it = v_->find(key);
    if (it == v_->end()) return std::nullopt;
    return NlohmannValue(*it);
  }
  template <class F>
  void for_each_member(F&& f) const {
    for (const auto& [key, value] : v_->items()) f(std::string_view(key), NlohmannValue(value));
  }
  const nlohmann::json& to_json() const { return *v_; }

 private:
  const nlohmann::json* v_;
};

}  // namespace focus::model::detail
