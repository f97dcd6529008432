#include "sim/authenticator.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <stdexcept>

namespace focus::sim {
namespace {

std::optional<std::string> base64_decode(std::string_view in) {
  if (in.empty() || in.size() % 4 != 0) return std::nullopt;
  std::string out(in.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  if (n < 0) return std::nullopt;
  // EVP_DecodeBlock counts the bytes that padding stands for; drop them.
  std::size_t padding = std::count(in.end() - 2, in.end(), '=');
  out.resize(static_cast<std::size_t>(n) - padding);
  return out;
}

// A key stands for its user without being repeated anywhere it might be shown.
std::string key_principal(std::string_view key) {
  return "key:" + std::to_string(std::hash<std::string_view>{}(key) % 1000000007);
}

}  // namespace

void Authenticator::add_user(const std::string& spec) {
  auto colon = spec.find(':');
  if (colon == std::string::npos || colon == 0)
    throw std::invalid_argument("--user wants email:password");
  users_.emplace_back(spec.substr(0, colon), spec.substr(colon + 1));
}

std::optional<std::string> Authenticator::principal(const http::Request& request) const {
  auto header = request.header("Authorization");
  if (!header) return std::nullopt;
  std::string_view value = *header;
  if (value.starts_with("Bearer ")) {
    std::string_view key = value.substr(7);
    if (key.empty()) return std::nullopt;
    if (open() || std::find(keys_.begin(), keys_.end(), key) != keys_.end()) return key_principal(key);
    return std::nullopt;
  }
  if (value.starts_with("Basic ")) {
    auto decoded = base64_decode(value.substr(6));
    if (!decoded) return std::nullopt;
    auto colon = decoded->find(':');
    if (colon == std::string::npos || colon == 0) return std::nullopt;
    std::string email = decoded->substr(0, colon), password = decoded->substr(colon + 1);
    if (open() || std::find(users_.begin(), users_.end(), std::pair{email, password}) != users_.end())
      return "user:" + email;
  }
  return std::nullopt;
}

}  // namespace focus::sim
