#pragma once
// A field of a PATCH body, which has three states on the wire: absent (leave
// the value alone), null (clear it) and a value (set it). std::optional can
// only say two of those, hence this type. Plain value; any thread.

#include <optional>
#include <utility>

namespace focus::model {

template <class T>
class PatchField {
 public:
  PatchField() = default;  // absent
  static PatchField null() {
    PatchField f;
    f.present_ = true;
    return f;
  }
  static PatchField of(T value) {
    PatchField f;
    f.present_ = true;
    f.value_ = std::move(value);
    return f;
  }

  bool absent() const { return !present_; }
  bool is_null() const { return present_ && !value_; }
  bool has_value() const { return value_.has_value(); }
  const T& value() const { return *value_; }
  // The value the field asks for: nullopt for null (and for absent).
  const std::optional<T>& as_optional() const { return value_; }

  bool operator==(const PatchField&) const = default;

 private:
  bool present_ = false;
  std::optional<T> value_;
};

}  // namespace focus::model
