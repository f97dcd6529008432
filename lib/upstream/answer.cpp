#include "upstream/answer.hpp"

#include "core/text.hpp"
#include "core/utf8.hpp"
#include "model/decode_error.hpp"
#include "model/json_limits.hpp"
#include "model/project_codec.hpp"
#include "model/project_decode.hpp"
#include "upstream/known_page.hpp"
#include "upstream/simdjson_value.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <bit>

namespace focus::upstream::detail {
namespace {

using nlohmann::json;

// The longest page whose buffers decode_page keeps for the next page (200
// projects are about 170 KB); and the room it first makes.
constexpr std::size_t kKeptPageText = 1 << 20;
constexpr std::size_t kFirstRoom = 64 * 1024;

Result<json> parse(const std::string& body) {
  if (model::nests_deeper_than(body))
    return make_error(Errc::bad_payload,
                      "the answer nests deeper than " + std::to_string(model::kMaxJsonDepth) + " levels; not read");
  json value = model::parse_bounded(body);
  if (value.is_discarded()) return make_error(Errc::bad_payload, "the answer is not valid JSON");
  return value;
}

// An integer field of the answer's top level within [low, high]: absent or
// null -> nullopt; a float, a string, an unsigned past INT64_MAX or a value
// out of range -> bad_payload naming it.
Result<std::optional<std::int64_t>> bounded_integer(const json& j, const char* key, std::int64_t low, std::int64_t high) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::optional<std::int64_t>{};
  auto out_of_range = [&](const std::string& got) {
    return make_error(Errc::bad_payload, std::string("the answer's '") + key + "' must be an integer from " +
                                             std::to_string(low) + " to " + std::to_string(high) + ", got " + got);
  };
  if (!it->is_number_integer()) return out_of_range(bounded_text(it->dump(-1, ' ', false, json::error_handler_t::replace), 40));
  if (it->is_number_unsigned() && it->get<std::uint64_t>() > static_cast<std::uint64_t>(high))
    return out_of_range(std::to_string(it->get<std::uint64_t>()));
  const auto v = it->get<std::int64_t>();
  if (v < low || v > high) return out_of_range(std::to_string(v));
  return std::optional<std::int64_t>{v};
}

// Ids the server names must be real ones: positive (negative ids are this
// daemon's temporary ones, and 0 names nothing).
std::optional<std::string> bad_ids(const model::Project& p) {
  if (p.id <= 0) return "project id " + std::to_string(p.id) + " is not positive";
  if (p.parent_project_id && *p.parent_project_id <= 0)
    return "project " + std::to_string(p.id) + ": parent_project_id " + std::to_string(*p.parent_project_id) +
           " is not positive";
  if (p.toggl_user_id && *p.toggl_user_id <= 0)
    return "project " + std::to_string(p.id) + ": toggl_user_id " + std::to_string(*p.toggl_user_id) + " is not positive";
  if (p.workspace_id < 0) return "project " + std::to_string(p.id) + ": workspace_id is negative";
  return std::nullopt;
}

template <class Value>
model::Project checked_project(const Value& v) {
  auto p = model::detail::decode_project_value(v);
  if (auto why = bad_ids(p)) throw model::DecodeError("id", *why);
  return p;
}

}  // namespace

std::string server_text(const http::Response& r, const std::vector<std::string>& secrets) {
  std::string text = r.body;
  json value = model::parse_bounded(r.body);
  if (!value.is_discarded() && value.is_object()) {
    for (const char* key : {"error", "message"})
      if (auto it = value.find(key); it != value.end() && it->is_string()) text = it->get<std::string>();
  }
  // Redacted before the cut, so no piece of a secret is left at the edge.
  text = bounded_text(text, 300, [&](std::string t) { return redact(std::move(t), secrets); });
  return text.empty() ? "(no text)" : text;
}

Errc errc_for_status(int status) {
  switch (status) {
    case 401: return Errc::unauthorized;
    case 402: return Errc::quota_exhausted;
    case 403: return Errc::forbidden;
    case 404: return Errc::not_found;
    case 429: return Errc::rate_limited;
    default: return status >= 500 ? Errc::server_error : Errc::bad_request;
  }
}

std::optional<std::int64_t> int_header(const http::Response& r, std::string_view name) {
  auto value = r.header(name);
  if (!value) return std::nullopt;
  return parse_integer(*value);
}

