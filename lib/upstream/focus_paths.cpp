#include "upstream/focus_paths.hpp"

namespace focus::upstream {

namespace {

constexpr const char* kList = "/api/organizations/{organization_id}/workspaces/{workspace_id}/projects";
constexpr const char* kProject = "/api/organizations/{organization_id}/workspaces/{workspace_id}/projects/{project_id}";

std::string project(const char* action) { return std::string(kProject) + "/" + action; }
std::string label(const char* action) { return std::string("/projects/{id}/") + action; }

}  // namespace

const std::vector<FocusPath>& focus_paths() {
  using E = model::EditOp;
  using F = FocusOp;
  static const std::vector<FocusPath> kPaths = {
      {F::list, {"GET", kList, "/projects"}, std::nullopt},
      {F::create, {"POST", kList, "/projects"}, E::create},
      {F::get, {"GET", kProject, "/projects/{id}"}, std::nullopt},
      {F::update, {"PUT", kProject, "/projects/{id}"}, E::update},
      {F::patch, {"PATCH", kProject, "/projects/{id}"}, E::patch},
      {F::remove, {"DELETE", kProject, "/projects/{id}"}, E::remove},
      {F::archive, {"PATCH", project("archive"), label("archive")}, E::archive},
      {F::unarchive, {"PATCH", project("unarchive"), label("unarchive")}, E::unarchive},
      {F::restore, {"PATCH", project("restore"), label("restore")}, E::restore},
      {F::pin, {"POST", project("pinned"), label("pinned")}, E::pin},
      {F::unpin, {"DELETE", project("pinned"), label("pinned")}, E::unpin},
      {F::children, {"GET", project("children"), label("children")}, std::nullopt},
      {F::parents, {"GET", project("parents"), label("parents")}, std::nullopt},
      {F::members, {"GET", project("members"), label("members")}, std::nullopt},
      {F::members_add, {"POST", project("members"), label("members")}, E::members_add},
      {F::members_role, {"PUT", project("members"), label("members")}, E::members_role},
      {F::members_remove, {"DELETE", project("members"), label("members")}, E::members_remove},
  };
  return kPaths;
}

const std::vector<http::IdSegment>& focus_segments() {
  // One message for both workspace ids, as the reference words it.
  static const std::vector<http::IdSegment> kSegments = {
      {"organization_id", "organization_id and workspace_id must be integers", false},
      {"workspace_id", "organization_id and workspace_id must be integers", false},
      {"project_id", "project_id must be an integer", true},
  };
  return kSegments;
}

}  // namespace focus::upstream
