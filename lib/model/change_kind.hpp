#pragma once
// What one entry of the change log records: a project the mirror gained,
// changed, lost or got back, or something that happened to a local edit.
// Stored as text in `changes.kind` and served as such on /v1/changes; this
// table is the only place that text is written (see core/text_enum.hpp). A
// new kind needs its entry here AND a migration that rebuilds `changes` with
// the CHECK store::check_in renders (store_test fails until both agree).
// Pure; any thread.

#include "core/text_enum.hpp"

namespace focus::model {

enum class ChangeKind { insert, update, remove, restore, edit };
inline constexpr TextTable<ChangeKind, 5> kChangeKindTexts{{
    {ChangeKind::insert, "insert"},
    {ChangeKind::update, "update"},
    {ChangeKind::remove, "delete"},
    {ChangeKind::restore, "restore"},
    {ChangeKind::edit, "edit"},  // what happened to a local edit (the entry's detail says)
}};
constexpr const auto& text_table(ChangeKind) { return kChangeKindTexts; }

}  // namespace focus::model
