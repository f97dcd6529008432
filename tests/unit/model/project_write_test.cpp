#include "model/decode_error.hpp"
#include "model/project_codec.hpp"
#include "model/project_write.hpp"

#include <doctest/doctest.h>

using namespace focus;
using namespace focus::model;
using nlohmann::json;

namespace {

std::string problem_of(const json& body) {
  auto p = validate_project_write(decode_project_write(body));
  return p ? p->message : "(valid)";
}

std::string patch_problem_of(const json& body) {
  try {
    auto p = validate_project_patch(decode_project_patch(body));
    return p ? p->message : "(valid)";
  } catch (const DecodeError& e) {
    return e.what();
  }
}

}  // namespace

TEST_CASE("a patch keeps absent, null and value apart through decode and encode") {
  json body = {{"name", "New"}, {"color", nullptr}, {"estimated_mins", 90}, {"fixed_fee", nullptr}};
  ProjectPatch p = decode_project_patch(body);
  CHECK(p.name == PatchField<std::string>::of("New"));
  CHECK(p.color.is_null());
  CHECK(p.description.absent());
  CHECK(p.fixed_fee.is_null());
  CHECK(encode_project_patch(p) == body);  // nothing added, nothing dropped
}

TEST_CASE("applying a patch changes only the fields it names") {
  Project project = decode_project(json{{"id", 1},
                                        {"name", "Old"},
                                        {"color", "#111111"},
                                        {"description", "keep me"},
                                        {"client_id", 4},
                                        {"fixed_fee", {{"amount", 10}, {"currency", "EUR"}}}});
  apply_patch(project, decode_project_patch(json{{"name", "New"}, {"color", nullptr}, {"client_id", 9}}));
  CHECK(project.name == "New");
  CHECK_FALSE(project.color);
  CHECK(project.description == "keep me");
  CHECK(project.client_id == 9);
  CHECK(project.fixed_fee == FixedFee{10, "EUR"});
}

TEST_CASE("null is refused on fields the reference does not let a patch clear") {
  CHECK(patch_problem_of(json{{"name", nullptr}}) == "project patch: field 'name' cannot be null");
  CHECK(patch_problem_of(json{{"billable", nullptr}}) == "project patch: field 'billable' cannot be null");
  CHECK(patch_problem_of(json{{"tag_ids", nullptr}}) == "project patch: field 'tag_ids' cannot be null");
  CHECK(patch_problem_of(json{{"pinned", "true"}}) ==
        "project patch: field 'pinned': expected boolean, got string");
  CHECK(patch_problem_of(json{{"parent_project_id", nullptr}}) == "(valid)");
}

TEST_CASE("a write body round-trips and reads null as left out") {
  json body = {{"name", "P"}, {"billable", true}, {"tag_ids", {1, 2}}, {"start_date", "2026-01-01"},
               {"fixed_fee", {{"amount", 12.5}, {"currency", "USD"}}}};
  ProjectWrite w = decode_project_write(body);
  CHECK(encode_project_write(w) == body);
  CHECK_FALSE(decode_project_write(json{{"name", "P"}, {"color", nullptr}}).color);
}

TEST_CASE("write validation names the field and the rule") {
  CHECK(problem_of(json{{"name", "Fine"}}) == "(valid)");
  CHECK(problem_of(json::object()) == "field 'name' is required");
  CHECK(problem_of(json{{"name", "   "}}) == "field 'name' must not be blank");
  CHECK(problem_of(json{{"name", std::string(256, 'x')}}) == "field 'name' is longer than 255 bytes");
  CHECK(problem_of(json{{"name", "P"}, {"color", "red"}}) ==
        "field 'color' must be a colour like \"#1a2b3c\", got \"red\"");
  CHECK(problem_of(json{{"name", "P"}, {"estimated_mins", -1}}) == "field 'estimated_mins' must not be negative");
  CHECK(problem_of(json{{"name", "P"}, {"fixed_fee", {{"amount", 1}, {"currency", "euro"}}}}) ==
        "field 'fixed_fee.currency' must be a three-letter currency code like \"EUR\"");
  CHECK(problem_of(json{{"name", "P"}, {"fixed_fee", {{"amount", -1}, {"currency", "EUR"}}}}) ==
        "field 'fixed_fee.amount' must be a non-negative number");
  CHECK(problem_of(json{{"name", "P"}, {"start_date", "2026-02-01"}, {"end_date", "2026-01-01"}}) ==
        "field 'end_date' must not be before start_date");
  CHECK(problem_of(json{{"name", "P"}, {"tag_ids", {3, -1}}}) == "field 'tag_ids' must hold positive ids, got -1");
  CHECK(problem_of(json{{"name", "P"}, {"client_id", 0}}) == "field 'client_id' must be a positive id");
}

TEST_CASE("a bad date in a body is a decode error naming the field") {
  CHECK_THROWS_WITH_AS(decode_project_write(json{{"name", "P"}, {"end_date", "2026-13-01"}}),
                       "project body: field 'end_date' is not a date (YYYY-MM-DD): '2026-13-01'", DecodeError);
}
