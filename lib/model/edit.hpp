#pragma once
// A local edit of a project: one of the reference's 12 write operations and
// its body, as the queue stores it and replay sends it. This file holds the
// pure rules about edits, with no storage and no network:
//  - normalize_edit_body: decode and validate what a client sent, answering
//    the canonical wire body or the field that is wrong;
//  - apply_edit: what an edit makes of a project (the read-your-writes view);
//  - touched_fields / edit_applied_to: which fields an edit sets, and whether
//    a project the server shows already carries them (conflicts, read-back);
//  - EditOp and EditState, stored and served as text: their tables below are
//    the only place that text is written (core/text_enum.hpp), and the
//    schema's CHECK lists are tested against them (store/enum_sql.hpp).
// Bodies are wire JSON (the keys are the Project's own field names). Temporary
// ids (negative) are accepted wherever a project id may appear. Pure
// functions; any thread.

#include "core/text_enum.hpp"
#include "core/time.hpp"
#include "model/project.hpp"
#include "model/project_write.hpp"

#include <nlohmann/json.hpp>

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace focus::model {

enum class EditOp {
  create,
  update,  // PUT
  patch,
  remove,  // DELETE
  archive,
  unarchive,
  restore,
  pin,
  unpin,
  members_add,
  members_role,
  members_remove,
};

inline constexpr TextTable<EditOp, 12> kEditOpTexts{{
    {EditOp::create, "create"},
    {EditOp::update, "update"},
    {EditOp::patch, "patch"},
    {EditOp::remove, "delete"},
    {EditOp::archive, "archive"},
    {EditOp::unarchive, "unarchive"},
    {EditOp::restore, "restore"},
    {EditOp::pin, "pin"},
    {EditOp::unpin, "unpin"},
    {EditOp::members_add, "members_add"},
    {EditOp::members_role, "members_role"},
    {EditOp::members_remove, "members_remove"},
}};
constexpr const auto& text_table(EditOp) { return kEditOpTexts; }

// Where an edit is in its life. A new state needs its entry here AND a
// migration that rebuilds `edits` with the CHECK store::check_in renders
// (store_test fails until both agree); see docs/architecture.md, "Adding an
// edit state".
enum class EditState { pending, in_flight, unknown_outcome, conflict, failed, done };
inline constexpr TextTable<EditState, 6> kEditStateTexts{{
    {EditState::pending, "pending"},
    {EditState::in_flight, "in_flight"},
    {EditState::unknown_outcome, "unknown_outcome"},
    {EditState::conflict, "conflict"},
    {EditState::failed, "failed"},
    {EditState::done, "done"},
}};
constexpr const auto& text_table(EditState) { return kEditStateTexts; }

// States whose edit still shapes what reads show (its overlay).
inline constexpr std::array kActiveStates{EditState::pending, EditState::in_flight, EditState::unknown_outcome,
                                          EditState::conflict};
// Settled: nothing more happens to the edit by itself.
inline constexpr std::array kSettledStates{EditState::done, EditState::failed};

// Operations whose body is a ProjectWrite / ProjectPatch / members body; the
// others (delete, archive, ...) carry none.
bool has_body(EditOp op);
bool is_members_op(EditOp op);

// The canonical body to store and send, or what is wrong with it. Ids that
// are negative are temporary ids of queued creates; they pass validation
// here and the queue checks that they exist.
using NormalizedBody = std::variant<nlohmann::json, FieldProblem>;
NormalizedBody normalize_edit_body(EditOp op, const nlohmann::json& body);

// A ProjectWrite as the patch that makes any project equal to what the PUT
// leaves: every writable field, unset ones as their reset value.
nlohmann::json write_as_patch(const nlohmann::json& write_body);

// A fresh project for a create (id = its temporary id), as reads show it
// until the server answers.
Project project_from_create(Id temporary_id, Id workspace_id, const nlohmann::json& write_body, Timestamp now);

// What `op` makes of `project` (members operations change nothing here).
// `deleted` is the project's deleted flag, which delete and restore change.
void apply_edit(Project& project, bool& deleted, EditOp op, const nlohmann::json& body, Timestamp now);

// The project's fields an edit sets, by wire name: a patch's keys, every
// writable field for PUT, "pinned" / "active" for the flag operations.
std::vector<std::string> touched_fields(EditOp op, const nlohmann::json& body);

// Whether the server's project (wire JSON) already shows every value `body`
// sets (for patch, PUT and create bodies).
bool edit_applied_to(EditOp op, const nlohmann::json& body, const nlohmann::json& server_project);

// The fields an edit touches whose value on the server (wire JSON) moved
// away from the edit's base, to something else than the edit asks for:
// another writer changed them since the edit was made.
std::vector<std::string> conflicting_fields(EditOp op, const nlohmann::json& body, const nlohmann::json& base,
                                            const nlohmann::json& server);

// The body with the server's value kept for `fields` (remote wins): a patch
// drops them, a PUT takes the server's values.
nlohmann::json yield_fields(EditOp op, nlohmann::json body, const std::vector<std::string>& fields,
                            const nlohmann::json& server);

// The ops whose body may name a parent project.
inline constexpr std::array kOpsNamingParent{EditOp::create, EditOp::update, EditOp::patch};

// A project id the body names (parent_project_id), when it names one.
std::optional<Id> referenced_parent(EditOp op, const nlohmann::json& body);

}  // namespace focus::model
