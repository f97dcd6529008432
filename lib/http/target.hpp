#pragma once
// A request target split into its decoded path segments and query
// parameters, in order, keeping "key" (no value) apart from "key=" (empty
// value): the Focus list's `archived=` means "all" and the difference matters.
// Pure functions; any thread.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace focus::http {

struct QueryParam {
  std::string key;
  std::string value;
  bool has_value = false;
};

struct Target {
  std::string path;                   // decoded
  std::vector<std::string> segments;  // decoded, without empty ones
  std::vector<QueryParam> params;     // decoded, in request order

  // Every value given for `key` (also accepts "key[]").
  std::vector<const QueryParam*> all(std::string_view key) const;
  // The last value given for `key`, if any.
  const QueryParam* last(std::string_view key) const;
};

// nullopt when the target is not a valid origin-form URI.
std::optional<Target> parse_target(std::string_view target);

namespace detail {
// parse_target's two readings, apart for the test that holds them alike: a
// plain path (unreserved characters and slashes only; nullopt for anything
// else), and Boost.URL's origin-form grammar for every target.
std::optional<Target> parse_plain_path(std::string_view target);
std::optional<Target> parse_by_grammar(std::string_view target);
}  // namespace detail

// The query part of a target, "?k=v&..." ("" for no parameters), in the
// given order; "key" alone when has_value is false. Everything but RFC 3986's
// unreserved characters is percent-encoded, '+' and '=' included: a decoder
// reads '+' as a space (parse_target does), so a raw one would not survive.
std::string query_string(const std::vector<QueryParam>& params);

}  // namespace focus::http