std::chrono::seconds retry_after(const http::Response& r) {
  // Retry-After may also be an HTTP date; a second is a safe reading then.
  // Beyond two hours (the QuotaTracker's cap on any wait) it is a broken
  // header, and would overflow the clock.
  return std::chrono::seconds(std::clamp<std::int64_t>(int_header(r, "Retry-After").value_or(1), 1, 2 * 3600));
}

QuotaNews note_quota(QuotaTracker& quota, model::Id organization, const http::Response& r) {
  quota.on_headers(organization, int_header(r, "X-Toggl-Quota-Remaining"), int_header(r, "X-Toggl-Quota-Resets-In"));
  QuotaNews news;
  switch (errc_for_status(r.status)) {
    case Errc::quota_exhausted:
      news.resets_in = std::chrono::seconds(int_header(r, "X-Toggl-Quota-Resets-In").value_or(60));
      quota.on_quota_exhausted(organization, *news.resets_in);
      break;
    case Errc::rate_limited:
      news.retry_after = retry_after(r);
      quota.on_rate_limited(organization, *news.retry_after);
      break;
    default: break;
  }
  return news;
}

namespace {

Result<ProjectPage> page_from(const PageCounts& f, std::size_t listed, bool expect_total) {
  ProjectPage page;
  page.page = f.page.value_or(1);
  page.per_page = f.per_page.value_or(static_cast<std::int64_t>(listed));
  page.total = f.total;
  if (expect_total && !page.total) return make_error(Errc::bad_payload, "the list answer has no integer 'total'");
  return page;
}

}  // namespace

// The fallback: nlohmann reads what simdjson refused (numbers past 64 bits
// in a field nobody reads, say), with the same rules; no digests.
Result<ProjectPage> decode_page_by_nlohmann(const std::string& body, bool expect_total) {
  auto value = parse(body);
  if (!value) return value.error();
  const json& j = *value;
  if (!j.is_object() || !j.contains("data") || !j["data"].is_array())
    return make_error(Errc::bad_payload, "the answer has no 'data' array");
  PageCounts f;
  for (const PageCount& count : kPageCounts) {
    auto v = bounded_integer(j, count.key, count.low, kMaxCount);
    if (!v) return v.error();
    f.*count.field = *v;
  }
  auto page = page_from(f, j["data"].size(), expect_total);
  if (!page) return page;
  page->data.reserve(j["data"].size());
  try {
    for (const auto& item : j["data"]) page->data.push_back(checked_project(model::detail::NlohmannValue(item)));
  } catch (const model::DecodeError& e) {
    return make_error(Errc::bad_payload, e.what());
  }
  page->digests.assign(page->data.size(), std::string());
  return page;
}

