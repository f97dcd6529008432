// What focussync makes of hostile answers, at the decoding boundary: texts
// that are not UTF-8 or are cut mid-character, numbers out of range, floats
// and huge unsigned values where integers belong, ids that are not
// positive, and nesting past the depth limit. Each is a readable value or a
// bad_payload that says why; nothing throws, nothing wraps.
#include "core/utf8.hpp"
#include "fixture.hpp"
#include "model/decode_error.hpp"
#include "model/json_limits.hpp"
#include "model/project_codec.hpp"
#include "upstream/answer.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <set>

using namespace focus;
using namespace focus::test;
using namespace focus::upstream;
using nlohmann::json;

namespace {

http::Response answer(int status, std::string body) {
  http::Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

// A KnownDigest's answer for a project the mirror holds.
Known held_if(bool same_digest) { return same_digest ? Known::same_digest : Known::other_digest; }

std::string page_with(const std::string& fields) {
  return R"({"data":[{"id":1,"name":"a"}],)" + fields + "}";
}

std::string deep(int levels) { return std::string(levels, '[') + std::string(levels, ']'); }

}  // namespace

TEST_CASE("a server text cut mid-character or not UTF-8 at all becomes one valid line") {
  std::string e_acute;
  for (int i = 0; i < 400; ++i) e_acute += "é";
  // JSON whose text is longer than the limit: cut on a character boundary.
  auto long_text = detail::server_text(answer(400, json{{"error", e_acute}}.dump()));
  CHECK(is_valid_utf8(long_text));
  CHECK(long_text.size() <= 300);
  // A body cut in the middle of an "é" (so not JSON): the raw text, repaired.
  std::string cut = R"({"error": ")" + e_acute.substr(0, 11);
  auto t = detail::server_text(answer(400, cut));
  CHECK(is_valid_utf8(t));
  CHECK(t.find("\xEF\xBF\xBD") != std::string::npos);
  // Latin-1, inside JSON: read as JSON, the bad byte replaced.
  auto latin = detail::server_text(answer(400, "{\"error\": \"caf\xE9 ferm\xE9\"}"));
  CHECK(latin == "caf\xEF\xBF\xBD ferm\xEF\xBF\xBD");
  // Every one of them can be encoded.
  for (const auto& s : {long_text, t, latin}) CHECK_NOTHROW((void)json{{"e", s}}.dump());
}

TEST_CASE("a secret in a server text is redacted before the cut") {
  const std::string text = std::string(290, 'x') + kKey + " tail";
  auto t = detail::server_text(answer(400, text), {kKey});
  CHECK(t.find(kKey.substr(0, 8)) == std::string::npos);
  CHECK(t.size() <= 300);
}

TEST_CASE("names that are not UTF-8 spoil the name, not the page") {
  auto page = detail::decode_page("{\"data\":[{\"id\":5,\"name\":\"Caf\xE9\"},{\"id\":6,\"name\":\"\\ud800 lone\"}],"
                                  "\"page\":1,\"per_page\":2,\"total\":2}",
                                  true);
  REQUIRE_MESSAGE(page.ok(), (page.ok() ? "" : page.error().message));
  CHECK(page->data[0].name == "Caf\xEF\xBF\xBD");
  CHECK(page->data[1].name == "\xEF\xBF\xBD lone");
  CHECK_NOTHROW((void)model::encode_project(page->data[0]).dump());
  // A proper surrogate pair is kept.
  auto pair = detail::decode_one(R"({"id":7,"name":"\ud83d\ude00"})");
  REQUIRE(pair.ok());
  CHECK(pair->name == "\xF0\x9F\x98\x80");
}

TEST_CASE("page, per_page and total are range-checked: negative, absurd, float or unsigned past INT64_MAX is bad_payload") {
  CHECK(detail::decode_page(page_with(R"("page":1,"per_page":50,"total":1)"), true).ok());
  for (const char* bad : {R"("page":1,"per_page":50,"total":-1)", R"("page":1,"per_page":50,"total":9223372036854775807)",
                          R"("page":1,"per_page":50,"total":18446744073709551615)", R"("page":1,"per_page":50,"total":1.0)",
                          R"("page":1,"per_page":50,"total":"3")", R"("page":0,"per_page":50,"total":1)",
                          R"("page":-3,"per_page":50,"total":1)", R"("page":1,"per_page":-50,"total":1)",
                          R"("page":1,"per_page":1e300,"total":1)", R"("page":1.5,"per_page":50,"total":1)"}) {
    CAPTURE(bad);
    auto r = detail::decode_page(page_with(bad), true);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().is(Errc::bad_payload));
    CHECK(r.error().message.find("must be an integer from") != std::string::npos);
  }
}

