#include "http/target.hpp"

#include <boost/url/parse.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>
#include <boost/url/url_view.hpp>

#include <cctype>

namespace focus::http {
namespace {

// Characters RFC 3986 allows unescaped in a path or query, besides '%'.
bool allowed_raw(unsigned char c) {
  return std::isalnum(c) || std::string_view("-._~!$&'()*+,;=:@/?%").find(static_cast<char>(c)) != std::string_view::npos;
}

// Clients commonly send "client_id[]=1" or spaces unescaped; escape what the
// grammar forbids rather than refuse the request.
std::string escape_lenient(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    if (allowed_raw(c)) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
  }
  return out;
}

}  // namespace

std::optional<Target> parse_target(std::string_view raw) {
  std::string text = escape_lenient(raw);
  auto parsed = boost::urls::parse_origin_form(text);
  if (!parsed) return std::nullopt;
  const boost::urls::url_view& url = *parsed;
  Target t;
  t.path = std::string(url.path());  // decoded
  for (auto seg : url.segments())
    if (!seg.empty()) t.segments.emplace_back(seg);
  for (auto p : url.params()) t.params.push_back({std::string(p.key), std::string(p.value), p.has_value});
  return t;
}

std::vector<const QueryParam*> Target::all(std::string_view key) const {
  std::vector<const QueryParam*> out;
  for (const auto& p : params)
    if (p.key == key || (p.key.size() == key.size() + 2 && p.key.starts_with(key) && p.key.ends_with("[]")))
      out.push_back(&p);
  return out;
}

const QueryParam* Target::last(std::string_view key) const {
  auto found = all(key);
  return found.empty() ? nullptr : found.back();
}

std::string query_string(const std::vector<QueryParam>& params) {
  std::string out;
  for (const auto& p : params) {
    out += out.empty() ? '?' : '&';
    out += boost::urls::encode(p.key, boost::urls::unreserved_chars);
    if (p.has_value) out += '=' + boost::urls::encode(p.value, boost::urls::unreserved_chars);
  }
  return out;
}

}  // namespace focus::http
