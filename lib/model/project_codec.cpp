#include "model/project_codec.hpp"

#include "model/json_limits.hpp"
#include "model/project_decode.hpp"

#include <openssl/evp.h>

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

std::string content_hash(std::string_view canonical) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(canonical.data(), canonical.size(), digest, &length, EVP_sha256(), nullptr) != 1)
    throw std::runtime_error("content_hash: SHA-256 failed");
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(32);
  for (unsigned i = 0; i < 16; ++i) {
    hex.push_back(kHex[digest[i] >> 4]);
    hex.push_back(kHex[digest[i] & 0xf]);
  }
  return hex;
}

}  // namespace focus::model
