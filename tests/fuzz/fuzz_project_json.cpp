// Fuzzes the model's JSON decoding: projects as the server sends them, and
// the bodies local tools send to change them. The first byte picks what the
// rest is read as. Beyond "no crash, only DecodeError", it checks:
//  - a decoded project re-encodes to a canonical form that is a fixed point
//    (decode(canonical) gives the same project and the same bytes), which
//    change detection relies on;
//  - an edit body accepted by normalize_edit_body applies to a project
//    without throwing, and the result shows every value the body sets
//    (edit_applied_to), which the replayer's read-back relies on; an edit
//    never conflicts with a server that has not moved from its base.
#include "model/decode_error.hpp"
#include "model/edit.hpp"
#include "model/members.hpp"
#include "model/project_codec.hpp"
#include "model/project_write.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

using namespace focus;
using nlohmann::json;

namespace {

[[noreturn]] void broken(const char* what, const std::string& detail) {
  std::fprintf(stderr, "property broken: %s\n%s\n", what, detail.c_str());
  std::abort();
}

const model::Project& sample_project() {
  static const model::Project p = model::decode_project(std::string_view(R"({
    "id": 7, "workspace_id": 1, "name": "Sample", "active": true, "billable": true, "pinned": false,
    "private": false, "client_id": 3, "client": {"id": 3, "name": "Acme"}, "color": "#06aaf5",
    "description": "before", "start_date": "2026-01-01", "end_date": null, "estimated_mins": 60,
    "parent_project_id": null, "tag_ids": [1, 2], "toggl_user_id": 9,
    "created_at": "2026-01-01T10:00:00Z", "updated_at": "2026-02-01T10:00:00Z", "total_tracked_time": 0})"));
  return p;
}

void project_round_trip(std::string_view text) {
  model::Project p;
  try {
    p = model::decode_project(text);
  } catch (const model::DecodeError&) {
    return;
  }
  std::string canonical = model::canonical_json(p);
  model::Project again = model::decode_project(std::string_view(canonical));
  if (model::canonical_json(again) != canonical) broken("canonical form is not a fixed point", canonical);
  if (!(again == p)) broken("decode(canonical) differs from the project", canonical);
}

void edit_body(model::EditOp op, std::string_view text) {
  json body = json::parse(text, nullptr, false);
  if (body.is_discarded()) return;
  auto normalized = model::normalize_edit_body(op, body);
  if (!std::holds_alternative<json>(normalized)) return;
  const json& accepted = std::get<json>(normalized);
  model::Project project = sample_project();
  const json base = model::encode_project(project);
  bool deleted = false;
  model::apply_edit(project, deleted, op, accepted, Timestamp{});
  const json after = model::encode_project(project);
  if ((op == model::EditOp::patch || op == model::EditOp::update) && !model::edit_applied_to(op, accepted, after))
    broken("an applied edit is not visible in the project", accepted.dump() + "\n" + after.dump());
  if (op == model::EditOp::create) {
    json created = model::encode_project(model::project_from_create(-1, 1, accepted, Timestamp{}));
    if (!model::edit_applied_to(op, accepted, created))
      broken("a queued create does not show its own body", accepted.dump() + "\n" + created.dump());
  }
  if (!model::conflicting_fields(op, accepted, base, base).empty())
    broken("an edit conflicts with a server that did not move", accepted.dump());
  (void)model::touched_fields(op, accepted);
  (void)model::referenced_parent(op, accepted);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  int mode = data[0] % 13;
  if (mode == 12)
    project_round_trip(text);
  else
    edit_body(static_cast<model::EditOp>(mode), text);
  return 0;
}
