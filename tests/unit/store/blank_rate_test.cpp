// blank_rate against what it stands in for: SQLite's json_replace(body,
// '$.rate', NULL), on the compact bodies the mirror stores.
#include "store/blank_rate.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>
#include <sqlite3.h>

#include <random>
#include <string>

using focus::store::detail::blank_rate;
using nlohmann::json;

namespace {

class JsonReplace {
 public:
  JsonReplace() {
    sqlite3_open(":memory:", &db_);
    sqlite3_prepare_v2(db_, "SELECT json(?1) = ?1, json_replace(?1, '$.rate', NULL)", -1, &st_, nullptr);
  }
  ~JsonReplace() {
    sqlite3_finalize(st_);
    sqlite3_close(db_);
  }
  JsonReplace(const JsonReplace&) = delete;
  JsonReplace& operator=(const JsonReplace&) = delete;
  // json_replace's answer, and whether the body is compact as SQLite writes JSON.
  std::pair<std::string, bool> operator()(const std::string& body) {
    sqlite3_reset(st_);
    sqlite3_bind_text(st_, 1, body.data(), static_cast<int>(body.size()), SQLITE_TRANSIENT);
    REQUIRE(sqlite3_step(st_) == SQLITE_ROW);
    const bool compact = sqlite3_column_int(st_, 0) == 1;
    return {reinterpret_cast<const char*>(sqlite3_column_text(st_, 1)), compact};
  }

 private:
  sqlite3* db_ = nullptr;
  sqlite3_stmt* st_ = nullptr;
};

json random_value(std::mt19937& rng, int depth) {
  static const char* texts[] = {"", "rate", "\"rate\":5", "caf\xc3\xa9", "a\\\"b", "{\"rate\":1}", "x y"};
  switch (rng() % (depth > 2 ? 5 : 7)) {
    case 0: return nullptr;
    case 1: return static_cast<int>(rng() % 2000) - 1000;
    case 2: return (rng() % 100000) / 100.0;
    case 3: return texts[rng() % std::size(texts)];
    case 4: return rng() % 2 == 0;
    case 5: {
      json a = json::array();
      for (int i = static_cast<int>(rng() % 3); i > 0; --i) a.push_back(random_value(rng, depth + 1));
      return a;
    }
    default: {
      json o = json::object();
      for (int i = static_cast<int>(rng() % 4); i > 0; --i)
        o[rng() % 3 == 0 ? "rate" : "k" + std::to_string(rng() % 5)] = random_value(rng, depth + 1);
      return o;
    }
  }
}

}  // namespace

TEST_CASE("blank_rate edits the top-level rate as json_replace does, and nothing else") {
  JsonReplace sqlite;
  for (std::string body : {R"({"id":1,"rate":12.5,"name":"x"})", R"({"id":1,"name":"no rate"})",
                           R"({"rate":null})", R"({"rate":"12"})", R"({"a":{"rate":3},"rate":4,"b":[{"rate":5}]})",
                           R"({"name":"\"rate\":5","rate":1e+100})", R"({"ra\u0074e":7,"rate":-0})",
                           R"({"rate":1,"rate":2})", R"({"rate":true,"x":"caf\u00e9"})",
                           // A project's rate is an object: blanked whole, nested braces, strings and all.
                           R"({"id":1,"rate":{"amount":3,"x":{"y":"}"},"z":[1,{"w":"]"}]},"name":"n"})",
                           R"({"rate":[1,[2],{"a":"["}],"id":2})", R"({"rate":{},"rate":[]})"}) {
    INFO(body);
    auto [expected, compact] = sqlite(body);
    REQUIRE(compact);
    auto got = blank_rate(body);
    REQUIRE(got);
    CHECK(*got == expected);
  }
}

TEST_CASE("blank_rate leaves to json_replace what it does not read, and agrees on random compact bodies") {
  CHECK_FALSE(blank_rate("not json"));
  CHECK_FALSE(blank_rate("[1,2]"));
  JsonReplace sqlite;
  std::mt19937 rng(23);
  int compared = 0;
  for (int n = 0; n < 5000; ++n) {
    json o = json::object();
    for (int i = static_cast<int>(rng() % 6); i > 0; --i) o["k" + std::to_string(rng() % 8)] = random_value(rng, 1);
    if (rng() % 4 != 0) o["rate"] = random_value(rng, rng() % 2 == 0 ? 3 : 1);  // a scalar, or any value
    const std::string body = o.dump();
    auto [expected, compact] = sqlite(body);
    auto got = blank_rate(body);
    if (!compact || !got) continue;
    ++compared;
    INFO(body);
    REQUIRE(*got == expected);
  }
  CHECK(compared > 4000);
}
