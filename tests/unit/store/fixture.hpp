#pragma once
// Projects as a listing brings them to the mirror, for the store tests.

#include "model/project_codec.hpp"
#include "store/mirror.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace focus::test {

// Project `id` of `ws` as the server lists it, decoded and hashed as the
// puller stages it: named "project <id>", active, created and updated on
// 2024-03-01. `extra` adds fields or replaces these.
inline store::FetchedProject listed_project(model::WorkspaceKey ws, model::Id id,
                                            const nlohmann::json& extra = nlohmann::json::object()) {
  nlohmann::json body = {{"id", id},
                         {"name", "project " + std::to_string(id)},
                         {"workspace_id", ws.workspace_id},
                         {"active", true},
                         {"created_at", "2024-03-01T10:00:00Z"},
                         {"updated_at", "2024-03-01T10:00:00Z"}};
  body.update(extra);
  return store::fetched(model::decode_project(std::string_view(body.dump())));
}

}  // namespace focus::test
