#pragma once
// JSON <-> Project, in the Focus API's wire shape.
//
// Decoding is tolerant of what a real server does (missing optional fields,
// nulls, unknown extra fields, ids beyond 2^53, RFC 3339 offsets) and strict
// about what would corrupt the cache: a field of the wrong type throws
// DecodeError naming the field and the project id. Encoding writes every known
// field (null where the schema allows null and the value is unset) plus the
// unknown ones kept from decoding. Pure functions; any thread.

#include "model/project.hpp"

#include <nlohmann/json_fwd.hpp>

#include <string>
#include <string_view>

namespace focus::model {

// Throws DecodeError (naming field and project id) on a wrong type, a bad
// time or date, an id out of range, or a missing "id".
Project decode_project(const nlohmann::json& value);

// Parses text first; malformed JSON throws DecodeError with the parser's text.
Project decode_project(std::string_view json_text);

nlohmann::json encode_project(const Project& project);

// The canonical form: encode_project with keys sorted and no whitespace, so
// the same project always gives the same bytes whatever the server's key
// order, spacing or time-offset spelling.
std::string canonical_json(const Project& project);

// A content hash of the canonical form (first 128 bits of SHA-256, as 32
// lower-case hex digits), for change detection.
std::string content_hash(std::string_view canonical);

// The digest a listed project's text is known by from one listing to the
// next (upstream::ProjectPage::digests): XXH3's 128 bits, as 32 lower-case
// hex digits. Not a cryptographic hash, and it need not be: it only tells a
// text the mirror holds from another, and a server that wanted to hide a
// change from it could as well not send the change. Every listed project is
// hashed, so it is the cost that counts: about ten times less than SHA-256.
// Digests stored by a build that took SHA-256 for them each miss once: that
// project is decoded, found equal by content_hash, and only its digest is
// rewritten.
std::string listing_digest(std::string_view text);

}  // namespace focus::model