TEST_CASE("ids must be positive integers: zero, negative, past INT64_MAX or float is bad_payload") {
  for (const char* bad : {R"({"id":0})", R"({"id":-4})", R"({"id":18446744073709551615})", R"({"id":9223372036854775808})",
                          R"({"id":3.0})", R"({"id":5,"parent_project_id":-1})", R"({"id":5,"toggl_user_id":0})",
                          R"({"id":5,"tag_ids":[1,2.5]})"}) {
    CAPTURE(bad);
    auto r = detail::decode_one(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().is(Errc::bad_payload));
  }
  auto top = detail::decode_one(R"({"id":9223372036854775807})");
  REQUIRE(top.ok());
  CHECK(top->id == std::numeric_limits<std::int64_t>::max());
}

TEST_CASE("nesting past the depth limit is refused before it is parsed") {
  CHECK_FALSE(model::nests_deeper_than(deep(64)));
  CHECK(model::nests_deeper_than(deep(65)));
  CHECK_FALSE(model::nests_deeper_than(R"({"a":"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["})"));  // in a string
  CHECK_FALSE(model::nests_deeper_than(R"({"a":"\"[[[["})", 1));
  // A hundred thousand levels: nlohmann alone would recurse that deep.
  const std::string huge = R"({"data":[{"id":1,"extra":)" + deep(100'000) + "}],\"page\":1,\"per_page\":1,\"total\":1}";
  auto r = detail::decode_page(huge, true);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().is(Errc::bad_payload));
  CHECK(r.error().message.find("deeper than 64") != std::string::npos);
  // At the limit and one past it, in a listed project, whichever parser reads the page.
  auto nested = [](int levels) {
    return R"({"data":[{"id":1,"extra":)" + deep(levels - 3) + "}],\"page\":1,\"per_page\":1,\"total\":1}";
  };
  REQUIRE_FALSE(model::nests_deeper_than(nested(64)));
  REQUIRE(model::nests_deeper_than(nested(65)));
  auto at_limit = detail::decode_page(nested(64), true);
  REQUIRE_MESSAGE(at_limit.ok(), (at_limit.ok() ? "" : at_limit.error().message));
  CHECK(at_limit->data.at(0).id == 1);
  CHECK(at_limit->digests.at(0).size() == 32);  // read by simdjson: the quick path
  // Read in full even where every digest is known: no stored digest can be
  // of a project past the limit (read_known_page reads only what one vouches for).
  auto past = detail::decode_page_in_full(nested(65), true, [](model::Id, std::string_view) { return Known::same_digest; });
  REQUIRE_FALSE(past.ok());
  CHECK(past.error().message.find("deeper than 64") != std::string::npos);
  CHECK_FALSE(detail::decode_one(R"({"id":1,"x":)" + deep(70) + "}").ok());
  CHECK_FALSE(detail::decode_members(deep(200)).ok());
  CHECK(detail::server_text(answer(400, deep(100'000))).size() <= 300);
  CHECK_THROWS_AS(model::parse_body(deep(65)), model::DecodeError);
  CHECK_NOTHROW(model::parse_body(deep(64)));
}

TEST_CASE("a local body that is not JSON is refused with the reason and where, not the library's words") {
  auto refusal = [](std::string_view body) {
    try {
      model::parse_body(body);
    } catch (const model::DecodeError& e) {
      return std::string(e.what());
    }
    return std::string("parsed");
  };
  CHECK(refusal(R"({"name": nope})") == "the body is not valid JSON: invalid literal at byte 11");
  CHECK(refusal(R"({"name": "x")") ==
        "the body is not valid JSON: unexpected end of input; expected '}' at the end");
  CHECK(refusal("{\"name\": \"caf\xe9\"}") == "the body is not valid JSON: invalid string: ill-formed UTF-8 byte at byte 15");
  CHECK(refusal("") == "the body is not valid JSON: unexpected end of input; expected '[', '{', or a literal at the end");
}

TEST_CASE("a write answered 2xx with a body that cannot be read has an unknown outcome") {
  SimProcess sim({"--projects", "3", "--api-key", kKey, "--garbage-rate", "1"});
  Upstream up(sim);
  model::ProjectWrite w;
  w.name = "garbled";
  auto created = up(up.api->create_project(up.ws, w));
  REQUIRE_FALSE(created.ok());
  CHECK(created.error().is(Errc::outcome_unknown));
  CHECK(created.error().message.find("cannot be read") != std::string::npos);
  model::ProjectPatch p;
  p.name = model::PatchField<std::string>::of("garbled too");
  auto patched = up(up.api->patch_project(up.ws, 1000, p));
  REQUIRE_FALSE(patched.ok());
  CHECK(patched.error().is(Errc::outcome_unknown));
  CHECK(sim.requests() == 2);  // never sent twice
  // A write without a body to read (204) is still plainly applied.
  sim.control("PUT", "faults", {{"garbage_rate", 0}});
  CHECK(up(up.api->pin_project(up.ws, 1000)).ok());
}

TEST_CASE("the server's clock is read from the Date header of its answers") {
  SimProcess sim({"--projects", "2", "--api-key", kKey, "--clock-skew", "3600"});
  Upstream up(sim);
  CHECK_FALSE(up.api->server_clock().reading(1).has_value());
  REQUIRE(up(up.api->get_project(up.ws, 1000)).ok());
  auto reading = up.api->server_clock().reading(1);
  REQUIRE(reading.has_value());
  CHECK(reading->offset > std::chrono::seconds(3595));
  CHECK(reading->offset < std::chrono::seconds(3605));
  CHECK(reading->uncertainty <= std::chrono::milliseconds(600) + reading->round_trip);
  CHECK_FALSE(up.api->server_clock().reading(2).has_value());  // per organization
}

TEST_CASE("a listed project whose digest is known is not decoded; whitespace alone does not make a compact listing's project changed") {
  const std::string tight = R"({"data":[{"id":5,"name":"a"},{"id":6,"name":"b"}],"page":1,"per_page":2,"total":2})";
  const std::string loose = "{ \"data\" : [ { \"id\" : 5 , \"name\" : \"a\" },\n {\"id\":6,\n\"name\":\"b\"} ],"
                            " \"page\":1, \"per_page\":2, \"total\":2 }";
  auto first = detail::decode_page(tight, true);
  REQUIRE(first.ok());
  REQUIRE(first->data.size() == 2);
  REQUIRE(first->digests.size() == 2);
  CHECK(first->digests[0] != first->digests[1]);
  CHECK(first->unchanged.empty());
  // Known as listed: project 5 is only counted, project 6 (digest unknown) is decoded.
  std::vector<model::Id> asked;
  auto known = [&](model::Id id, std::string_view digest) {
    asked.push_back(id);
    return held_if(id == 5 && digest == first->digests[0]);
  };
  auto again = detail::decode_page(loose, true, known);
  REQUIRE(again.ok());
  // Each project is looked up (once by the text as sent, once minified,
  // when the text as sent is not the minified one).
  asked.erase(std::unique(asked.begin(), asked.end()), asked.end());
  CHECK(asked == std::vector<model::Id>{5, 6});
  CHECK(again->unchanged == std::vector<model::Id>{5});
  REQUIRE(again->data.size() == 1);
  CHECK(again->data[0].id == 6);
  // A decoded project's digest is of its text as sent, so that the next
  // listing, sent the same way, finds it at the first look.
  CHECK(again->digests[0] == model::listing_digest("{\"id\":6,\n\"name\":\"b\"}"));
  CHECK(again->listed() == 2);
  // A changed field changes the digest.
  auto renamed = detail::decode_page(R"({"data":[{"id":5,"name":"A"}],"page":1,"per_page":1,"total":1})", true, known);
  REQUIRE(renamed.ok());
  CHECK(renamed->unchanged.empty());
  CHECK(renamed->data.size() == 1);
}

TEST_CASE("a listed project the mirror does not hold is looked up once, by its text as sent, and never minified") {
  // Loose, so that a minified text's digest would be another: a second
  // lookup of a project would show it was minified.
  const std::string loose = "{\"data\":[{ \"id\" : 5, \"name\" : \"a\" },\n {\"id\":6, \"name\":\"b\"}],"
                            "\"page\":1,\"per_page\":2,\"total\":2}";
  std::vector<std::pair<model::Id, std::string>> asked;
  auto held = [&](Known answer) {
    return [&asked, answer](model::Id id, std::string_view digest) {
      asked.emplace_back(id, digest);
      return answer;
    };
  };
  auto fresh = detail::decode_page_in_full(loose, true, held(Known::not_held));
  REQUIRE(fresh.ok());
  CHECK(fresh->unchanged.empty());
  REQUIRE(fresh->data.size() == 2);
  const std::vector<std::pair<model::Id, std::string>> as_sent{
      {5, model::listing_digest(R"({ "id" : 5, "name" : "a" })")},
      {6, model::listing_digest(R"({"id":6, "name":"b"})")}};
  CHECK(asked == as_sent);
  CHECK(fresh->digests == std::vector<std::string>{as_sent[0].second, as_sent[1].second});
  // A project held with another digest is looked up again by its minified text.
  asked.clear();
  auto changed = detail::decode_page_in_full(loose, true, held(Known::other_digest));
  REQUIRE(changed.ok());
  REQUIRE(changed->data.size() == 2);
  REQUIRE(asked.size() == 4);
  CHECK(asked[1] == std::pair<model::Id, std::string>{5, model::listing_digest(R"({"id":5,"name":"a"})")});
}

TEST_CASE("a compact page is matched by the text as sent; any other spelling of the same project still matches") {
  const std::string tight = R"({"data":[{"id":5,"name":"a","extra":1.5},{"id":6,"name":"b"}],"page":1,"per_page":2,"total":2})";
  auto first = detail::decode_page(tight, true);
  REQUIRE(first.ok());
  REQUIRE(first->digests.size() == 2);
  std::vector<std::string> looked_up;
  auto known = [&](model::Id id, std::string_view digest) {
    looked_up.emplace_back(digest);
    return held_if(digest == first->digests[static_cast<std::size_t>(id - 5)]);
  };
  auto again = detail::decode_page(tight, true, known);
  REQUIRE(again.ok());
  CHECK(again->unchanged == std::vector<model::Id>{5, 6});
  CHECK(again->data.empty());
  CHECK(looked_up == first->digests);  // found at the first look: nothing minified
  // The same projects spelt otherwise: an escaped letter, whitespace, a
  // number written with an exponent. The known digests are of the minified
  // text (the first page was compact), so they are still unchanged.
  const std::string spelt = "{\"data\":[{\"id\":5,\"name\":\"\\u0061\",\"extra\":15e-1} ,\n"
                            " {\"id\":6, \"name\":\"b\"}],\"page\":1,\"per_page\":2,\"total\":2}";
  auto respelt = detail::decode_page(spelt, true, known);
  REQUIRE(respelt.ok());
  CHECK(respelt->unchanged == std::vector<model::Id>{5, 6});
  CHECK(respelt->data.empty());
  // The text as sent is looked up first: a digest of exactly those bytes is
  // found without minifying them (which would spell the name "a").
  const std::string as_sent = R"({"id":5,"name":"\u0061","extra":15e-1})";
  auto only_as_sent = [&](model::Id, std::string_view digest) {
    return held_if(digest == model::listing_digest(as_sent));
  };
  auto raw = detail::decode_page(R"({"data":[)" + as_sent + R"(],"page":1,"per_page":1,"total":1})", true, only_as_sent);
  REQUIRE(raw.ok());
  CHECK(raw->unchanged == std::vector<model::Id>{5});
  // A real change is decoded, whichever way it is spelt.
  auto changed = detail::decode_page(R"({"data":[{"id":5,"name":"\u0062","extra":1.5}],"page":1,"per_page":1,"total":1})",
                                     true, known);
  REQUIRE(changed.ok());
  CHECK(changed->unchanged.empty());
  REQUIRE(changed->data.size() == 1);
  CHECK(changed->data[0].name == "b");
  // Its digest is of the text as sent, not of a minified spelling ("b", 1.5).
  CHECK(changed->digests[0] == model::listing_digest(R"({"id":5,"name":"\u0062","extra":1.5})"));
}

TEST_CASE("a project first stored as a loose server spelt it is decoded again when the server turns compact") {
  const std::string loose = "{\"data\":[{ \"id\" : 5, \"name\" : \"a\" }],\"page\":1,\"per_page\":1,\"total\":1}";
  const std::string compact = R"({"data":[{"id":5,"name":"a"}],"page":1,"per_page":1,"total":1})";
  auto first = detail::decode_page(loose, true);
  REQUIRE(first.ok());
  REQUIRE(first->digests.size() == 1);
  auto known = [&](model::Id, std::string_view digest) { return held_if(digest == first->digests[0]); };
  // Listed loose again: known at the first look.
  auto same = detail::decode_page(loose, true, known);
  REQUIRE(same.ok());
  CHECK(same->unchanged == std::vector<model::Id>{5});
  // Listed compact: neither digest is the loose text's, so it is decoded
  // (the same project: the mirror will change only its digest).
  auto turned = detail::decode_page(compact, true, known);
  REQUIRE(turned.ok());
  CHECK(turned->unchanged.empty());
  REQUIRE(turned->data.size() == 1);
  CHECK(turned->data[0] == first->data[0]);
  CHECK(turned->digests[0] != first->digests[0]);
}

TEST_CASE("pages of any length, one after another on one thread, are read by simdjson, and a page past a megabyte changes nothing for the next") {
  // decode_page keeps its parsers from page to page, grows them ahead of the
  // pages and gives back what a page past a megabyte took. The projects are
  // spelt loose, and `known` knows only the digests of their text as sent:
  // each is found unchanged only when simdjson read the page and the
  // on-demand reader gave each project's text (the fallback has no digests,
  // and a minified text's digest is another).
  std::set<std::string> sent_digests;
  auto page_of = [&](int n, std::size_t padding) {
    std::string text = R"({"data":[)";
    for (int id = 1; id <= n; ++id) {
      const std::string item = R"({ "id": )" + std::to_string(id) + R"(, "name": "p)" + std::to_string(id) +
                               R"(", "notes": ")" + std::string(padding, 'x') + R"(" })";
      sent_digests.insert(model::listing_digest(item));
      text += (id > 1 ? "," : "") + item;
    }
    return text + "],\"page\":1,\"per_page\":" + std::to_string(n) + ",\"total\":" + std::to_string(n) + "}";
  };
  auto known = [&](model::Id, std::string_view digest) { return held_if(sent_digests.contains(std::string(digest))); };
  for (auto [n, padding] : {std::pair{1, 10}, {150, 800}, {200, 800}, {180, 800}, {2'000, 600}, {3, 10}, {200, 900}}) {
    sent_digests.clear();
    const auto text = page_of(n, padding);
    CAPTURE(text.size());
    auto page = detail::decode_page(text, true, known);
    REQUIRE_MESSAGE(page.ok(), (page.ok() ? "" : page.error().message));
    CHECK(page->unchanged.size() == static_cast<std::size_t>(n));
    CHECK(page->data.empty());
    auto fresh = detail::decode_page(text, true);
    REQUIRE(fresh.ok());
    REQUIRE(fresh->data.size() == static_cast<std::size_t>(n));
    CHECK(fresh->data.back().name == "p" + std::to_string(n));
    CHECK(sent_digests.contains(fresh->digests.back()));
  }
  CHECK(page_of(2'000, 600).size() > (1u << 20));
  // Past the page of 2,000 projects, the parser that was given back still
  // holds the depth limit.
  const std::string past_limit =
      R"({"data":[{"id":1,"extra":)" + deep(62) + "}],\"page\":1,\"per_page\":1,\"total\":1}";
  auto past = detail::decode_page_in_full(past_limit, true, [](model::Id, std::string_view) { return Known::same_digest; });
  REQUIRE_FALSE(past.ok());
  CHECK(past.error().message.find("deeper than 64") != std::string::npos);
}

TEST_CASE("a page simdjson refuses is read by the fallback with the same rules") {
  // An integer past 64 bits in a field nobody reads: valid JSON that simdjson will not hold.
  const std::string big = R"({"data":[{"id":5,"name":"a","x":123456789012345678901234567890}],"page":1,"per_page":1,"total":1})";
  auto page = detail::decode_page_in_full(big, true, [](model::Id, std::string_view) { return Known::same_digest; });
  REQUIRE_MESSAGE(page.ok(), (page.ok() ? "" : page.error().message));
  REQUIRE(page->data.size() == 1);  // the fallback has no digests, so nothing counts as known
  CHECK(page->data[0].name == "a");
  CHECK(page->digests == std::vector<std::string>{""});
  auto bad = detail::decode_page(R"({"data":[{"id":77,"name":["x"]}],"page":1,"per_page":1,"total":1,"y":1e999999})", true);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().is(Errc::bad_payload));
}

namespace {

// What two decoders made of one page, comparable: the projects, or the error.
std::string outcome(const Result<ProjectPage>& r) {
  if (!r) return "error: " + r.error().message;
  std::string out = "page " + std::to_string(r->page) + "/" + std::to_string(r->per_page) + " total " +
                    (r->total ? std::to_string(*r->total) : "-");
  for (const auto& p : r->data) out += "\n" + model::canonical_json(p);
  return out;
}

}  // namespace

TEST_CASE("simdjson and nlohmann read every page alike: the same projects, or the same error") {
  const std::vector<std::string> projects = {
      R"({"id":5,"name":"a","tag_ids":[1,2],"tags":[{"id":1,"name":"x","color":"#fff"}],"client":{"id":3,"name":"c"}})",
      R"({"id":5,"id":6,"name":"last of duplicates wins"})",
      R"({"id":7,"name":"dup","name":"second"})",
      R"({"id":8,"fixed_fee":{"amount":12,"currency":"EUR"},"rate":{"hourly_rate":1e2,"project_id":18446744073709551615}})",
      R"({"id":9,"unknown":{"deep":[1,2.50,"\u00e9\ud83c\udf89",null,true]},"zz":18446744073709551615})",
      R"({"id":10,"name":"esc \" \\ \/ \b\f\n\r\t \u0001 \u007f"})",
      R"({"id":11,"archived_at":"2026-01-01T10:00:00+02:00","start_date":"2026-02-03"})",
      R"({"id":12,"estimated_mins":1.5})",
      R"({"id":13,"tag_ids":[1,"2"]})",
      R"({"id":14,"tags":[{"id":1},7]})",
      R"({"id":15,"permissions":["a",null]})",
      R"({"id":16,"client":"acme"})",
      R"({"id":17,"archived_at":"yesterday"})",
      R"({"id":18,"parent_project_id":18446744073709551615})",
      R"({"id":19,"billable":1})",
      R"({"id":20,"total_tracked_time":-5,"toggl_user_id":null})",
      R"({"id":-1})",
      R"({"id":9223372036854775807,"name":"max"})",
      R"({"name":"no id"})",
      R"([1,2])",
      R"("text")",
      "{\"id\":21,\"name\":\"bad \xff\xfe utf-8\"}",
      // More than eight members: found through the sorted members, where
      // the last of duplicates must still win, at the top and nested.
      R"({"id":22,"name":"first","active":true,"billable":false,"color":"#000","pinned":true,"private":false,)"
      R"("client_id":4,"description":"d","name":"last wins among many","id":23})",
      R"({"id":24,"rate":{"billable":true,"currency":"USD","hourly_rate":1,"project_color":"#1","project_id":24,)"
      R"("project_name":"p","project_rate_id":2,"has_more_rates":false,"currency":"EUR","hourly_rate":2.5},)"
      R"("pinned":false,"private":true,"active":false,"billable":true,"color":"#2","client_id":1,"name":"n"})",
      R"({"id":25,"billable":"x","a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"billable":true})",
      R"({"id":26,"billable":true,"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"billable":"x"})",
  };
  // Past the inline size of the sorted members, with duplicates far apart
  // (a sort that is not stable reorders equal keys at this size).
  auto many = [](int id, const std::string& first, const std::string& last) {
    std::string out = "{\"id\":" + std::to_string(id) + "," + first;
    for (int i = 0; i < 45; ++i) out += ",\"k" + std::to_string(i) + "\":" + std::to_string(i);
    return out + "," + last + "}";
  };
  auto all = projects;
  all.push_back(many(27, R"("name":"first","billable":"x")", R"("name":"last","billable":true)"));
  all.push_back(many(28, R"("name":"first","billable":true)", R"("name":"last","billable":"x")"));
  for (const auto& project : all) {
    const std::string body = R"({"data":[)" + project + R"(],"page":1,"per_page":50,"total":1})";
    CAPTURE(body);
    CHECK(outcome(detail::decode_page(body, true)) == outcome(detail::decode_page_by_nlohmann(body, true)));
  }
}

