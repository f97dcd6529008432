#pragma once
// Enums that are stored or shown as text (edit states, edit ops, change
// kinds, sync run kinds): each has exactly one table pairing every value
// with its text, and everything else (to_text, from_text, the SQL
// parameters and CHECK lists in store/enum_sql.hpp) is derived from it.
//
// An enum opts in by declaring, in its own namespace, a function found by
// argument-dependent lookup:
//   constexpr const auto& text_table(MyEnum) { return kMyEnumTexts; }
// where kMyEnumTexts is a TextTable<MyEnum, N>, in the order texts are
// listed to people and in the schema. Pure; any thread.

#include <array>
#include <concepts>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

namespace focus {

template <typename E>
struct EnumText {
  E value;
  std::string_view text;
};

template <typename E, std::size_t N>
using TextTable = std::array<EnumText<E>, N>;

template <typename E>
concept TextEnum = std::is_enum_v<E> && requires(E e) {
  { text_table(e).size() } -> std::convertible_to<std::size_t>;
};

// Every value of E, in the table's order.
template <TextEnum E>
constexpr const auto& all_texts() {
  return text_table(E{});
}

template <TextEnum E>
constexpr std::string_view to_text(E value) {
  for (const auto& [v, text] : text_table(value))
    if (v == value) return text;
  return "?";  // a value missing from its table: the table is incomplete
}

// For untrusted text (a request, a row of the cache): nullopt when no value
// has that text.
template <TextEnum E>
constexpr std::optional<E> from_text(std::string_view text) {
  for (const auto& [v, t] : text_table(E{}))
    if (t == text) return v;
  return std::nullopt;
}

// "pending, in_flight, ..." : every text of E, for messages that list them.
template <TextEnum E>
std::string joined_texts(std::string_view separator = ", ") {
  std::string out;
  for (const auto& [v, text] : text_table(E{})) {
    if (!out.empty()) out += separator;
    out += text;
  }
  return out;
}

}  // namespace focus
