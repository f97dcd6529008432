#pragma once
// A project body as a list shows it when rates were not asked for: its
// top-level "rate" set to null, every other byte as stored. What SQLite's
// json_replace(body, '$.rate', NULL) gives for the compact bodies the
// mirror keeps, at a fraction of the cost (a page of 50 spent half its time
// in json_replace). Pure function; any thread (a parser per thread).

#include <optional>
#include <string>
#include <string_view>

namespace focus::store::detail {

// nullopt when the body is not a JSON object simdjson reads: the caller then
// asks json_replace. A body without a top-level "rate" comes back unchanged.
std::optional<std::string> blank_rate(std::string_view body);

}  // namespace focus::store::detail