TEST_CASE("a page's own fields named twice are read as nlohmann reads them: the last one counts") {
  const std::vector<std::string> pages = {
      R"({"data":[{"id":5}],"data":2,"per_page":2,"total":2})",
      R"({"data":3,"data":[{"id":5}],"total":1})",
      R"({"data":[{"id":5}],"data":[{"id":6},{"id":7}],"total":2})",
      R"({"data":[],"page":-1,"page":2,"total":0})",
      R"({"data":[],"page":2,"page":-1,"total":0})",
      R"({"data":[],"total":0,"total":null})",
      R"({"data":[],"total":"x","total":0})",
  };
  for (const auto& body : pages) {
    CAPTURE(body);
    CHECK(outcome(detail::decode_page(body, true)) == outcome(detail::decode_page_by_nlohmann(body, true)));
  }
  auto read = detail::decode_page(R"({"data":[{"id":5}],"data":[{"id":6},{"id":7}],"total":2})", true);
  REQUIRE(read);
  REQUIRE(read->data.size() == 2);
  CHECK(read->data[0].id == 6);
}

namespace {

// A listing page around `items` (the projects' texts, comma-separated), as a
// server might write it or break it: the page's own fields in any order,
// named twice, spelt otherwise than as plain digits, out of range or
// missing; other fields nested deep or not JSON at all; and text past the page.
std::vector<std::string> pages_around(const std::string& items, const std::string& first) {
  const std::string data = R"("data":[)" + items + "]";
  return {
      "{" + data + R"(,"page":2,"per_page":3,"total":9})",
      R"({"total":9,"meta":{"a":[1,-2.5e3,"s\u00e9",true,false,null,{}],"b":[]},"page":1,)" + data + "}",
      "{" + data + R"(,"page":1,"per_page":3,"total":9,"junk":tru})",
      "{" + data + R"(,"page":1,"per_page":3,"total":9,"junk":[1,{"a":nul}]})",
      "{" + data + R"(,"page":1,"per_page":3,"total":9,"junk":"\x"})",
      "{" + data + R"(,"page":1,"per_page":3,"total":9,"junk":1.2.3})",
      "{" + data + R"(,"page":1,"per_page":3,"total":9} x)",
      "{" + data + R"(,"page":1,"per_page":3,"total":9}])",
      "{" + data + R"(,"page":1,"per_page":3,"total":9} {})",
      "{" + data + R"(,"page":1,"per_page":3,"total":9}})",
      "{" + data + R"(,"page":1,"per_page":3,"total":9,"deep":)" + deep(70) + "}",
      "{" + data + R"(,"page":1,"per_page":3,"total":9,"deep":)" + deep(61) + "}",
      "{" + data + R"(,"total":9,"deep":)" + std::string(63, '[') + "1" + std::string(63, ']') + "}",
      "{" + data + R"(,"total":9,"deep":)" + std::string(62, '[') + "1" + std::string(62, ']') + "}",
      "{" + data + R"(,"total":3,"tot\u0061l":4})",
      R"({"d\u0061ta":[)" + items + R"(],"total":3})",
      "{" + data + R"(,"page":1.0,"per_page":3,"total":9})",
      "{" + data + R"(,"page":-0,"per_page":3,"total":9})",
      "{" + data + R"(,"page":01,"per_page":3,"total":9})",
      "{" + data + R"(,"page":1,"per_page":1e2,"total":9})",
      "{" + data + R"(,"page":"1","per_page":3,"total":9})",
      "{" + data + R"(,"page":1,"per_page":3,"total":99999999999})",
      "{" + data + R"(,"page":1,"per_page":3,"total":18446744073709551615})",
      "{" + data + R"(,"page":0,"per_page":3,"total":9})",
      "{" + data + R"(,"page":1,"per_page":3,"total":null})",
      "{" + data + R"(,"page":1,"per_page":3})",
      "{" + data + R"(,"total":1,"total":9})",
      "{" + data + R"(,"data":[],"total":9})",
      R"({"data":[],"total":0})",
      R"({"data":[)" + first + "," + R"({"id":8,"name":"new"}],"total":2})",
      R"({"data":[)" + first + R"(,{"i\u0064":6,"name":"b"}],"total":2})",
      R"({"data":[)" + first + R"(,{"name":"b","id":6} ],"total":2})",
      R"({"data":[)" + first + R"(,[1]],"total":2})",
      R"({"data":{"id":5},"total":1})",
      R"([{"data":[]}])",
      "{" + data + R"(,"page":1,"per_page":3,"total":9,"s":"unterminated})",
  };
}

}  // namespace

