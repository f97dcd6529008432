#pragma once
// gzip bodies (Content-Encoding: gzip) through zlib. Pure functions; any thread.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace focus::http {

std::string gzip_compress(std::string_view data);

// nullopt when `data` is not valid gzip or inflates past `max_bytes` (which
// stops a small compressed answer from exhausting memory).
std::optional<std::string> gzip_decompress(std::string_view data, std::size_t max_bytes);

}  // namespace focus::http