namespace {

// bounded_integer's rules on a simdjson value.
Result<std::optional<std::int64_t>> bounded_integer(simdjson::dom::object o, const char* key, std::int64_t low,
                                                    std::int64_t high) {
  auto member = last_member(o, key);
  if (!member || member->is_null()) return std::optional<std::int64_t>{};
  simdjson::dom::element v = *member;
  auto out_of_range = [&](const std::string& got) {
    return make_error(Errc::bad_payload, std::string("the answer's '") + key + "' must be an integer from " +
                                             std::to_string(low) + " to " + std::to_string(high) + ", got " + got);
  };
  std::int64_t n = 0;
  if (v.is_uint64() && !v.is_int64()) return out_of_range(std::to_string(std::uint64_t(v.get_uint64())));
  if (v.get_int64().get(n)) return out_of_range(bounded_text(simdjson::minify(v), 40));
  if (n < low || n > high) return out_of_range(std::to_string(n));
  return std::optional<std::int64_t>{n};
}

// The raw text of each project object of the page's last "data" array, as
// the server sent it. A server
// that writes compact JSON, as the Focus API and focus-sim do, sends each
// project as its minified text, so its digest is known without minifying.
// Empty when the page cannot be read this way (an element that is not an
// object, say): the caller minifies then.
// `text` must have SIMDJSON_PADDING bytes of capacity past its size.
std::vector<std::string_view> raw_items(simdjson::ondemand::parser& parser, const std::string& text) {
  std::vector<std::string_view> items;
  simdjson::ondemand::document doc;
  simdjson::ondemand::object top;
  if (parser.iterate(text.data(), text.size(), text.capacity()).get(doc) || doc.get_object().get(top)) return {};
  for (auto field : top) {
    std::string_view key;
    if (field.unescaped_key().get(key)) return {};
    if (key != "data") continue;
    items.clear();  // the last one counts, as for every reader of the page
    simdjson::ondemand::array listed;
    if (field.value().get_array().get(listed)) continue;
    for (auto element : listed) {
      simdjson::ondemand::object project;
      std::string_view raw;
      if (element.get_object().get(project) || project.raw_json().get(raw)) return {};
      items.push_back(without_trailing_json_space(raw));
    }
  }
  return items;
}

// The listed project's id, when it is one a digest can be known for.
std::optional<model::Id> listed_id(const SimdjsonValue& value) {
  if (!value.is_object()) return std::nullopt;
  auto id = value.find("id");
  if (!id || id->type() != model::detail::JsonType::integer || id->get_int64() <= 0) return std::nullopt;
  return id->get_int64();
}

// Whether the mirror holds project `id` as listed: by the digest of its
// text as sent, or, if that is another, by its minified text's (the one
// stored when it was stored compact and is now spelt otherwise: whitespace,
// escapes). A project the mirror does not hold is not minified: a first
// listing would minify every project for nothing.
template <class Minified>
bool unchanged(const KnownDigest& known, model::Id id, const std::string& digest, std::string_view sent,
               Minified minified_digest) {
  const Known held = known(id, digest);
  if (held == Known::same_digest) return true;
  return held == Known::other_digest && !sent.empty() && known(id, minified_digest()) == Known::same_digest;
}

// The listing's project objects as simdjson reads them. Each one's digest
// is of its text as sent (`raw`, from raw_items; ignored unless it lists
// them all), else of its minified text. Those `known` recognises, by either
// digest, are not decoded; the rest are decoded straight from simdjson's
// document. A compact server's text as sent is its minified text, so neither
// a first listing nor a relisting minifies what it did not have to. A
// server that changes how it spells the same projects has them decoded
// once more (the mirror then changes only their digests), unless what was
// stored was compact.
Result<ProjectPage> decode_page_quickly(simdjson::dom::object top, bool expect_total, const KnownDigest& known,
                                        const std::vector<std::string_view>& raw) {
  auto listed = last_member(top, "data");
  simdjson::dom::array data;
  if (!listed || listed->get_array().get(data)) return make_error(Errc::bad_payload, "the answer has no 'data' array");
  PageCounts f;
  for (const PageCount& count : kPageCounts) {
    auto v = bounded_integer(top, count.key, count.low, kMaxCount);
    if (!v) return v.error();
    f.*count.field = *v;
  }
  auto page = page_from(f, data.size(), expect_total);
  if (!page) return page;
  const bool use_raw = raw.size() == data.size();
  // A relisting mostly finds each project unchanged. The decoded ones get
  // room for the rest of the page at the first of them: a vector of
  // projects grown by doubling moves each one it holds, and a first
  // listing decodes them all (room for them all up front would be a
  // page's worth of projects allocated for every unchanged page too).
  if (known) page->unchanged.reserve(data.size());
  std::size_t index = 0;
  try {
    for (simdjson::dom::element item : data) {
      const SimdjsonValue value(item);
      const auto id = known ? listed_id(value) : std::nullopt;
      const std::string_view sent = use_raw ? raw[index] : std::string_view();
      ++index;
      auto minified_digest = [&] { return model::listing_digest(simdjson::minify(item)); };
      std::string digest = sent.empty() ? minified_digest() : model::listing_digest(sent);
      if (id && unchanged(known, *id, digest, sent, minified_digest)) {
        page->unchanged.push_back(*id);
        continue;
      }
      if (page->data.empty()) {
        // simdjson counts an array's elements only up to 0xFFFFFF: past
        // that, its size is no bound on what is left.
        const std::size_t rest = index <= data.size() ? data.size() - index + 1 : 1;
        page->data.reserve(rest);
        page->digests.reserve(rest);
      }
      page->data.push_back(checked_project(value));
      page->digests.push_back(std::move(digest));
    }
  } catch (const model::DecodeError& e) {
    return make_error(Errc::bad_payload, e.what());
  }
  return page;
}

}  // namespace

