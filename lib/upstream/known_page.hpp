#pragma once
// Internal to lib/upstream (answer.cpp): a listing page whose every project
// the mirror holds as listed, read by simdjson's on-demand parser alone,
// without building the document the full reading decodes projects from.
// Pure; any thread; the parser is the caller's and is only borrowed.

#include "model/workspace.hpp"
#include "upstream/focus_api.hpp"

#include <simdjson.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace focus::upstream::detail {

// Counts and page numbers past this are a broken answer, not a big workspace.
inline constexpr std::int64_t kMaxCount = 1'000'000'000;

// A page's own counts: each an integer from its lower bound to kMaxCount,
// or absent (null). Every reading of a page goes by this one list.
struct PageCounts {
  std::optional<std::int64_t> page, per_page, total;
};
struct PageCount {
  const char* key;
  std::int64_t low;
  std::optional<std::int64_t> PageCounts::*field;
};
inline constexpr std::array<PageCount, 3> kPageCounts = {PageCount{"page", 1, &PageCounts::page},
                                                         PageCount{"per_page", 0, &PageCounts::per_page},
                                                         PageCount{"total", 0, &PageCounts::total}};

// What a page whose projects are all known says: its counts and its
// projects' ids in order.
struct KnownPage {
  PageCounts counts;
  std::vector<model::Id> ids;
};

// The page in `text` (with SIMDJSON_PADDING bytes of capacity past its
// size), when it is a JSON object whose one "data" array lists only
// projects `known` answers Known::same_digest for, by the digest of their
// text as sent, and whose every other value is valid JSON within the depth
// limit. nullopt for anything else, or anything it would have to judge (a
// field named twice, a count that is not plain digits, a project not held
// as listed, an empty page): the full reading then gives the page's answer
// or its error. A project's text is not read: it is byte for byte a text
// the mirror stored from a page read in full (its digest says so).
std::optional<KnownPage> read_known_page(simdjson::ondemand::parser& parser, const std::string& text,
                                         const KnownDigest& known);

}  // namespace focus::upstream::detail
