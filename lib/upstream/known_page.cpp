#include "upstream/known_page.hpp"

#include "core/text.hpp"
#include "model/json_limits.hpp"
#include "model/project_codec.hpp"

#include <array>
#include <charconv>
#include <string_view>

namespace focus::upstream::detail {
namespace {

namespace od = simdjson::ondemand;

// Reads a value to its end, checking every scalar as the full reading's
// parser would; false on any error, and on nesting that comes near the
// depth limit (the full reading then applies it exactly). `depth` is the
// value's own: the page object is 1.
bool valid_value(od::value value, int depth) {
  od::json_type type;
  if (value.type().get(type)) return false;
  switch (type) {
    case od::json_type::object: {
      od::object object;
      if (depth >= model::kMaxJsonDepth || value.get_object().get(object)) return false;
      for (auto field : object) {
        std::string_view key;
        od::value inner;
        if (field.unescaped_key().get(key) || field.value().get(inner) || !valid_value(inner, depth + 1)) return false;
      }
      return true;
    }
    case od::json_type::array: {
      od::array array;
      if (depth >= model::kMaxJsonDepth || value.get_array().get(array)) return false;
      for (auto element : array) {
        od::value inner;
        if (element.get(inner) || !valid_value(inner, depth + 1)) return false;
      }
      return true;
    }
    case od::json_type::number: {
      od::number number;
      return !value.get_number().get(number);
    }
    case od::json_type::string: {
      std::string_view text;
      return !value.get_string().get(text);
    }
    case od::json_type::boolean: {
      bool b = false;
      return !value.get_bool().get(b);
    }
    case od::json_type::null: {
      bool null = false;
      return !value.is_null().get(null) && null;
    }
  }
  return false;
}

// A page field written as plain digits (no sign, fraction or exponent),
// from `low` to kMaxCount; null is absent. Anything else is for the full
// reading to judge and name.
bool plain_count(od::value value, std::int64_t low, std::optional<std::int64_t>& out) {
  od::json_type type;
  if (value.type().get(type)) return false;
  if (type == od::json_type::null) {
    bool null = false;
    if (value.is_null().get(null) || !null) return false;
    out.reset();
    return true;
  }
  if (type != od::json_type::number) return false;
  const std::string_view token = without_trailing_json_space(value.raw_json_token());
  std::int64_t n = 0;
  const auto [end, error] = std::from_chars(token.data(), token.data() + token.size(), n);
  if (error != std::errc() || end != token.data() + token.size() || token.empty() || token[0] == '-' ||
      (token.size() > 1 && token[0] == '0') || n < low || n > kMaxCount)
    return false;
  std::int64_t same = 0;
  if (value.get_int64().get(same) || same != n) return false;
  out = n;
  return true;
}

// The projects of a "data" array, each held as listed: their ids in order.
bool known_projects(od::value value, const KnownDigest& known, std::vector<model::Id>& ids) {
  od::array listed;
  if (value.get_array().get(listed)) return false;
  for (auto element : listed) {
    od::object project;
    std::int64_t id = 0;
    std::string_view raw;
    if (element.get_object().get(project) || project.find_field_unordered("id").get_int64().get(id) || id <= 0 ||
        project.raw_json().get(raw))
      return false;
    if (known(id, model::listing_digest(without_trailing_json_space(raw))) != Known::same_digest) return false;
    ids.push_back(id);
  }
  return !ids.empty();
}

}  // namespace

std::optional<KnownPage> read_known_page(od::parser& parser, const std::string& text, const KnownDigest& known) {
  od::document document;
  od::object top;
  if (!known || parser.iterate(text.data(), text.size(), text.capacity()).get(document) ||
      document.get_object().get(top))
    return std::nullopt;
  KnownPage page;
  std::array<bool, kPageCounts.size() + 1> met{};  // each count, then "data": each to be met once
  for (auto field : top) {
    std::string_view key;
    od::value value;
    if (field.unescaped_key().get(key) || field.value().get(value)) return std::nullopt;
    if (key == "data") {
      if (std::exchange(met.back(), true) || !known_projects(value, known, page.ids)) return std::nullopt;
      continue;
    }
    bool own = false;
    for (std::size_t i = 0; i < kPageCounts.size() && !own; ++i) {
      const PageCount& count = kPageCounts[i];
      if (key != count.key) continue;
      own = true;
      if (std::exchange(met[i], true) || !plain_count(value, count.low, page.counts.*count.field)) return std::nullopt;
    }
    if (!own && !valid_value(value, 2)) return std::nullopt;
  }
  // Nothing past the page's object: the iterator is at the end of the text.
  if (!met.back() || document.current_location().error() != simdjson::OUT_OF_BOUNDS) return std::nullopt;
  return page;
}

}  // namespace focus::upstream::detail
