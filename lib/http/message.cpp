#include "http/message.hpp"

#include <algorithm>
#include <cctype>

namespace focus::http {
namespace {

std::optional<std::string_view> find_header(const std::vector<Header>& headers, std::string_view name) {
  for (const auto& h : headers)
    if (iequals(h.name, name)) return std::string_view(h.value);
  return std::nullopt;
}

}  // namespace

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](unsigned char x, unsigned char y) {
           return std::tolower(x) == std::tolower(y);
         });
}

std::optional<std::string_view> Request::header(std::string_view name) const {
  return find_header(headers, name);
}

std::optional<std::string_view> Response::header(std::string_view name) const {
  return find_header(headers, name);
}

Response& Response::set_header(std::string name, std::string value) {
  for (auto& h : headers)
    if (iequals(h.name, name)) {
      h.value = std::move(value);
      return *this;
    }
  headers.push_back({std::move(name), std::move(value)});
  return *this;
}

}  // namespace focus::http
