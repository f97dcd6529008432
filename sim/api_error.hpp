#pragma once
// The error every focus-sim operation throws when the Focus API would answer
// with a 4xx: the HTTP status and the message for the JSON error body. The
// route layer is the one place that catches it and turns it into a response.

#include <stdexcept>
#include <string>

namespace focus::sim {

class ApiError : public std::runtime_error {
 public:
  ApiError(int status, std::string message) : std::runtime_error(std::move(message)), status_(status) {}
  int status() const { return status_; }

 private:
  int status_;
};

inline ApiError bad_request(std::string message) { return ApiError(400, std::move(message)); }
inline ApiError not_found(std::string message) { return ApiError(404, std::move(message)); }

}  // namespace focus::sim
