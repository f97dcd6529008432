#include "model/project_codec.hpp"

#include "model/json_limits.hpp"
#include "model/json_reader.hpp"

#include <openssl/evp.h>

#include <array>
#include <stdexcept>

namespace focus::model {
namespace {

using nlohmann::json;
using detail::JsonReader;

// Every field the Project schema defines; anything else goes to `extra`.
constexpr std::array<std::string_view, 28> kProjectFields = {
    "active", "archived_at", "auto_compute_estimates", "billable", "client", "client_id",
    "color", "created_at", "deleted_at", "description", "end_date", "estimated_mins",
    "fixed_fee", "id", "name", "parent_project_id", "permissions", "pinned", "private",
    "rate", "start_date", "tag_ids", "tags", "task_estimated_mins", "toggl_user_id",
    "total_tracked_time", "updated_at", "workspace_id"};

bool is_known_field(std::string_view key) {
  for (auto k : kProjectFields)
    if (k == key) return true;
  return false;
}

std::string describe(const json& value) {
  if (value.is_object()) {
    auto id = value.find("id");
    if (id != value.end() && id->is_number_integer()) return "project " + id->dump();
  }
  return "project (id unreadable)";
}

// A nested object field: absent or null -> nullopt, else must be an object.
template <class T, class Decode>
std::optional<T> optional_object(const JsonReader& r, std::string_view key, Decode decode) {
  auto v = r.find(key);
  if (!v || v->is_null()) return std::nullopt;
  if (!v->is_object()) r.type_error(key, *v, "object");
  return decode(r.nested(key));
}

ClientRef decode_client(const JsonReader& r) {
  return ClientRef{r.optional_id("id").value_or(0), r.optional_string("name").value_or("")};
}

FixedFee decode_fixed_fee(const JsonReader& r) {
  return FixedFee{r.optional_number("amount").value_or(0), r.optional_string("currency").value_or("")};
}

Rate decode_rate(const JsonReader& r) {
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

std::vector<std::string> decode_strings(const JsonReader& r, std::string_view key) {
  std::vector<std::string> out;
  auto v = r.find(key);
  if (!v || v->is_null()) return out;
  if (!v->is_array()) r.type_error(key, *v, "array of strings");
  for (std::size_t i = 0; i < v->size(); ++i)
    out.push_back(r.string_value((*v)[i], std::string(key) + "[" + std::to_string(i) + "]"));
  return out;
}

std::vector<Tag> decode_tags(const JsonReader& r) {
  std::vector<Tag> out;
  auto v = r.find("tags");
  if (!v || v->is_null()) return out;
  if (!v->is_array()) r.type_error("tags", *v, "array of objects");
  for (std::size_t i = 0; i < v->size(); ++i) {
    const auto& item = (*v)[i];
    std::string key = "tags[" + std::to_string(i) + "]";
    if (!item.is_object()) r.type_error(key, item, "object");
    JsonReader t(item, r.what(), key + ".");
    out.push_back(Tag{t.optional_id("id").value_or(0), t.optional_string("name").value_or(""),
                      t.optional_string("color").value_or("")});
  }
  return out;
}

template <class T>
json or_null(const std::optional<T>& v) {
  return v ? json(*v) : json(nullptr);
}

json time_or_null(const std::optional<Timestamp>& t) {
  return t ? json(format_rfc3339(*t)) : json(nullptr);
}

json date_or_null(const std::optional<Date>& d) {
  return d ? json(format_date(*d)) : json(nullptr);
}

json encode_rate(const Rate& r) {
  return json{{"billable", r.billable},
              {"currency", r.currency},
              {"end_at", time_or_null(r.end_at)},
              {"has_more_rates", r.has_more_rates},
              {"hourly_rate", r.hourly_rate},
              {"project_color", r.project_color},
              {"project_created_at", time_or_null(r.project_created_at)},
              {"project_id", r.project_id},
              {"project_name", r.project_name},
              {"project_rate_id", r.project_rate_id},
              {"start_at", time_or_null(r.start_at)},
              {"workspace_rate_id", or_null(r.workspace_rate_id)}};
}

}  // namespace

Project decode_project(const json& value) {
  JsonReader r = detail::object_reader(value, describe(value));
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
  p.client = optional_object<ClientRef>(r, "client", decode_client);
  p.client_id = r.optional_id("client_id");
  p.color = r.optional_string("color");
  p.description = r.optional_string("description");
  p.start_date = r.optional_date("start_date");
  p.end_date = r.optional_date("end_date");
  p.estimated_mins = r.optional_int("estimated_mins");
  p.task_estimated_mins = r.optional_int("task_estimated_mins");
  p.fixed_fee = optional_object<FixedFee>(r, "fixed_fee", decode_fixed_fee);
  p.parent_project_id = r.optional_id("parent_project_id");
  p.permissions = decode_strings(r, "permissions");
  p.rate = optional_object<Rate>(r, "rate", decode_rate);
  p.tag_ids = r.optional_id_array("tag_ids").value_or(std::vector<Id>{});
  p.tags = decode_tags(r);
  p.toggl_user_id = r.optional_id("toggl_user_id");
  p.total_tracked_time = r.optional_int("total_tracked_time").value_or(0);
  for (const auto& [key, v] : value.items())
    if (!is_known_field(key)) p.extra[key] = v;
  return p;
}

Project decode_project(std::string_view json_text) {
  json value = parse_bounded(json_text);
  if (value.is_discarded()) throw DecodeError("", "project: malformed JSON (or nested deeper than " +
                                                      std::to_string(kMaxJsonDepth) + " levels)");
  return decode_project(value);
}

json encode_project(const Project& p) {
  json j = p.extra.is_object() ? p.extra : json::object();
  j["id"] = p.id;
  j["workspace_id"] = p.workspace_id;
  j["name"] = p.name;
  j["active"] = p.active;
  j["auto_compute_estimates"] = p.auto_compute_estimates;
  j["billable"] = p.billable;
  j["pinned"] = p.pinned;
  j["private"] = p.is_private;
  j["archived_at"] = time_or_null(p.archived_at);
  j["deleted_at"] = time_or_null(p.deleted_at);
  if (p.created_at) j["created_at"] = format_rfc3339(*p.created_at);
  if (p.updated_at) j["updated_at"] = format_rfc3339(*p.updated_at);
  j["client"] = p.client ? json{{"id", p.client->id}, {"name", p.client->name}} : json(nullptr);
  j["client_id"] = or_null(p.client_id);
  j["color"] = or_null(p.color);
  j["description"] = or_null(p.description);
  j["start_date"] = date_or_null(p.start_date);
  j["end_date"] = date_or_null(p.end_date);
  j["estimated_mins"] = or_null(p.estimated_mins);
  j["task_estimated_mins"] = or_null(p.task_estimated_mins);
  j["fixed_fee"] = p.fixed_fee ? json{{"amount", p.fixed_fee->amount},
                                      {"currency", p.fixed_fee->currency}}
                               : json(nullptr);
  j["parent_project_id"] = or_null(p.parent_project_id);
  j["permissions"] = p.permissions;
  j["rate"] = p.rate ? encode_rate(*p.rate) : json(nullptr);
  j["tag_ids"] = p.tag_ids;
  json tags = json::array();
  for (const auto& t : p.tags) tags.push_back({{"id", t.id}, {"name", t.name}, {"color", t.color}});
  j["tags"] = std::move(tags);
  if (p.toggl_user_id) j["toggl_user_id"] = *p.toggl_user_id;
  j["total_tracked_time"] = p.total_tracked_time;
  return j;
}

std::string canonical_json(const Project& project) {
  // nlohmann::json keeps object keys in a std::map, so dump() is key-sorted.
  return encode_project(project).dump();
}

std::string content_hash(std::string_view canonical) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(canonical.data(), canonical.size(), digest, &length, EVP_sha256(), nullptr) != 1)
    throw std::runtime_error("content_hash: SHA-256 failed");
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(32);
  for (unsigned i = 0; i < 16; ++i) {
    hex.push_back(kHex[digest[i] >> 4]);
    hex.push_back(kHex[digest[i] & 0xf]);
  }
  return hex;
}

}  // namespace focus::model
