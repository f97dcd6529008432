#pragma once
// Internal to lib/upstream: reading a Focus answer. Maps an HTTP status to
// the Errc the engine branches on, extracts the server's own text (JSON
// {"error"/"message"} or plain), reads the quota and Retry-After headers, and
// decodes the JSON bodies into model types (failing with bad_payload: not
// JSON, nested deeper than model::kMaxJsonDepth, a field of the wrong type,
// a count or page out of range, an id that is not positive). Invalid UTF-8
// in the body becomes U+FFFD rather than spoiling the whole answer.
// Pure functions; any thread.

#include "core/result.hpp"
#include "http/message.hpp"
#include "model/members.hpp"
#include "upstream/focus_api.hpp"
#include "upstream/quota_tracker.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace focus::upstream::detail {

// The server's explanation: one line of valid UTF-8, `secrets` redacted,
// then cut on a character boundary to at most 300 bytes.
std::string server_text(const http::Response& response, const std::vector<std::string>& secrets = {});

// The Errc for a non-2xx status.
Errc errc_for_status(int status);

std::optional<std::int64_t> int_header(const http::Response& response, std::string_view name);
std::chrono::seconds retry_after(const http::Response& response);

// What an answer tells the QuotaTracker, told to it: the quota headers of
// every answer, a 402's reset (X-Toggl-Quota-Resets-In, 60 s if absent) and
// a 429's Retry-After. Answers those two waits, for the error text and the
// decision to retry. The waits start at the tracker's clock's now.
struct QuotaNews {
  std::optional<std::chrono::seconds> resets_in;    // a 402
  std::optional<std::chrono::seconds> retry_after;  // a 429
};
QuotaNews note_quota(QuotaTracker& quota, model::Id organization, const http::Response& response);

// A listing or tree page. Read by simdjson (nlohmann where simdjson refuses
// the text); a project whose listing digest `known` recognises is listed in
// `unchanged` and not decoded. A page whose projects are all recognised is
// read without building its document (known_page.hpp).
Result<ProjectPage> decode_page(const std::string& body, bool expect_total, const KnownDigest& known = {});
// Gives back the buffers decode_page keeps on this thread from page to page
// (the page's text and simdjson's parsers, megabytes for pages of 200): at
// a listing's end, so that an idle daemon does not hold them.
void release_page_buffers();
// The same, always building the document: the reading a page of known
// projects is held to (its tests and fuzzer compare the two).
Result<ProjectPage> decode_page_in_full(const std::string& body, bool expect_total, const KnownDigest& known = {});
// The same page read by nlohmann alone, with the same rules and no digests:
// decode_page's fallback, and the reference its tests and fuzzer hold it to.
Result<ProjectPage> decode_page_by_nlohmann(const std::string& body, bool expect_total);
Result<model::Project> decode_one(const std::string& body);
Result<model::ProjectMembers> decode_members(const std::string& body);

}  // namespace focus::upstream::detail
