#pragma once
// Compaction: two consecutive unsent edits of one project that have the same
// effect as one edit (or as none) are collapsed before replay, so the quota
// is not spent on intermediate states:
//   create + patch / PUT / pin / unpin -> one create
//   patch + patch -> one patch; PUT + patch -> one PUT; patch + PUT -> the PUT
//   pin + unpin, archive + unarchive (and the reverse) -> nothing when the
//     project started in the final state, else the last one
//   anything (but a create) + delete -> the delete; delete + restore -> nothing
//   create + delete -> nothing
// Pure function; any thread.

#include "model/edit.hpp"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>

namespace focus::model {

struct QueuedEdit {
  EditOp op;
  nlohmann::json body;  // normalized (see normalize_edit_body)
};

struct Collapse {
  enum class Kind {
    merge,        // the first edit becomes `merged`; the second is dropped
    keep_second,  // the first is dropped
    cancel_both,  // neither is sent
  };
  Kind kind;
  QueuedEdit merged;  // for merge
  std::string rule;   // for the log: "patch + patch -> patch"
};

// `before` is the project as it was before `first` (nullopt for a create).
std::optional<Collapse> collapse(const QueuedEdit& first, const QueuedEdit& second,
                                 const std::optional<Project>& before);

}  // namespace focus::model
