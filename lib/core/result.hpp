#pragma once
// Result<T>: a value or an Error, for operations whose failure is an expected
// outcome the caller branches on (network and upstream calls). Accessing the
// wrong side is a programming error and throws std::logic_error.
// Result<void> carries no value. Plain data; any thread.

#include "core/error.hpp"

#include <stdexcept>
#include <utility>
#include <variant>

namespace focus {

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}
  Result(Error error) : v_(std::move(error)) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return checked<0>(); }
  const T& value() const& { return const_cast<Result*>(this)->template checked<0>(); }
  T&& value() && { return std::move(checked<0>()); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }

  const Error& error() const { return const_cast<Result*>(this)->template checked<1>(); }

 private:
  template <std::size_t I>
  auto& checked() {
    if (v_.index() != I) throw std::logic_error(I == 0 ? "Result: no value (it holds an error)" : "Result: no error");
    return std::get<I>(v_);
  }
  std::variant<T, Error> v_;
};

struct Unit {};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), failed_(true) {}
  bool ok() const { return !failed_; }
  explicit operator bool() const { return ok(); }
  const Error& error() const {
    if (!failed_) throw std::logic_error("Result: no error");
    return error_;
  }

 private:
  Error error_;
  bool failed_ = false;
};

inline Error make_error(Errc code, std::string message) { return Error{make_error_code(code), std::move(message)}; }

}  // namespace focus
