#include "model/project_write.hpp"

#include "model/json_reader.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>

namespace focus::model {
namespace {

using nlohmann::json;
using detail::JsonReader;

constexpr std::size_t kMaxNameLength = 255;

std::optional<FixedFee> read_fixed_fee(const JsonReader& r) {
  auto v = r.find("fixed_fee");
  if (!v || v->is_null()) return std::nullopt;
  if (!v->is_object()) r.type_error("fixed_fee", *v, "object");
  JsonReader f = r.nested("fixed_fee");
  return FixedFee{f.optional_number("amount").value_or(0), f.optional_string("currency").value_or("")};
}

// Reads a PATCH field: absent stays absent; null is allowed only when the
// reference marks the field nullable; otherwise `read` converts the value.
template <class T, class Read>
PatchField<T> patch_field(const JsonReader& r, std::string_view key, bool nullable, Read read) {
  if (!r.has(key)) return {};
  if (r.is_null(key)) {
    if (!nullable) r.fail(key, "cannot be null");
    return PatchField<T>::null();
  }
  return PatchField<T>::of(*read(key));
}

json fixed_fee_json(const FixedFee& f) { return {{"amount", f.amount}, {"currency", f.currency}}; }

template <class T, class Convert>
void put_patch(json& j, std::string_view key, const PatchField<T>& f, Convert convert) {
  if (f.absent()) return;
  j[std::string(key)] = f.is_null() ? json(nullptr) : convert(f.value());
}

template <class T, class Convert>
void put_optional(json& j, std::string_view key, const std::optional<T>& v, Convert convert) {
  if (v) j[std::string(key)] = convert(*v);
}

auto same = [](const auto& v) { return json(v); };
auto as_date = [](const Date& d) { return json(format_date(d)); };

bool is_blank(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isspace(c); });
}

bool is_hex_colour(const std::string& s) {
  return s.size() == 7 && s[0] == '#' &&
         std::all_of(s.begin() + 1, s.end(), [](unsigned char c) { return std::isxdigit(c); });
}

std::optional<FieldProblem> problem(std::string field, std::string message) {
  return FieldProblem{field, "field '" + field + "' " + message};
}

// The checks shared by write and patch bodies, on the values they set.
struct Values {
  const std::string* name = nullptr;
  const std::string* color = nullptr;
  std::optional<std::int64_t> estimated_mins;
  const FixedFee* fixed_fee = nullptr;
  std::optional<Id> client_id, parent_project_id;
  const std::vector<Id>* tag_ids = nullptr;
  std::optional<Date> start_date, end_date;
};

std::optional<FieldProblem> check_values(const Values& v) {
  if (v.name) {
    if (is_blank(*v.name)) return problem("name", "must not be blank");
    if (v.name->size() > kMaxNameLength)
      return problem("name", "is longer than " + std::to_string(kMaxNameLength) + " bytes");
  }
  if (v.color && !is_hex_colour(*v.color))
    return problem("color", "must be a colour like \"#1a2b3c\", got \"" + *v.color + "\"");
  if (v.estimated_mins && *v.estimated_mins < 0)
    return problem("estimated_mins", "must not be negative");
  if (v.fixed_fee) {
    if (!std::isfinite(v.fixed_fee->amount) || v.fixed_fee->amount < 0)
      return problem("fixed_fee.amount", "must be a non-negative number");
    const auto& c = v.fixed_fee->currency;
    if (c.size() != 3 || !std::all_of(c.begin(), c.end(), [](unsigned char ch) { return std::isupper(ch); }))
      return problem("fixed_fee.currency", "must be a three-letter currency code like \"EUR\"");
  }
  if (v.client_id && *v.client_id <= 0) return problem("client_id", "must be a positive id");
  if (v.parent_project_id && *v.parent_project_id == 0)
    return problem("parent_project_id", "must not be 0 (use null for no parent)");
  if (v.tag_ids)
    for (Id t : *v.tag_ids)
      if (t <= 0) return problem("tag_ids", "must hold positive ids, got " + std::to_string(t));
  if (v.start_date && v.end_date && *v.end_date < *v.start_date)
    return problem("end_date", "must not be before start_date");
  return std::nullopt;
}

template <class T>
const T* ptr(const std::optional<T>& v) {
  return v ? &*v : nullptr;
}

template <class T>
const T* ptr(const PatchField<T>& v) {
  return v.has_value() ? &v.value() : nullptr;
}

}  // namespace

ProjectWrite decode_project_write(const json& body) {
  JsonReader r = detail::object_reader(body, "project body");
  ProjectWrite w;
  w.name = r.optional_string("name");
  w.auto_compute_estimates = r.optional_bool("auto_compute_estimates");
  w.billable = r.optional_bool("billable");
  w.pinned = r.optional_bool("pinned");
  w.is_private = r.optional_bool("private");
  w.client_id = r.optional_id("client_id");
  w.parent_project_id = r.optional_id("parent_project_id");
  w.color = r.optional_string("color");
  w.description = r.optional_string("description");
  w.start_date = r.optional_date("start_date");
  w.end_date = r.optional_date("end_date");
  w.estimated_mins = r.optional_int("estimated_mins");
  w.fixed_fee = read_fixed_fee(r);
  w.tag_ids = r.optional_id_array("tag_ids");
  return w;
}

