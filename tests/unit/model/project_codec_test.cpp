#include "model/decode_error.hpp"
#include "model/project_codec.hpp"

#include <doctest/doctest.h>

#include <limits>

using namespace focus;
using namespace focus::model;
using nlohmann::json;

namespace {

json full_project() {
  return json::parse(R"({
    "id": 9007199254740993, "workspace_id": 7, "name": "Website redesign",
    "active": false, "archived_at": "2026-03-01T10:00:00+01:00", "auto_compute_estimates": true,
    "billable": true, "client": {"id": 55, "name": "Acme"}, "client_id": 55, "color": "#06aaf5",
    "created_at": "2025-01-02T03:04:05Z", "deleted_at": null, "description": "Spring work",
    "start_date": "2026-01-01", "end_date": "2026-06-30", "estimated_mins": 1200,
    "fixed_fee": {"amount": 1500.5, "currency": "EUR"}, "parent_project_id": 9007199254740990,
    "permissions": ["view", "edit"], "pinned": true, "private": false,
    "rate": {"billable": true, "currency": "EUR", "end_at": null, "has_more_rates": false,
             "hourly_rate": 85.0, "project_color": "#06aaf5", "project_created_at": "2025-01-02T03:04:05Z",
             "project_id": 9007199254740993, "project_name": "Website redesign", "project_rate_id": 3,
             "start_at": "2025-01-02T03:04:05Z", "workspace_rate_id": null},
    "tag_ids": [1, 2], "tags": [{"id": 1, "name": "design", "color": "#ff0000"}, {"id": 2, "name": "web", "color": "#00ff00"}],
    "task_estimated_mins": null, "toggl_user_id": 4242, "total_tracked_time": 36000,
    "updated_at": "2026-03-01T09:00:00.250Z", "future_field": {"nested": [1, "two", null]}
  })");
}

