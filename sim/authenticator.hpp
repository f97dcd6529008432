#pragma once
// Who is calling: `Authorization: Bearer KEY` for a configured API key, or
// Basic email:password for a configured user. With nothing configured the
// simulator is open: any well-formed Bearer or Basic credential is accepted
// (a request without one is still refused, as the real service refuses it).
// Secrets are compared, never logged. Owned by the Simulator; single-threaded.

#include "http/message.hpp"

#include <optional>
#include <string>
#include <vector>

namespace focus::sim {

class Authenticator {
 public:
  void add_api_key(std::string key) { keys_.push_back(std::move(key)); }
  // "email:password"; throws std::invalid_argument without a colon.
  void add_user(const std::string& email_colon_password);
  bool open() const { return keys_.empty() && users_.empty(); }

  // The principal (a key's fingerprint or the email) that quotas are kept
  // for, or nullopt when the request must be answered 401.
  std::optional<std::string> principal(const http::Request& request) const;

 private:
  std::vector<std::string> keys_;
  std::vector<std::pair<std::string, std::string>> users_;
};

}  // namespace focus::sim
