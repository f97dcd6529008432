#pragma once
// The bodies a client sends to change a project:
//  - ProjectWrite: POST (create) and PUT (full update). A field left out is
//    unset; null is read as left out.
//  - ProjectPatch: PATCH. Absent = unchanged, null = clear (only for the
//    fields the reference marks nullable), value = set. The distinction
//    survives decode -> encode, so it reaches the wire exactly as written.
// Decoders throw DecodeError naming the field; validate_* return the first
// problem found. Pure functions; any thread.

#include "model/patch_field.hpp"
#include "model/project.hpp"

#include <nlohmann/json_fwd.hpp>

#include <optional>
#include <string>
#include <vector>

namespace focus::model {

struct ProjectWrite {
  std::optional<std::string> name;
  std::optional<bool> auto_compute_estimates;
  std::optional<bool> billable;
  std::optional<bool> pinned;
  std::optional<bool> is_private;
  std::optional<Id> client_id;
  std::optional<Id> parent_project_id;
  std::optional<std::string> color;
  std::optional<std::string> description;
  std::optional<Date> start_date;
  std::optional<Date> end_date;
  std::optional<std::int64_t> estimated_mins;
  std::optional<FixedFee> fixed_fee;
  std::optional<std::vector<Id>> tag_ids;
  bool operator==(const ProjectWrite&) const = default;
};

struct ProjectPatch {
  PatchField<std::string> name;
  PatchField<bool> auto_compute_estimates;
  PatchField<bool> billable;
  PatchField<bool> pinned;
  PatchField<bool> is_private;
  PatchField<Id> client_id;
  PatchField<Id> parent_project_id;
  PatchField<std::string> color;
  PatchField<std::string> description;
  PatchField<Date> start_date;
  PatchField<Date> end_date;
  PatchField<std::int64_t> estimated_mins;
  PatchField<FixedFee> fixed_fee;
  PatchField<std::vector<Id>> tag_ids;
  bool operator==(const ProjectPatch&) const = default;
};

// A problem with a body's content (not its JSON types): which field, and why.
struct FieldProblem {
  std::string field;
  std::string message;  // a full sentence naming the field
};

ProjectWrite decode_project_write(const nlohmann::json& body);
nlohmann::json encode_project_write(const ProjectWrite& body);

// Throws DecodeError for a wrong type or for null on a non-nullable field
// (name, the booleans, tag_ids).
ProjectPatch decode_project_patch(const nlohmann::json& body);
nlohmann::json encode_project_patch(const ProjectPatch& body);

// Create and PUT need a non-blank name; every body's values must be in range
// (name length, "#rrggbb" colours, non-negative estimates and fees, a
// three-letter currency, start_date <= end_date, positive ids).
std::optional<FieldProblem> validate_project_write(const ProjectWrite& body);
std::optional<FieldProblem> validate_project_patch(const ProjectPatch& body);

// What `patch` makes of `project` (only the fields it names change).
void apply_patch(Project& project, const ProjectPatch& patch);

}  // namespace focus::model