TEST_CASE("a page whose projects are all known is read without its document, and answers as the full reading does") {
  // The digests known are those of projects read in full, as the mirror's are.
  const std::vector<std::string> projects = {R"({"id":5,"name":"a","tag_ids":[1]})", R"({"name":"b","id":6})",
                                             R"({"id":7,"name":"c","rate":{"hourly_rate":1.5}})"};
  const std::string items = projects[0] + "," + projects[1] + "," + projects[2];
  auto first = detail::decode_page_in_full(R"({"data":[)" + items + "]}", false);
  REQUIRE(first.ok());
  REQUIRE(first->digests.size() == 3);
  auto known = [&](model::Id id, std::string_view digest) {
    for (std::size_t i = 0; i < first->data.size(); ++i)
      if (first->data[i].id == id) return held_if(first->digests[i] == digest);
    return Known::not_held;
  };
  const auto pages = pages_around(items, projects[0]);
  auto read = [&](const std::string& page) {
    auto r = detail::decode_page(page, true, known);
    return outcome(r) + (r ? " unchanged " + json(r->unchanged).dump() : "");
  };
  auto in_full = [&](const std::string& page) {
    auto r = detail::decode_page_in_full(page, true, known);
    return outcome(r) + (r ? " unchanged " + json(r->unchanged).dump() : "");
  };
  for (const auto& page : pages) {
    CAPTURE(page);
    CHECK(read(page) == in_full(page));
  }
  // The first two are pages of known projects: all unchanged, the page's own fields as given.
  CHECK(read(pages[0]) == "page 2/3 total 9 unchanged [5,6,7]");
  CHECK(read(pages[1]) == "page 1/3 total 9 unchanged [5,6,7]");
}

