#pragma once
// Internal to lib/model (and the page decoder in lib/upstream): the one
// Project decoder, over any parser's value type (json_value.hpp), so that a
// listing page read by simdjson and a body read by nlohmann follow the same
// rules and give the same errors. decode_project (project_codec.hpp) is the
// nlohmann instance. Throws DecodeError; pure; any thread.

#include "model/json_reader.hpp"
#include "model/project.hpp"

#include <algorithm>
#include <array>
#include <string>
#include <string_view>

namespace focus::model::detail {

// Every field the Project schema defines, sorted; anything else goes to
// `extra`.
inline constexpr std::array<std::string_view, 28> kProjectFields = {
    "active", "archived_at", "auto_compute_estimates", "billable", "client", "client_id",
    "color", "created_at", "deleted_at", "description", "end_date", "estimated_mins",
    "fixed_fee", "id", "name", "parent_project_id", "permissions", "pinned", "private",
    "rate", "start_date", "tag_ids", "tags", "task_estimated_mins", "toggl_user_id",
    "total_tracked_time", "updated_at", "workspace_id"};

inline bool is_known_field(std::string_view key) {
  return std::binary_search(kProjectFields.begin(), kProjectFields.end(), key);
}

// "project 42" when the id is readable, for error messages.
template <class Value>
std::string describe_project(const Value& value) {
  if (value.is_object()) {
    if (auto id = value.find("id")) {
      if (id->type() == JsonType::integer) return "project " + std::to_string(id->get_int64());
      if (id->type() == JsonType::big_unsigned) return "project " + std::to_string(id->get_uint64());
    }
  }
  return "project (id unreadable)";
}

// A nested object field: absent or null -> nullopt, else must be an object.
template <class T, class Value, class Decode>
std::optional<T> optional_object(const BasicJsonReader<Value>& r, std::string_view key, Decode decode) {
  auto v = r.find(key);
  if (!v || v->is_null()) return std::nullopt;
  if (!v->is_object()) r.type_error(key, *v, "object");
  return decode(r.nested(key));
}

template <class Value>
Rate decode_rate(const BasicJsonReader<Value>& r) {
  Rate rate;
  rate.billable = r.optional_bool("billable").value_or(false);
  rate.currency = r.optional_string("currency").value_or("");
  rate.end_at = r.optional_time("end_at");
  rate.has_more_rates = r.optional_bool("has_more_rates").value_or(false);
  rate.hourly_rate = r.optional_number("hourly_rate").value_or(0);
  rate.project_color = r.optional_string("project_color").value_or("");
  rate.project_created_at = r.optional_time("project_created_at");
  rate.project_id = r.optional_id("project_id").value_or(0);
  rate.project_name = r.optional_string("project_name").value_or("");
  rate.project_rate_id = r.optional_id("project_rate_id").value_or(0);
  rate.start_at = r.optional_time("start_at");
  rate.workspace_rate_id = r.optional_id("workspace_rate_id");
  return rate;
}

template <class Value>
std::vector<std::string> decode_strings(const BasicJsonReader<Value>& r, std::string_view key) {
  std::vector<std::string> out;
  auto v = r.find(key);
  if (!v || v->is_null()) return out;
  if (!v->is_array()) r.type_error(key, *v, "array of strings");
  v->for_each_element([&](std::size_t i, const Value& item) {
    out.push_back(r.string_value(item, std::string(key) + "[" + std::to_string(i) + "]"));
  });
  return out;
}

template <class Value>
std::vector<Tag> decode_tags(const BasicJsonReader<Value>& r) {
  std::vector<Tag> out;
  auto v = r.find("tags");
  if (!v || v->is_null()) return out;
  if (!v->is_array()) r.type_error("tags", *v, "array of objects");
  v->for_each_element([&](std::size_t i, const Value& item) {
    std::string key = "tags[" + std::to_string(i) + "]";
    if (!item.is_object()) r.type_error(key, item, "object");
    BasicJsonReader<Value> t(item, r.what(), key + ".");
    out.push_back(Tag{t.optional_id("id").value_or(0), t.optional_string("name").value_or(""),
                      t.optional_string("color").value_or("")});
  });
  return out;
}

template <class Value>
Project decode_project_value(const Value& value) {
  auto r = object_reader(value, describe_project(value));
  using Reader = decltype(r);
  Project p;
  p.id = r.required_id("id");
  p.workspace_id = r.optional_id("workspace_id").value_or(0);
  p.name = r.optional_string("name").value_or("");
  p.active = r.optional_bool("active").value_or(true);
  p.auto_compute_estimates = r.optional_bool("auto_compute_estimates").value_or(false);
  p.billable = r.optional_bool("billable").value_or(false);
  p.pinned = r.optional_bool("pinned").value_or(false);
  p.is_private = r.optional_bool("private").value_or(false);
  p.archived_at = r.optional_time("archived_at");
  p.deleted_at = r.optional_time("deleted_at");
  p.created_at = r.optional_time("created_at");
  p.updated_at = r.optional_time("updated_at");
  p.client = optional_object<ClientRef>(r, "client", [](const Reader& c) {
    return ClientRef{c.optional_id("id").value_or(0), c.optional_string("name").value_or("")};
  });
  p.client_id = r.optional_id("client_id");
  p.color = r.optional_string("color");
  p.description = r.optional_string("description");
  p.start_date = r.optional_date("start_date");
  p.end_date = r.optional_date("end_date");
  p.estimated_mins = r.optional_int("estimated_mins");
  p.task_estimated_mins = r.optional_int("task_estimated_mins");
  p.fixed_fee = optional_object<FixedFee>(r, "fixed_fee", [](const Reader& f) {
    return FixedFee{f.optional_number("amount").value_or(0), f.optional_string("currency").value_or("")};
  });
  p.parent_project_id = r.optional_id("parent_project_id");
  p.permissions = decode_strings(r, "permissions");
  p.rate = optional_object<Rate>(r, "rate", [](const Reader& rr) { return decode_rate(rr); });
  p.tag_ids = r.optional_id_array("tag_ids").value_or(std::vector<Id>{});
  p.tags = decode_tags(r);
  p.toggl_user_id = r.optional_id("toggl_user_id");
  p.total_tracked_time = r.optional_int("total_tracked_time").value_or(0);
  value.for_each_member([&](std::string_view key, const Value& v) {
    if (!is_known_field(key)) p.extra[std::string(key)] = v.to_json();
  });
  return p;
}

}  // namespace focus::model::detail
