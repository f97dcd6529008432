#pragma once
// Internal to lib/upstream's page decoder (answer.cpp): a simdjson DOM
// element as the model's decoders read values (model/json_value.hpp), so a
// listed project is decoded straight from the page simdjson parsed, by the
// same rules as a body nlohmann parsed. A handle into the parser's document:
// valid until that parser parses again.

#include "model/decode_error.hpp"
#include "model/json_value.hpp"

#include <boost/container/small_vector.hpp>
#include <simdjson.h>

#include <algorithm>

namespace focus::upstream::detail {

// The last member of `o` named `key`, as nlohmann keeps the last of
// duplicates (simdjson's at_key finds the first).
inline std::optional<simdjson::dom::element> last_member(simdjson::dom::object o, std::string_view key) {
  std::optional<simdjson::dom::element> found;
  for (auto field : o)
    if (field.key == key) found = field.value;
  return found;
}

class SimdjsonValue {
 public:
  explicit SimdjsonValue(simdjson::dom::element e) : e_(e) {}

  // One object's members sorted by key, for a reader: a project's thirty
  // lookups are a binary search each instead of a scan of every member.
  // Equal keys keep document order, so the last of duplicates is found, as
  // by find. A small object is scanned: sorting it would cost more.
  class Fields {
   public:
    explicit Fields(const SimdjsonValue& object);
    std::optional<SimdjsonValue> find(std::string_view key) const;

   private:
    struct Member {
      std::string_view key;
      simdjson::dom::element value;
    };
    static constexpr std::size_t kScanned = 8;
    simdjson::dom::element object_;
    boost::container::small_vector<Member, 40> sorted_;  // empty when scanned
  };

  model::detail::JsonType type() const {
    using T = simdjson::dom::element_type;
    using J = model::detail::JsonType;
    switch (e_.type()) {
      case T::NULL_VALUE: return J::null;
      case T::BOOL: return J::boolean;
      case T::INT64: return J::integer;
      case T::UINT64: return J::big_unsigned;  // simdjson uses it only past INT64_MAX
      case T::DOUBLE: return J::number;
      case T::STRING: return J::string;
      case T::ARRAY: return J::array;
      case T::OBJECT: return J::object;
    }
    return J::null;
  }
  bool is_null() const { return e_.is_null(); }
  bool is_object() const { return e_.is_object(); }
  bool is_array() const { return e_.is_array(); }
  bool get_bool() const { return bool(e_.get_bool()); }
  std::int64_t get_int64() const { return std::int64_t(e_.get_int64()); }
  std::uint64_t get_uint64() const { return std::uint64_t(e_.get_uint64()); }
  double get_double() const { return double(e_.get_double()); }
  std::string_view get_string() const { return std::string_view(e_.get_string()); }
  std::size_t size() const { return simdjson::dom::array(e_.get_array()).size(); }
  template <class F>
  void for_each_element(F&& f) const {
    std::size_t i = 0;
    for (auto item : simdjson::dom::array(e_.get_array())) f(i++, SimdjsonValue(item));
  }
  std::optional<SimdjsonValue> find(std::string_view key) const {
    auto found = last_member(simdjson::dom::object(e_.get_object()), key);
    if (!found) return std::nullopt;
    return SimdjsonValue(*found);
  }
  template <class F>
  void for_each_member(F&& f) const {
    for (auto field : simdjson::dom::object(e_.get_object())) f(field.key, SimdjsonValue(field.value));
  }
  // simdjson's minified text, read by nlohmann; should that ever fail, the
  // project is refused with a message rather than an exception of nlohmann's.
  nlohmann::json to_json() const {
    auto j = nlohmann::json::parse(simdjson::minify(e_), nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) throw model::DecodeError("", "a listed project's unknown field could not be read back");
    return j;
  }

 private:
  simdjson::dom::element e_;
};

inline SimdjsonValue::Fields::Fields(const SimdjsonValue& object) : object_(object.e_) {
  simdjson::dom::object o;
  if (object_.get_object().get(o) || o.size() <= kScanned) return;
  for (auto field : o) sorted_.push_back({field.key, field.value});
  std::stable_sort(sorted_.begin(), sorted_.end(), [](const Member& a, const Member& b) { return a.key < b.key; });
}

inline std::optional<SimdjsonValue> SimdjsonValue::Fields::find(std::string_view key) const {
  if (sorted_.empty()) return SimdjsonValue(object_).find(key);
  auto after = std::upper_bound(sorted_.begin(), sorted_.end(), key,
                                [](std::string_view k, const Member& m) { return k < m.key; });
  if (after == sorted_.begin() || std::prev(after)->key != key) return std::nullopt;
  return SimdjsonValue(std::prev(after)->value);
}

}  // namespace focus::upstream::detail
