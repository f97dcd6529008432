#pragma once
// A declarative route table: each route is a method, a path pattern, a
// metrics label and a handler, and matching a request against the table is
// done here, once, for every server that has routes (focus-sim's Focus API,
// the socket's Focus API and /v1 routes). The table decides:
//  - which route a request lands on, and the ids its path names;
//  - 400 when a typed segment is not what it must be, with that segment's
//    own message;
//  - 404 ("no such route: PATH") when no pattern has the path;
//  - 405 ("method M is not allowed on PATH") when a pattern has the path
//    but not the method, with Allow listing the path's methods in table
//    order; HEAD takes the path's GET route (the server sends no body) and
//    is counted under that route's label;
//  - the metrics label: "METHOD LABEL" once the path matched (the route's
//    method when one was taken, HEAD's being GET; else the request's, so a
//    405 is counted under its path too; OTHER for a method HTTP
//    does not define, so made-up methods cannot grow the metrics without
//    bound), "unknown" otherwise.
// It answers what to say, not how: each server builds its own JSON errors.
//
// Patterns are written "/v1/edits/{edit_id}/retry": literal segments, and
// {name} segments that capture an integer, named in the table's IdSegments.
// A path is matched against the patterns with as many segments whose literal
// segments, all but the last, it has (none: 404). It is then walked left to
// right: at each segment a literal that equals it wins, else a capture takes
// it if it parses, else the capture's message is the answer (400); when
// nothing is left, 404. So a bad id is a 400 on a path that is otherwise
// right up to its last segment (its action), and a 404 on one that is not.
//
// A table is built once (at start-up) and then only read: any thread.
// No Beast or Asio here; handlers are whatever the server calls.

#include "http/target.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace focus::http {

// How a {name} segment is checked: an integer (parse_integer in core/text.hpp:
// an optional '-' and digits, nothing around), or a 400 with `error`.
struct IdSegment {
  std::string name;            // "project_id", written {project_id} in patterns
  std::string error;           // "project_id must be an integer"
  bool quotes_segment = false;  // the message goes on ", got '<segment>'"
};

// The ids a path names, by segment name, in path order. The names point
// into the table that matched the path, which must outlive them; the ids
// are kept in place (a pattern has at most kMaxIds, checked when the table
// is built), so a match allocates nothing for them.
class PathIds {
 public:
  static constexpr std::size_t kMaxIds = 4;
  void add(std::string_view name, std::int64_t value);
  std::optional<std::int64_t> find(std::string_view name) const;
  // The id of a segment the matched pattern has; std::out_of_range otherwise.
  std::int64_t at(std::string_view name) const;

 private:
  std::array<std::pair<std::string_view, std::int64_t>, kMaxIds> ids_{};
  std::size_t size_ = 0;
};

// What the table says about one request.
struct PathMatch {
  std::optional<std::size_t> route;  // index of the route taken (path and method matched)
  bool path_matched = false;          // the path is a pattern's, whatever the method
  PathIds ids;                        // the ids read before matching ended, even when it failed
  int status = 0;                     // 0 when a route was taken; else 400, 404 or 405
  std::string error;                  // the error message, when status != 0
  std::string allow;                  // 405's Allow: "GET, POST"

  // The metrics label: the table's own text for a route taken (not a copy
  // of it for each request; the table must outlive the match), else
  // "unknown" or a 405's "METHOD LABEL" (OTHER for a made-up method).
  std::string_view label() const {
    return route_label_ ? std::string_view(*route_label_) : std::string_view(other_label_);
  }

 private:
  friend class PathTable;
  const std::string* route_label_ = nullptr;
  std::string other_label_ = "unknown";
};

// One route, without its handler.
struct RouteSpec {
  std::string method;   // "GET"
  std::string pattern;  // "/v1/edits/{edit_id}"
  std::string label;    // "/v1/edits/{id}": the metrics label without the method
};

// The matching, apart from the handlers. Throws std::invalid_argument at
// construction on a pattern naming a segment `segments` does not define.
class PathTable {
 public:
  PathTable(const std::vector<RouteSpec>& routes, std::vector<IdSegment> segments);
  // A match points into its table (the label, the ids' names): neither is
  // copied or moved, so no match outlives the table it points into.
  PathTable(const PathTable&) = delete;
  PathTable& operator=(const PathTable&) = delete;

  PathMatch match(std::string_view method, const Target& target) const;

 private:
  struct Segment {
    std::string literal;
    std::optional<std::size_t> id;  // index into segments_ for a {name} segment
  };
  struct Path {  // one distinct pattern and the routes (methods) on it, in table order
    std::vector<Segment> segments;
    std::vector<std::size_t> routes;
  };
  std::vector<Segment> compile(const std::string& pattern) const;
  static bool frame_matches(const Path& path, const std::vector<std::string>& segments);

  static constexpr std::size_t kMaxPaths = 64;  // one bit each in match()
  static constexpr std::uint64_t bit(std::size_t path) { return std::uint64_t{1} << path; }

  std::vector<RouteSpec> routes_;
  std::vector<IdSegment> segments_;
  std::vector<Path> paths_;
  std::vector<std::string> labels_;  // per route: "METHOD LABEL"
};

template <class Handler>
struct Route {
  RouteSpec spec;
  Handler handler;
};

// A PathTable with a handler for each route.
template <class Handler>
class Routes {
 public:
  Routes(std::vector<Route<Handler>> routes, std::vector<IdSegment> segments)
      : routes_(std::move(routes)), table_(specs(routes_), std::move(segments)) {}

  PathMatch match(std::string_view method, const Target& target) const { return table_.match(method, target); }
  // The handler of the route a match took (match.route must be set).
  const Handler& handler(const PathMatch& match) const { return routes_.at(*match.route).handler; }

 private:
  static std::vector<RouteSpec> specs(const std::vector<Route<Handler>>& routes) {
    std::vector<RouteSpec> out;
    for (const auto& r : routes) out.push_back(r.spec);
    return out;
  }

  std::vector<Route<Handler>> routes_;
  PathTable table_;
};

}  // namespace focus::http
