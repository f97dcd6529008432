#include "upstream/credentials.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <utility>

namespace focus::upstream {
namespace {

constexpr std::size_t kShortestRedacted = 4;

std::string base64(const std::string& in) {
  std::string out(4 * ((in.size() + 2) / 3), '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::string first_line(std::string text) {
  auto newline = text.find('\n');
  if (newline != std::string::npos) text.resize(newline);
  while (!text.empty() && (text.back() == '\r' || text.back() == ' ' || text.back() == '\t')) text.pop_back();
  return text;
}

}  // namespace

Credentials Credentials::api_key(std::string key, std::string origin) {
  Credentials c;
  c.kind_ = Kind::bearer;
  c.user_ = std::move(key);
  c.origin_ = std::move(origin);
  return c;
}

Credentials Credentials::basic(std::string email, std::string password, std::string origin) {
  Credentials c;
  c.kind_ = Kind::basic;
  c.user_ = std::move(email);
  c.password_ = std::move(password);
  c.origin_ = std::move(origin);
  return c;
}

std::string Credentials::authorization_header() const {
  if (kind_ == Kind::bearer) return "Bearer " + user_;
  return "Basic " + base64(user_ + ":" + password_);
}

std::string Credentials::describe() const {
  return (kind_ == Kind::bearer ? "API key " : "password of " + user_ + " ") + origin_;
}

std::vector<std::string> Credentials::secrets() const {
  if (kind_ == Kind::bearer) return {user_, authorization_header()};
  return {password_, authorization_header().substr(6)};
}

std::string read_secret_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read secret file '" + path + "'");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::string secret = first_line(std::move(text));
  if (secret.empty()) throw std::runtime_error("secret file '" + path + "' is empty");
  return secret;
}

std::string read_secret_env(const std::string& variable) {
  const char* value = std::getenv(variable.c_str());
  if (!value || !*value) throw std::runtime_error("environment variable " + variable + " is not set or empty");
  std::string secret = first_line(value);
  if (secret.empty()) throw std::runtime_error("environment variable " + variable + " is empty");
  return secret;
}

std::string read_systemd_credential(const std::string& name) {
  const char* dir = std::getenv("CREDENTIALS_DIRECTORY");
  if (!dir || !*dir)
    throw std::runtime_error("systemd credential '" + name + "' asked for, but $CREDENTIALS_DIRECTORY is not set (use LoadCredential=)");
  if (name.find('/') != std::string::npos) throw std::runtime_error("systemd credential name '" + name + "' must not contain '/'");
  return read_secret_file(std::string(dir) + "/" + name);
}

namespace {

std::pair<std::string, std::string> read_source(const config::SecretSource& source) {
  if (source.file) return {read_secret_file(*source.file), "from file " + *source.file};
  if (source.env) return {read_secret_env(*source.env), "from environment variable " + *source.env};
  return {read_systemd_credential(*source.credential), "from systemd credential " + *source.credential};
}

}  // namespace

Credentials load_credentials(const config::Upstream& upstream) {
  if (upstream.api_key) {
    auto [key, origin] = read_source(*upstream.api_key);
    return Credentials::api_key(std::move(key), std::move(origin));
  }
  if (upstream.email && upstream.password) {
    auto [password, origin] = read_source(*upstream.password);
    return Credentials::basic(*upstream.email, std::move(password), std::move(origin));
  }
  throw std::runtime_error("no credentials configured in [upstream]");
}

std::string redact(std::string text, const std::vector<std::string>& secrets) {
  // Longest first, so "Bearer KEY" goes whole rather than leaving "Bearer ***".
  std::vector<std::string> ordered = secrets;
  std::sort(ordered.begin(), ordered.end(), [](const auto& a, const auto& b) { return a.size() > b.size(); });
  for (const auto& secret : ordered) {
    // A secret of a few characters would match inside ordinary words and
    // garble every message; real keys and passwords are longer than this.
    if (secret.size() < kShortestRedacted) continue;
    for (auto pos = text.find(secret); pos != std::string::npos; pos = text.find(secret, pos + 3))
      text.replace(pos, secret.size(), "***");
  }
  return text;
}

}  // namespace focus::upstream