// What decode_page reads pages with, per thread, kept from page to page
// of a listing (nothing read from them outlives a call; the puller gives
// them back at the listing's end, release_page_buffers): the repaired text,
// which both parsers read in place and past its end, and the two parsers.
//
// simdjson grows a parser and its document to exactly the length of a page
// that does not fit, and the pages of one listing differ by a few percent:
// each new longest page took new buffers, and the kernel faulted their pages
// in again as they were first written (about 12 µs a page on this project's
// VMs, 140 pages for a page of 200 projects). Room for the next power of two
// is made instead, so a listing grows them once. A page past kKeptPageText
// gives its buffers back once read.
//
// The DOM parser refuses nesting past model::kMaxJsonDepth itself
// (DEPTH_ERROR; a container at that depth holding anything is refused too,
// one level early), so the page is not scanned for depth first; such a
// page, like any simdjson refuses, goes to the nlohmann reading, which
// applies the depth rule exactly and says so.
struct PageReaders {
  std::string text;
  simdjson::dom::parser parser;
  simdjson::dom::document document;
  simdjson::ondemand::parser items;  // raw_items'

  // False when the memory cannot be had (the page is then read by the
  // fallback, as simdjson's own MEMALLOC would have it). A page past
  // kKeptPageText gets its length only: that room is given back anyway.
  bool make_room() {
    const std::size_t length = text.size();
    if (parser.capacity() >= length && document.capacity() >= length && items.capacity() >= length) return true;
    const std::size_t room = length > kKeptPageText ? length : std::bit_ceil(std::max(length, kFirstRoom));
    return !parser.allocate(room, model::kMaxJsonDepth) && !document.allocate(room) && !items.allocate(room);
  }

  void give_back_if_oversized() {
    if (text.size() > kKeptPageText) give_back();
  }

  void give_back() {
    std::string().swap(text);
    parser = simdjson::dom::parser();
    document = simdjson::dom::document();
    items = simdjson::ondemand::parser();
  }
};

namespace {

thread_local PageReaders page_readers;

// The whole reading; with `known_first`, a page whose projects are all
// known is first read without the document (read_known_page), and the
// whole reading is what it cannot answer.
Result<ProjectPage> read_page(const std::string& body, bool expect_total, const KnownDigest& known, bool known_first) {
  PageReaders& readers = page_readers;
  struct GiveBack {
    PageReaders& readers;
    ~GiveBack() { readers.give_back_if_oversized(); }
  } give_back{readers};
  model::repair_json_text(body, readers.text, simdjson::SIMDJSON_PADDING);
  if (!readers.make_room()) return decode_page_by_nlohmann(body, expect_total);
  if (known_first) {
    if (auto listed = read_known_page(readers.items, readers.text, known)) {
      auto page = page_from(listed->counts, listed->ids.size(), expect_total);
      if (page) {
        page->unchanged = std::move(listed->ids);
        return page;
      }
    }
  }
  simdjson::dom::element root;
  const auto* bytes = reinterpret_cast<const std::uint8_t*>(readers.text.data());
  if (readers.parser.parse_into_document(readers.document, bytes, readers.text.size(), false).get(root))
    return decode_page_by_nlohmann(body, expect_total);
  simdjson::dom::object top;
  if (root.get_object().get(top)) return make_error(Errc::bad_payload, "the answer has no 'data' array");
  return decode_page_quickly(top, expect_total, known, raw_items(readers.items, readers.text));
}

}  // namespace

Result<ProjectPage> decode_page(const std::string& body, bool expect_total, const KnownDigest& known) {
  return read_page(body, expect_total, known, true);
}

void release_page_buffers() { page_readers.give_back(); }

Result<ProjectPage> decode_page_in_full(const std::string& body, bool expect_total, const KnownDigest& known) {
  return read_page(body, expect_total, known, false);
}

namespace {

// Parses `body` and applies a model decoder; a decode failure is bad_payload.
template <class Decode>
auto decode_with(const std::string& body, Decode decode) -> Result<decltype(decode(json()))> {
  auto value = parse(body);
  if (!value) return value.error();
  try {
    return decode(*value);
  } catch (const model::DecodeError& e) {
    return make_error(Errc::bad_payload, e.what());
  }
}

}  // namespace

Result<model::Project> decode_one(const std::string& body) {
  return decode_with(body, [](const json& v) { return checked_project(model::detail::NlohmannValue(v)); });
}

Result<model::ProjectMembers> decode_members(const std::string& body) {
  return decode_with(body, [](const json& v) { return model::decode_project_members(v); });
}

}  // namespace focus::upstream::detail