json encode_project_write(const ProjectWrite& w) {
  json j = json::object();
  put_optional(j, "name", w.name, same);
  put_optional(j, "auto_compute_estimates", w.auto_compute_estimates, same);
  put_optional(j, "billable", w.billable, same);
  put_optional(j, "pinned", w.pinned, same);
  put_optional(j, "private", w.is_private, same);
  put_optional(j, "client_id", w.client_id, same);
  put_optional(j, "parent_project_id", w.parent_project_id, same);
  put_optional(j, "color", w.color, same);
  put_optional(j, "description", w.description, same);
  put_optional(j, "start_date", w.start_date, as_date);
  put_optional(j, "end_date", w.end_date, as_date);
  put_optional(j, "estimated_mins", w.estimated_mins, same);
  put_optional(j, "fixed_fee", w.fixed_fee, fixed_fee_json);
  put_optional(j, "tag_ids", w.tag_ids, same);
  return j;
}

ProjectPatch decode_project_patch(const json& body) {
  JsonReader r = detail::object_reader(body, "project patch");
  auto str = [&](std::string_view k) { return r.optional_string(k); };
  auto boolean = [&](std::string_view k) { return r.optional_bool(k); };
  auto id = [&](std::string_view k) { return r.optional_id(k); };
  auto date = [&](std::string_view k) { return r.optional_date(k); };
  ProjectPatch p;
  p.name = patch_field<std::string>(r, "name", false, str);
  p.auto_compute_estimates = patch_field<bool>(r, "auto_compute_estimates", false, boolean);
  p.billable = patch_field<bool>(r, "billable", false, boolean);
  p.pinned = patch_field<bool>(r, "pinned", false, boolean);
  p.is_private = patch_field<bool>(r, "private", false, boolean);
  p.client_id = patch_field<Id>(r, "client_id", true, id);
  p.parent_project_id = patch_field<Id>(r, "parent_project_id", true, id);
  p.color = patch_field<std::string>(r, "color", true, str);
  p.description = patch_field<std::string>(r, "description", true, str);
  p.start_date = patch_field<Date>(r, "start_date", true, date);
  p.end_date = patch_field<Date>(r, "end_date", true, date);
  p.estimated_mins = patch_field<std::int64_t>(r, "estimated_mins", true,
                                               [&](std::string_view k) { return r.optional_int(k); });
  p.fixed_fee = patch_field<FixedFee>(r, "fixed_fee", true,
                                      [&](std::string_view) { return read_fixed_fee(r); });
  p.tag_ids = patch_field<std::vector<Id>>(r, "tag_ids", false,
                                           [&](std::string_view k) { return r.optional_id_array(k); });
  return p;
}

json encode_project_patch(const ProjectPatch& p) {
  json j = json::object();
  put_patch(j, "name", p.name, same);
  put_patch(j, "auto_compute_estimates", p.auto_compute_estimates, same);
  put_patch(j, "billable", p.billable, same);
  put_patch(j, "pinned", p.pinned, same);
  put_patch(j, "private", p.is_private, same);
  put_patch(j, "client_id", p.client_id, same);
  put_patch(j, "parent_project_id", p.parent_project_id, same);
  put_patch(j, "color", p.color, same);
  put_patch(j, "description", p.description, same);
  put_patch(j, "start_date", p.start_date, as_date);
  put_patch(j, "end_date", p.end_date, as_date);
  put_patch(j, "estimated_mins", p.estimated_mins, same);
  put_patch(j, "fixed_fee", p.fixed_fee, fixed_fee_json);
  put_patch(j, "tag_ids", p.tag_ids, same);
  return j;
}

std::optional<FieldProblem> validate_project_write(const ProjectWrite& w) {
  if (!w.name) return problem("name", "is required");
  return check_values(Values{ptr(w.name), ptr(w.color), w.estimated_mins, ptr(w.fixed_fee),
                             w.client_id, w.parent_project_id, ptr(w.tag_ids), w.start_date,
                             w.end_date});
}

std::optional<FieldProblem> validate_project_patch(const ProjectPatch& p) {
  return check_values(Values{ptr(p.name), ptr(p.color), p.estimated_mins.as_optional(),
                             ptr(p.fixed_fee), p.client_id.as_optional(),
                             p.parent_project_id.as_optional(), ptr(p.tag_ids),
                             p.start_date.as_optional(), p.end_date.as_optional()});
}

namespace {

template <class T>
void apply(std::optional<T>& target, const PatchField<T>& f) {
  if (!f.absent()) target = f.as_optional();
}

template <class T>
void apply(T& target, const PatchField<T>& f) {
  if (f.has_value()) target = f.value();
}

}  // namespace

void apply_patch(Project& project, const ProjectPatch& p) {
  apply(project.name, p.name);
  apply(project.auto_compute_estimates, p.auto_compute_estimates);
  apply(project.billable, p.billable);
  apply(project.pinned, p.pinned);
  apply(project.is_private, p.is_private);
  apply(project.client_id, p.client_id);
  apply(project.parent_project_id, p.parent_project_id);
  apply(project.color, p.color);
  apply(project.description, p.description);
  apply(project.start_date, p.start_date);
  apply(project.end_date, p.end_date);
  apply(project.estimated_mins, p.estimated_mins);
  apply(project.fixed_fee, p.fixed_fee);
  apply(project.tag_ids, p.tag_ids);
}

}  // namespace focus::model
