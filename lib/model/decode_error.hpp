#pragma once
// The one exception the model's decoders throw: a JSON value that does not fit
// the Focus API's shapes. The message names the project (when its id was
// readable) and the field path, e.g.
//   "project 42: field 'fixed_fee.amount': expected number, got string".

#include <stdexcept>
#include <string>

namespace focus::model {

class DecodeError : public std::runtime_error {
 public:
  DecodeError(std::string field, std::string message)
      : std::runtime_error(message), field_(std::move(field)) {}
  // The dotted path of the offending field ("" when the whole value is wrong).
  const std::string& field() const { return field_; }

 private:
  std::string field_;
};

}  // namespace focus::model
