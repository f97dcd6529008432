#include "model/edit.hpp"

#include "model/decode_error.hpp"
#include "model/members.hpp"
#include "model/project_codec.hpp"

#include <algorithm>
#include <array>

namespace focus::model {

using nlohmann::json;

namespace {

// The fields a PUT sets, and what each becomes when the body leaves it out.
const std::vector<std::pair<std::string, json>>& writable_fields() {
  static const std::vector<std::pair<std::string, json>> fields = {
      {"name", nullptr},          {"auto_compute_estimates", false}, {"billable", false},
      {"pinned", false},          {"private", false},                {"client_id", nullptr},
      {"parent_project_id", nullptr}, {"color", nullptr},            {"description", nullptr},
      {"start_date", nullptr},    {"end_date", nullptr},             {"estimated_mins", nullptr},
      {"fixed_fee", nullptr},     {"tag_ids", json::array()},
  };
  return fields;
}

FieldProblem problem_from(const DecodeError& e) {
  return FieldProblem{e.field(), e.what()};
}

// Keeps the derived fields honest after a local change: a client or tag the
// project no longer names is dropped (its name is not known here), and the
// rate repeats the project's name and colour, as the server's does.
void drop_stale_references(Project& p) {
  if (p.rate) {
    p.rate->project_name = p.name;
    p.rate->project_color = p.color.value_or("");
  }
  if (p.client && p.client->id != p.client_id.value_or(0)) p.client.reset();
  std::erase_if(p.tags, [&](const Tag& t) {
    return std::find(p.tag_ids.begin(), p.tag_ids.end(), t.id) == p.tag_ids.end();
  });
}

}  // namespace

bool has_body(EditOp op) {
  return op == EditOp::create || op == EditOp::update || op == EditOp::patch || is_members_op(op);
}

bool is_members_op(EditOp op) {
  return op == EditOp::members_add || op == EditOp::members_role || op == EditOp::members_remove;
}

NormalizedBody normalize_edit_body(EditOp op, const json& body) {
  try {
    switch (op) {
      case EditOp::create:
      case EditOp::update: {
        auto w = decode_project_write(body);
        if (auto p = validate_project_write(w)) return *p;
        return encode_project_write(w);
      }
      case EditOp::patch: {
        auto p = decode_project_patch(body);
        if (auto problem = validate_project_patch(p)) return *problem;
        json out = encode_project_patch(p);
        if (out.empty()) return FieldProblem{"", "the patch names no field to change"};
        return out;
      }
      case EditOp::members_add: {
        auto m = decode_members_add(body);
        if (auto p = validate_members_add(m)) return *p;
        return encode_members_add(m);
      }
      case EditOp::members_role: {
        auto m = decode_member_role_change(body);
        if (auto p = validate_member_role_change(m)) return *p;
        return encode_member_role_change(m);
      }
      case EditOp::members_remove: {
        auto m = decode_member_removal(body);
        if (auto p = validate_member_removal(m)) return *p;
        return encode_member_removal(m);
      }
      default:
        return json(nullptr);  // the flag operations carry no body
    }
  } catch (const DecodeError& e) {
    return problem_from(e);
  }
}

json write_as_patch(const json& write_body) {
  json patch = json::object();
  for (const auto& [field, reset] : writable_fields()) {
    auto it = write_body.find(field);
    patch[field] = it != write_body.end() && !it->is_null() ? *it : reset;
  }
  return patch;
}

Project project_from_create(Id temporary_id, Id workspace_id, const json& write_body, Timestamp now) {
  Project p;
  p.id = temporary_id;
  p.workspace_id = workspace_id;
  p.created_at = now;
  p.updated_at = now;
  bool deleted = false;
  apply_edit(p, deleted, EditOp::update, write_body, now);
  return p;
}

void apply_edit(Project& p, bool& deleted, EditOp op, const json& body, Timestamp now) {
  switch (op) {
    case EditOp::create:
    case EditOp::update:
      apply_patch(p, decode_project_patch(write_as_patch(body)));
      break;
    case EditOp::patch:
      apply_patch(p, decode_project_patch(body));
      break;
    case EditOp::remove:
      deleted = true;
      if (!p.deleted_at) p.deleted_at = now;
      break;
    case EditOp::restore:
      deleted = false;
      p.deleted_at.reset();
      break;
    case EditOp::archive:
      p.active = false;
      if (!p.archived_at) p.archived_at = now;
      break;
    case EditOp::unarchive:
      p.active = true;
      p.archived_at.reset();
      break;
    case EditOp::pin:
    case EditOp::unpin:
      p.pinned = op == EditOp::pin;
      break;
    default:
      return;  // membership is not part of the project
  }
  drop_stale_references(p);
  p.updated_at = now;
}

std::vector<std::string> touched_fields(EditOp op, const json& body) {
  std::vector<std::string> out;
  switch (op) {
    case EditOp::create:
    case EditOp::update:
      for (const auto& [field, reset] : writable_fields()) out.push_back(field);
      break;
    case EditOp::patch:
      for (const auto& [key, value] : body.items()) out.push_back(key);
      break;
    case EditOp::archive:
    case EditOp::unarchive:
      out.push_back("active");
      break;
    case EditOp::pin:
    case EditOp::unpin:
      out.push_back("pinned");
      break;
    default:
      break;
  }
  return out;
}

bool edit_applied_to(EditOp op, const json& body, const json& server) {
  const json expected = op == EditOp::patch ? body : write_as_patch(body);
  for (const auto& [key, value] : expected.items()) {
    auto it = server.find(key);
    const json& actual = it == server.end() ? json(nullptr) : *it;
    if (actual != value) return false;
  }
  return true;
}

namespace {

const json& field_of(const json& project, const std::string& key) {
  static const json null_value;
  auto it = project.find(key);
  return it == project.end() ? null_value : *it;
}

}  // namespace

std::vector<std::string> conflicting_fields(EditOp op, const json& body, const json& base, const json& server) {
  if (op != EditOp::patch && op != EditOp::update) return {};  // the flag operations only set a state
  const json wanted = op == EditOp::patch ? body : write_as_patch(body);
  std::vector<std::string> out;
  for (const auto& field : touched_fields(op, body)) {
    const json& now = field_of(server, field);
    if (now != field_of(base, field) && now != field_of(wanted, field)) out.push_back(field);
  }
  return out;
}

json yield_fields(EditOp op, json body, const std::vector<std::string>& fields, const json& server) {
  for (const auto& field : fields) {
    const json& theirs = field_of(server, field);
    if (op == EditOp::patch || theirs.is_null()) body.erase(field);
    else body[field] = theirs;
  }
  return body;
}

std::optional<Id> referenced_parent(EditOp op, const json& body) {
  if (std::find(kOpsNamingParent.begin(), kOpsNamingParent.end(), op) == kOpsNamingParent.end()) return std::nullopt;
  auto it = body.find("parent_project_id");
  if (it == body.end() || !it->is_number_integer()) return std::nullopt;
  return it->get<Id>();
}

}  // namespace focus::model
