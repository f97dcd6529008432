#include "core/error.hpp"

namespace focus {
namespace {

class Category : public std::error_category {
 public:
  const char* name() const noexcept override { return "focussync"; }
  std::string message(int value) const override {
    switch (static_cast<Errc>(value)) {
      case Errc::timeout: return "timed out";
      case Errc::network: return "network error";
      case Errc::tls: return "TLS error";
      case Errc::body_too_large: return "response body too large";
      case Errc::bad_response: return "bad HTTP response";
      case Errc::unauthorized: return "unauthorized";
      case Errc::forbidden: return "forbidden";
      case Errc::not_found: return "not found";
      case Errc::bad_request: return "bad request";
      case Errc::quota_exhausted: return "quota exhausted";
      case Errc::rate_limited: return "rate limited";
      case Errc::server_error: return "server error";
      case Errc::bad_payload: return "bad payload";
      case Errc::outcome_unknown: return "outcome unknown";
    }
    return "unknown error";
  }
};

}  // namespace

const std::error_category& focus_category() {
  static const Category category;
  return category;
}

std::error_code make_error_code(Errc e) { return {static_cast<int>(e), focus_category()}; }

}  // namespace focus
