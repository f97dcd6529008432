#include "http/routes.hpp"

#include "core/text.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <stdexcept>

namespace focus::http {
void PathIds::add(std::string_view name, std::int64_t value) {
  if (size_ == kMaxIds) throw std::logic_error("a path names more ids than PathIds keeps");  // refused when built
  ids_[size_++] = {name, value};
}

std::optional<std::int64_t> PathIds::find(std::string_view name) const {
  for (std::size_t i = 0; i < size_; ++i)
    if (ids_[i].first == name) return ids_[i].second;
  return std::nullopt;
}

std::int64_t PathIds::at(std::string_view name) const {
  if (auto v = find(name)) return *v;
  throw std::out_of_range("the path names no " + std::string(name));
}

PathTable::PathTable(const std::vector<RouteSpec>& routes, std::vector<IdSegment> segments)
    : routes_(routes), segments_(std::move(segments)) {
  for (std::size_t i = 0; i < routes_.size(); ++i) {
    auto compiled = compile(routes_[i].pattern);
    auto same = [&](const Path& p) {
      if (p.segments.size() != compiled.size()) return false;
      for (std::size_t k = 0; k < compiled.size(); ++k)
        if (p.segments[k].literal != compiled[k].literal || p.segments[k].id != compiled[k].id) return false;
      return true;
    };
    auto it = std::find_if(paths_.begin(), paths_.end(), same);
    if (it == paths_.end()) it = paths_.insert(paths_.end(), Path{std::move(compiled), {}});
    it->routes.push_back(i);
  }
  if (paths_.size() > kMaxPaths)
    throw std::invalid_argument("a route table holds at most " + std::to_string(kMaxPaths) + " distinct paths");
  for (const auto& r : routes_) labels_.push_back(r.method + " " + r.label);
}

std::vector<PathTable::Segment> PathTable::compile(const std::string& pattern) const {
  std::vector<Segment> out;
  std::size_t pos = 0;
  while (pos < pattern.size()) {
    auto slash = pattern.find('/', pos);
    std::string part = pattern.substr(pos, slash == std::string::npos ? std::string::npos : slash - pos);
    pos = slash == std::string::npos ? pattern.size() : slash + 1;
    if (part.empty()) continue;
    if (part.front() != '{' || part.back() != '}') {
      out.push_back({std::move(part), std::nullopt});
      continue;
    }
    const std::string name = part.substr(1, part.size() - 2);
    auto type = std::find_if(segments_.begin(), segments_.end(), [&](const IdSegment& s) { return s.name == name; });
    if (type == segments_.end())
      throw std::invalid_argument("route pattern " + pattern + ": no segment type is named '" + name + "'");
    out.push_back({{}, static_cast<std::size_t>(type - segments_.begin())});
  }
  if (std::count_if(out.begin(), out.end(), [](const Segment& s) { return s.id.has_value(); }) >
      static_cast<std::ptrdiff_t>(PathIds::kMaxIds))
    throw std::invalid_argument("route pattern " + pattern + " names more than " + std::to_string(PathIds::kMaxIds) +
                                " ids");
  return out;
}

// The path's frame: every literal segment of the pattern but its last, so
// that a misspelt "workspaces" is a 404 even when an id before it is no
// integer, while a last segment (an action: "archive", "retry") is compared
// only after the ids before it were read.
bool PathTable::frame_matches(const Path& path, const std::vector<std::string>& segments) {
  for (std::size_t i = 0; i + 1 < segments.size(); ++i)
    if (!path.segments[i].id && path.segments[i].literal != segments[i]) return false;
  return true;
}

namespace {

// A 405's label names the request's method when HTTP defines it, else
// OTHER: a client may send any token as its method, and each label is a
// series the metrics keep for as long as the daemon runs.
std::string_view label_method(std::string_view method) {
  static constexpr std::array<std::string_view, 9> kHttpMethods = {"GET",     "HEAD",    "POST",  "PUT",  "DELETE",
                                                                    "CONNECT", "OPTIONS", "TRACE", "PATCH"};
  return std::find(kHttpMethods.begin(), kHttpMethods.end(), method) != kHttpMethods.end() ? method : "OTHER";
}

// HEAD is the GET of the same path without its body (RFC 9110 9.3.2): a
// route that serves GET serves HEAD, and the server leaves the body out.
bool serves(std::string_view route_method, std::string_view method) {
  return route_method == method || (method == "HEAD" && route_method == "GET");
}

}  // namespace

// The paths still in the running are a bit set (at most kMaxPaths, checked
// at construction): a request's match allocates nothing but its answer, and
// each segment visits only the paths still in the running (visiting all of
// them at each of a GET by id's eight segments was 1,100 of the 33,500
// instructions it took in user space, by callgrind).
PathMatch PathTable::match(std::string_view method, const Target& target) const {
  PathMatch m;
  const auto& s = target.segments;
  std::uint64_t live = 0;
  for (std::size_t p = 0; p < paths_.size(); ++p)
    if (paths_[p].segments.size() == s.size() && frame_matches(paths_[p], s)) live |= bit(p);
  for (std::size_t i = 0; i < s.size() && live != 0; ++i) {
    // A literal that equals the segment wins over a capture at the same place.
    std::uint64_t literal = 0, capture = 0;
    std::optional<std::size_t> capture_type;
    for (std::uint64_t rest = live; rest != 0; rest &= rest - 1) {
      const auto p = static_cast<std::size_t>(std::countr_zero(rest));  // in table order
      const Segment& seg = paths_[p].segments[i];
      if (!seg.id && seg.literal == s[i]) {
        literal |= bit(p);
      } else if (seg.id && (!capture_type || *capture_type == *seg.id)) {
        capture |= bit(p);
        capture_type = seg.id;
      }
    }
    live = literal != 0 ? literal : capture;
    if (literal != 0 || capture == 0) continue;
    const IdSegment& type = segments_[*capture_type];
    auto id = parse_integer<std::int64_t>(s[i]);
    if (!id) {
      m.status = 400;
      m.error = type.error + (type.quotes_segment ? ", got '" + s[i] + "'" : "");
      return m;
    }
    m.ids.add(type.name, *id);
  }
  if (live == 0) {
    m.status = 404;
    m.error = "no such route: " + target.path;
    return m;
  }
  const Path& path = paths_[static_cast<std::size_t>(std::countr_zero(live))];  // table order
  m.path_matched = true;
  for (std::size_t r : path.routes) {
    if (!serves(routes_[r].method, method)) continue;
    m.route = r;
    m.route_label_ = &labels_[r];
    return m;
  }
  m.other_label_ = std::string(label_method(method)) + " " + routes_[path.routes.front()].label;
  m.status = 405;
  m.error = "method " + std::string(method) + " is not allowed on " + target.path;
  for (std::size_t r : path.routes) {
    m.allow += (m.allow.empty() ? "" : ", ") + routes_[r].method;
    if (routes_[r].method == "GET") m.allow += ", HEAD";
  }
  return m;
}

}  // namespace focus::http
