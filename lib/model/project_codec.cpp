#include "model/project_codec.hpp"

#include "model/json_limits.hpp"
#include "model/project_decode.hpp"

#include <openssl/evp.h>
#include <xxhash.h>

#include <memory>
#include <stdexcept>

namespace focus::model {

using nlohmann::json;

Project decode_project(const json& value) { return detail::decode_project_value(detail::NlohmannValue(value)); }

Project decode_project(std::string_view json_text) {
  json value = parse_bounded(json_text);
  if (value.is_discarded()) throw DecodeError("", "project: malformed JSON (or nested deeper than " +
                                                      std::to_string(kMaxJsonDepth) + " levels)");
  return decode_project(value);
}

namespace {

// 16 bytes as 32 lower-case hex digits: how both digests are stored.
std::string hex128(const unsigned char* bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex(32, '0');
  for (std::size_t i = 0; i < 16; ++i) {
    hex[2 * i] = kHex[bytes[i] >> 4];
    hex[2 * i + 1] = kHex[bytes[i] & 0xf];
  }
  return hex;
}

}  // namespace

std::string content_hash(std::string_view canonical) {
  // The digest is fetched once and the context kept per thread: OpenSSL 3
  // looks the algorithm up again on every EVP_sha256() digest otherwise,
  // which cost as much as hashing a project.
  static EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  thread_local const std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (!sha256 || !ctx || EVP_DigestInit_ex2(ctx.get(), sha256, nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), canonical.data(), canonical.size()) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), digest, &length) != 1)
    throw std::runtime_error("content_hash: SHA-256 failed");
  return hex128(digest);
}

std::string listing_digest(std::string_view text) {
  XXH128_canonical_t canonical;  // big-endian: the same digits on every machine
  XXH128_canonicalFromHash(&canonical, XXH3_128bits(text.data(), text.size()));
  return hex128(canonical.digest);
}

}  // namespace focus::model
