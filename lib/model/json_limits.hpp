#pragma once
// Bounded decoding: JSON from outside (the upstream's answers, local request
// bodies) is refused when its arrays and objects nest deeper than
// kMaxJsonDepth, before nlohmann builds a value (its parser, dump and
// comparisons recurse once per level, so a deep enough document would use
// up the stack). A pre-scan of the bytes: linear, no allocation. Pure
// functions; any thread.

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace focus::model {

// Far beyond any shape the Focus API has (a project nests three levels).
constexpr int kMaxJsonDepth = 64;

// Whether `text` opens more than `max_depth` arrays/objects at once (string
// contents are skipped; the text need not be valid JSON).
bool nests_deeper_than(std::string_view text, int max_depth = kMaxJsonDepth);

// Text from the upstream made fit to parse: invalid UTF-8 bytes become
// U+FFFD and an unpaired surrogate escape ("\ud800") becomes "\ufffd", so one
// odd name spoils that name, not the whole answer (nlohmann refuses both).
std::string repaired_json_text(std::string_view text);
// The same, written over `out`, whose memory is reused (a listing repairs
// page after page, and a fresh buffer each time cost a page fault per
// 4 KiB), with `spare` bytes of capacity past the text (for a parser that
// reads past the end, as simdjson does).
void repair_json_text(std::string_view text, std::string& out, std::size_t spare = 0);

// The upstream's answers: repaired, then nlohmann's non-throwing parse, with
// the depth limit: a discarded value when the text is not JSON or nests too deep.
nlohmann::json parse_bounded(std::string_view text);

// For local request bodies: throws DecodeError, which the socket answers
// 400: "the body nests deeper than 64 levels", or "the body is not valid
// JSON: " and the reason and its byte ("invalid literal at byte 9"), or a
// number out of a double's range.
nlohmann::json parse_body(std::string_view text);

}  // namespace focus::model
