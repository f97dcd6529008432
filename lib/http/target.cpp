#include "http/target.hpp"

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

namespace focus::http {

std::optional<Target> parse_target(std::string_view text) {
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

}  // namespace focus::http
