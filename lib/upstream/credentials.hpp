#pragma once
// How focussync proves who it is to the Focus API: a personal API key
// (Authorization: Bearer) or email and password (Basic). Secrets are read from
// a file, an environment variable or a systemd credential
// ($CREDENTIALS_DIRECTORY/NAME, from LoadCredential=), never from argv. A
// Credentials value never prints its secret: describe() names only the kind
// and where it came from, and secrets() lists what to redact from any text
// that might echo it. Plain value; any thread.

#include "config/config.hpp"

#include <string>
#include <vector>

namespace focus::upstream {

class Credentials {
 public:
  static Credentials api_key(std::string key, std::string origin);
  static Credentials basic(std::string email, std::string password, std::string origin);

  std::string authorization_header() const;  // the value of Authorization:
  std::string describe() const;              // e.g. "API key from file /etc/key"
  std::vector<std::string> secrets() const;  // for redact()
  // Names whose credentials these are, without revealing them: 16 hex digits
  // of a SHA-256 over the key (or the email), so what is learned about "this
  // key's user" is forgotten when the key changes.
  std::string key_id() const;

 private:
  enum class Kind { bearer, basic } kind_ = Kind::bearer;
  std::string user_;  // the key, or the email
  std::string password_;
  std::string origin_;
};

// How read_secret_file judges who else could read the file, as ssh judges
// a private key: a file owned by another user than focussyncd's (root
// aside), or with any group or other permission bit, is refused with the
// command that fixes it (`chmod 600 FILE`), or only logged as a warning.
enum class SecretFileCheck { none, refuse, warn };

// Each reads one secret (the first line, without trailing whitespace) and
// throws std::runtime_error naming the source, never its content, when it is
// missing or empty.
std::string read_secret_file(const std::string& path, SecretFileCheck check = SecretFileCheck::none);
std::string read_secret_env(const std::string& variable);
std::string read_systemd_credential(const std::string& name);

// The credentials the [upstream] config section points at (API key or email
// + password), read now. A *_file is checked with SecretFileCheck::refuse
// (::warn with allow_insecure_key_file); environment variables and systemd
// credentials are not. Throws std::runtime_error naming the source.
Credentials load_credentials(const config::Upstream& upstream);

// `text` with every secret of 4 or more characters replaced by "***"
// (shorter ones would match inside ordinary words).
std::string redact(std::string text, const std::vector<std::string>& secrets);

}  // namespace focus::upstream
