#pragma once
// The Focus API's Project, as one value type. Every field of the reference
// (schema Project in shared/api/focus-projects.openapi.yaml) has a typed
// member; fields this version does not know are kept verbatim in `extra`, so
// nothing the server sent is lost when a project is stored and written back.
// Optional members are the fields the server may leave out or send as null.
// Plain data: no invariants, copyable, any thread.

#include "core/time.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace focus::model {

using Id = std::int64_t;

struct ClientRef {
  Id id = 0;
  std::string name;
  bool operator==(const ClientRef&) const = default;
};

struct FixedFee {
  double amount = 0;
  std::string currency;
  bool operator==(const FixedFee&) const = default;
};

struct Tag {
  Id id = 0;
  std::string name;
  std::string color;
  bool operator==(const Tag&) const = default;
};

struct Rate {
  bool billable = false;
  std::string currency;
  std::optional<Timestamp> end_at;
  bool has_more_rates = false;
  double hourly_rate = 0;
  std::string project_color;
  std::optional<Timestamp> project_created_at;
  Id project_id = 0;
  std::string project_name;
  Id project_rate_id = 0;
  std::optional<Timestamp> start_at;
  std::optional<Id> workspace_rate_id;
  bool operator==(const Rate&) const = default;
};

struct Project {
  Id id = 0;
  Id workspace_id = 0;
  std::string name;
  bool active = true;
  bool auto_compute_estimates = false;
  bool billable = false;
  bool pinned = false;
  bool is_private = false;  // "private" on the wire
  std::optional<Timestamp> archived_at;
  std::optional<Timestamp> deleted_at;
  std::optional<Timestamp> created_at;
  std::optional<Timestamp> updated_at;
  std::optional<ClientRef> client;
  std::optional<Id> client_id;
  std::optional<std::string> color;
  std::optional<std::string> description;
  std::optional<Date> start_date;
  std::optional<Date> end_date;
  std::optional<std::int64_t> estimated_mins;
  std::optional<std::int64_t> task_estimated_mins;
  std::optional<FixedFee> fixed_fee;
  std::optional<Id> parent_project_id;
  std::vector<std::string> permissions;
  std::optional<Rate> rate;
  std::vector<Id> tag_ids;
  std::vector<Tag> tags;
  std::optional<Id> toggl_user_id;
  std::int64_t total_tracked_time = 0;  // seconds
  nlohmann::json extra = nlohmann::json::object();  // unknown fields, verbatim

  bool operator==(const Project&) const = default;
};

}  // namespace focus::model