std::string decode_error_of(const json& value) {
  try {
    decode_project(value);
  } catch (const DecodeError& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("every field of the reference is decoded") {
  Project p = decode_project(full_project());
  CHECK(p.id == 9007199254740993LL);  // beyond 2^53: a double would round it
  CHECK(p.workspace_id == 7);
  CHECK(p.name == "Website redesign");
  CHECK_FALSE(p.active);
  CHECK(format_rfc3339(*p.archived_at) == "2026-03-01T09:00:00Z");
  CHECK(p.auto_compute_estimates);
  CHECK(p.billable);
  CHECK(p.client == ClientRef{55, "Acme"});
  CHECK(p.client_id == 55);
  CHECK(p.color == "#06aaf5");
  CHECK_FALSE(p.deleted_at);
  CHECK(p.description == "Spring work");
  CHECK(format_date(*p.start_date) == "2026-01-01");
  CHECK(format_date(*p.end_date) == "2026-06-30");
  CHECK(p.estimated_mins == 1200);
  CHECK(p.fixed_fee == FixedFee{1500.5, "EUR"});
  CHECK(p.parent_project_id == 9007199254740990LL);
  CHECK(p.permissions == std::vector<std::string>{"view", "edit"});
  CHECK(p.pinned);
  CHECK_FALSE(p.is_private);
  REQUIRE(p.rate);
  CHECK(p.rate->hourly_rate == 85.0);
  CHECK(p.rate->project_rate_id == 3);
  CHECK_FALSE(p.rate->workspace_rate_id);
  CHECK(p.tag_ids == std::vector<Id>{1, 2});
  CHECK(p.tags.size() == 2);
  CHECK(p.tags[1] == Tag{2, "web", "#00ff00"});
  CHECK_FALSE(p.task_estimated_mins);
  CHECK(p.toggl_user_id == 4242);
  CHECK(p.total_tracked_time == 36000);
  CHECK(format_rfc3339(*p.updated_at) == "2026-03-01T09:00:00.250000Z");
  CHECK(p.extra == json{{"future_field", {{"nested", {1, "two", nullptr}}}}});
}

TEST_CASE("encode(decode(x)) keeps every value and the unknown fields") {
  json original = full_project();
  json round = encode_project(decode_project(original));
  CHECK(round["future_field"] == original["future_field"]);
  CHECK(round["id"].get<Id>() == 9007199254740993LL);
  CHECK(round["archived_at"] == "2026-03-01T09:00:00Z");  // same instant, UTC spelling
  CHECK(decode_project(round) == decode_project(original));
}

TEST_CASE("a minimal project decodes with defaults; nulls everywhere are tolerated") {
  Project minimal = decode_project(json{{"id", 1}});
  CHECK(minimal.id == 1);
  CHECK(minimal.active);
  CHECK(minimal.tag_ids.empty());

  json nulls = full_project();
  for (auto& [key, value] : nulls.items())
    if (key != "id") value = nullptr;
  Project p = decode_project(nulls);
  CHECK(p.name.empty());
  CHECK_FALSE(p.client);
  CHECK_FALSE(p.fixed_fee);
  CHECK_FALSE(p.rate);
  CHECK(p.tags.empty());
  CHECK(p.extra["future_field"].is_null());  // kept, as sent
}

TEST_CASE("hostile values: extreme ids, empty strings, unicode") {
  json j = {{"id", std::numeric_limits<Id>::max()},
            {"name", ""},
            {"description", "Ünïcødé ✓ 日本語 \xF0\x9F\x9A\x80"},
            {"parent_project_id", std::numeric_limits<Id>::max() - 1},
            {"tag_ids", {std::numeric_limits<Id>::min(), 0}}};
  Project p = decode_project(j);
  CHECK(p.id == std::numeric_limits<Id>::max());
  CHECK(p.name.empty());
  CHECK(p.description == "Ünïcødé ✓ 日本語 \xF0\x9F\x9A\x80");
  CHECK(p.tag_ids.front() == std::numeric_limits<Id>::min());
  CHECK(decode_project(encode_project(p)) == p);
}

TEST_CASE("wrong types are refused with the field and the project id named") {
  json j = full_project();
  j["name"] = 12;
  CHECK(decode_error_of(j) == "project 9007199254740993: field 'name': expected string, got integer");

  j = full_project();
  j["fixed_fee"]["amount"] = "lots";
  CHECK(decode_error_of(j) ==
        "project 9007199254740993: field 'fixed_fee.amount': expected number, got string");

  j = full_project();
  j["tag_ids"] = {1, "x"};
  CHECK(decode_error_of(j) == "project 9007199254740993: field 'tag_ids[1]': expected integer, got string");

  j = full_project();
  j["tags"][0]["id"] = 1.5;
  CHECK(decode_error_of(j) == "project 9007199254740993: field 'tags[0].id': expected integer, got number");

  j = full_project();
  j["updated_at"] = "last tuesday";
  CHECK(decode_error_of(j) ==
        "project 9007199254740993: field 'updated_at' is not an RFC 3339 date-time: 'last tuesday'");

  j = full_project();
  j["active"] = "yes";
  CHECK(decode_error_of(j) == "project 9007199254740993: field 'active': expected boolean, got string");
}

TEST_CASE("an id beyond int64, a missing id and a non-object are refused") {
  json big = json::parse(R"({"id": 18446744073709551615})");
  CHECK(decode_error_of(big) == "project 18446744073709551615: field 'id' is out of range for a 64-bit id");
  CHECK(decode_error_of(json{{"name", "x"}}) == "project (id unreadable): field 'id' is required");
  CHECK(decode_error_of(json::array()) == "project (id unreadable): expected a JSON object, got array");
  CHECK_THROWS_AS(decode_project(std::string_view("{\"id\": 1,")), DecodeError);
}

TEST_CASE("the canonical form and hash ignore key order, whitespace and offset spelling") {
  json a = json::parse(R"({"id": 3, "name": "A", "updated_at": "2026-01-01T10:00:00+02:00", "x": {"b": 1, "a": 2}})");
  std::string spaced = "{ \"x\" : {\"a\":2 , \"b\":1},\n \"updated_at\": \"2026-01-01T08:00:00Z\", \"name\":\"A\", \"id\":3 }";
  json b = json::parse(spaced);
  std::string ca = canonical_json(decode_project(a));
  std::string cb = canonical_json(decode_project(b));
  CHECK(ca == cb);
  CHECK(content_hash(ca) == content_hash(cb));
  CHECK(content_hash(ca).size() == 32);
}

TEST_CASE("the hash changes when any field changes, including unknown ones") {
  Project base = decode_project(full_project());
  std::string h = content_hash(canonical_json(base));
  Project renamed = base;
  renamed.name += " ";
  Project extra = base;
  extra.extra["future_field"] = 1;
  Project unpinned = base;
  unpinned.pinned = false;
  CHECK(content_hash(canonical_json(renamed)) != h);
  CHECK(content_hash(canonical_json(extra)) != h);
  CHECK(content_hash(canonical_json(unpinned)) != h);
  CHECK(content_hash(canonical_json(base)) == h);
}

TEST_CASE("the listing digest is XXH3's 128 bits, high half first, so a stored digest means the same on every machine") {
  // The stored digests are compared with new ones on the next listing: a
  // change of algorithm or of digit order would decode every project again.
  // The empty text's digest is the one xxHash publishes for XXH3_128bits.
  CHECK(listing_digest("") == "99aa06d3014798d86001c324468d497f");
  CHECK(listing_digest(R"({"id":1,"name":"a"})").size() == 32);
  CHECK(listing_digest(R"({"id":1,"name":"a"})") != listing_digest(R"({"id":1,"name":"b"})"));
  CHECK(listing_digest(R"({"id":1,"name":"a"})") != content_hash(R"({"id":1,"name":"a"})"));
}

namespace {

// Projects whose canonical text exercises every spelling: escapes and
// controls, non-ASCII, DEL, doubles of every shape, unknown keys sorting
// before, between and after the known ones, and absent optional fields.
std::vector<json> awkward_projects() {
  std::vector<json> out = {full_project(), json{{"id", 1}}};
  json strings = full_project();
  strings["name"] = std::string("q\"b\\s/\b\f\n\r\t\x01\x1f\x7f é 漢 🎉", 29);
  strings["description"] = std::string("nul\0in", 6);
  strings["tags"] = json::array({{{"id", 3}, {"name", "\u00e9"}, {"color", ""}}});
  out.push_back(strings);
  for (double amount : {0.0, -0.0, 0.1, 100.0, 1e300, 1.5e-10, 123456789.125, -7.0, 1e16, 1e15})
    out.push_back(json{{"id", 2}, {"fixed_fee", {{"amount", amount}, {"currency", "EUR"}}},
                       {"rate", {{"hourly_rate", amount}}}});
  json extras = {{"id", 3}, {"A", 1}, {"_", {1, 2}}, {"activex", "between"}, {"clients", nullptr},
                 {"zz", {{"b", 1}, {"a", json::array()}}}, {"\u00e9", true}, {"tag_idsx", -1}};
  out.push_back(extras);
  return out;
}

}  // namespace

TEST_CASE("the canonical text is nlohmann's sorted compact dump of encode_project, byte for byte") {
  for (const auto& value : awkward_projects()) {
    auto p = decode_project(value);
    auto canonical = canonical_json(p);
    CAPTURE(canonical);
    CHECK(canonical == encode_project(p).dump());
    CHECK(canonical == json::parse(canonical).dump());  // sorted, compact, nlohmann's spelling
    CHECK(decode_project(std::string_view(canonical)) == p);
  }
  // An unknown key named like a known field (a Project built by hand) is the known field's.
  Project p;
  p.id = 4;
  p.extra = {{"name", "shadow"}, {"zz", 1}};
  p.name = "real";
  CHECK(canonical_json(p) == encode_project(p).dump());
  CHECK(json::parse(canonical_json(p))["name"] == "real");
}