TEST_CASE("what a stored digest vouches for is not read again") {
  // A project whose text the parser would refuse (no stored digest can be
  // of one) is taken on its digest's word, where the full reading refuses
  // the page: decode_page did not build the page's document.
  const std::string refused = R"({"id":9,"name":tru})";
  auto vouched = [&](model::Id, std::string_view digest) {
    return held_if(digest == model::listing_digest(refused));
  };
  const std::string page = R"({"data":[)" + refused + R"(],"total":1})";
  auto quick = detail::decode_page(page, true, vouched);
  REQUIRE(quick.ok());
  CHECK(quick->unchanged == std::vector<model::Id>{9});
  CHECK_FALSE(detail::decode_page_in_full(page, true, vouched).ok());

  // An id named twice: the last one is the project's, as the full reading
  // (and the digest stored with it) has it; the first is not taken for it.
  const std::string twice = R"({"id":5,"id":6,"name":"x"})";
  auto stored_as_6 = [&](model::Id id, std::string_view digest) {
    return id != 6 ? Known::not_held : held_if(digest == model::listing_digest(twice));
  };
  const std::string with_twice = R"({"data":[)" + twice + R"(],"total":1})";
  auto both = detail::decode_page(with_twice, true, stored_as_6);
  REQUIRE(both.ok());
  CHECK(both->unchanged == std::vector<model::Id>{6});
  CHECK(both->data.empty());
}
