#include "upstream/credentials.hpp"

#include <openssl/evp.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <pwd.h>
#include <stdexcept>
#include <sys/stat.h>
#include <unistd.h>
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

std::string Credentials::key_id() const {
  const std::string input = std::string("focussync key id\n") + (kind_ == Kind::bearer ? "bearer\n" : "basic\n") + user_;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(input.data(), input.size(), digest, &length, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned i = 0; i < 8; ++i) {
    hex.push_back(kHex[digest[i] >> 4]);
    hex.push_back(kHex[digest[i] & 0xf]);
  }
  return hex;
}

std::vector<std::string> Credentials::secrets() const {
  if (kind_ == Kind::bearer) return {user_, authorization_header()};
  return {password_, authorization_header().substr(6)};
}

namespace {

// `text` as one shell word, so the command in an error can be pasted as is.
std::string shell_word(const std::string& text) {
  bool plain = !text.empty() && std::all_of(text.begin(), text.end(), [](unsigned char c) {
    return std::isalnum(c) || std::strchr("/._-+:@%,", c);
  });
  if (plain) return text;
  std::string quoted = "'";
  for (char c : text) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

std::string user_name(uid_t uid) {
  const passwd* pw = getpwuid(uid);
  return pw ? pw->pw_name : std::to_string(uid);
}

std::string octal_mode(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
  return text;
}

// What is wrong with who controls a secret file, as ssh judges a private
// key, or "" when only focussyncd's own user (or root) owns it and nobody
// else has any access to it.
std::string exposure(const struct stat& st, const std::string& path) {
  const uid_t me = geteuid();
  const bool foreign = st.st_uid != me && st.st_uid != 0;
  const bool shared = (st.st_mode & 077) != 0;
  if (!foreign && !shared) return "";
  std::string problem = foreign ? "is owned by " + user_name(st.st_uid) + ", not by " + user_name(me) + " that focussyncd runs as"
                                : "";
  if (shared) problem += (foreign ? ", and " : "") + std::string("is open to group or others (mode ") + octal_mode(st.st_mode) + ")";
  std::string fix = foreign ? "chown " + shell_word(user_name(me)) + " " + shell_word(path) : "";
  if (shared) fix += (foreign ? " && " : "") + std::string("chmod 600 ") + shell_word(path);
  return problem + ": fix it with `" + fix + "`";
}

std::string read_all(int fd, const std::string& path) {
  std::string text;
  char buffer[4096];
  for (;;) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw std::runtime_error("cannot read secret file '" + path + "': " + std::strerror(errno));
    if (n == 0) return text;
    text.append(buffer, static_cast<std::size_t>(n));
  }
}

}  // namespace

std::string read_secret_file(const std::string& path, SecretFileCheck check) {
  struct Fd {
    int fd;
    ~Fd() {
      if (fd >= 0) ::close(fd);
    }
  } file{::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY)};
  if (file.fd < 0) throw std::runtime_error("cannot read secret file '" + path + "': " + std::strerror(errno));
  // Judged on the file that was opened, not on a path a rename could swap
  // between the check and the read.
  struct stat st {};
  if (::fstat(file.fd, &st) != 0) throw std::runtime_error("cannot read secret file '" + path + "': " + std::strerror(errno));
  if (std::string problem = check == SecretFileCheck::none ? "" : exposure(st, path); !problem.empty()) {
    if (check == SecretFileCheck::refuse)
      throw std::runtime_error("the key file '" + path + "' " + problem +
                               " (or set [upstream] allow_insecure_key_file = true to only warn)");
    spdlog::warn("the key file '{}' {}; used anyway, as [upstream] allow_insecure_key_file = true says", path, problem);
  }
  std::string secret = first_line(read_all(file.fd, path));
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

std::pair<std::string, std::string> read_source(const config::SecretSource& source, bool allow_insecure_file) {
  // Only a file the user placed is checked: systemd makes credential files
  // private itself, and the environment has no mode.
  if (source.file)
    return {read_secret_file(*source.file, allow_insecure_file ? SecretFileCheck::warn : SecretFileCheck::refuse),
            "from file " + *source.file};
  if (source.env) return {read_secret_env(*source.env), "from environment variable " + *source.env};
  return {read_systemd_credential(*source.credential), "from systemd credential " + *source.credential};
}

}  // namespace

Credentials load_credentials(const config::Upstream& upstream) {
  if (upstream.api_key) {
    auto [key, origin] = read_source(*upstream.api_key, upstream.allow_insecure_key_file);
    return Credentials::api_key(std::move(key), std::move(origin));
  }
  if (upstream.email && upstream.password) {
    auto [password, origin] = read_source(*upstream.password, upstream.allow_insecure_key_file);
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
