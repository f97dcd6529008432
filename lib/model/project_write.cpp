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

// How one writable field is spelled on the wire: its key, whether a PATCH
// may set it to null (as the reference marks it), and whether an integer
// value is an id (positive) or a count.
struct Field {
  std::string_view key;
  bool nullable = false;
  bool is_id = false;
};

// The fields a body may write, in the reference's order (decoding reports
// the first problem in this order). The one list of them: the write and
// patch codecs and apply_patch all walk it. `visit(field, member...)` gets
// the same member of each body given, e.g. (project, patch) for apply.
template <class Visit, class... Bodies>
void for_each_writable(Visit&& visit, Bodies&... b) {
  visit(Field{"name"}, b.name...);
  visit(Field{"auto_compute_estimates"}, b.auto_compute_estimates...);
  visit(Field{"billable"}, b.billable...);
  visit(Field{"pinned"}, b.pinned...);
  visit(Field{"private"}, b.is_private...);
  visit(Field{"client_id", true, true}, b.client_id...);
  visit(Field{"parent_project_id", true, true}, b.parent_project_id...);
  visit(Field{"color", true}, b.color...);
  visit(Field{"description", true}, b.description...);
  visit(Field{"start_date", true}, b.start_date...);
  visit(Field{"end_date", true}, b.end_date...);
  visit(Field{"estimated_mins", true}, b.estimated_mins...);
  visit(Field{"fixed_fee", true}, b.fixed_fee...);
  visit(Field{"tag_ids", false, true}, b.tag_ids...);
}

// A present, non-null value of type T for `f`, read and checked for type.
template <class T>
std::optional<T> read_value(const JsonReader& r, const Field& f) {
  if constexpr (std::is_same_v<T, std::string>) return r.optional_string(f.key);
  else if constexpr (std::is_same_v<T, bool>) return r.optional_bool(f.key);
  else if constexpr (std::is_same_v<T, Date>) return r.optional_date(f.key);
  else if constexpr (std::is_same_v<T, FixedFee>) return read_fixed_fee(r);
  else if constexpr (std::is_same_v<T, std::vector<Id>>) return r.optional_id_array(f.key);
  else return f.is_id ? r.optional_id(f.key) : r.optional_int(f.key);
}

template <class T>
void read_field(const JsonReader& r, const Field& f, std::optional<T>& out) {
  out = read_value<T>(r, f);
}

// A PATCH field: absent stays absent; null is allowed only when the field is
// nullable.
template <class T>
void read_field(const JsonReader& r, const Field& f, PatchField<T>& out) {
  if (!r.has(f.key)) return;
  if (r.is_null(f.key)) {
    if (!f.nullable) r.fail(f.key, "cannot be null");
    out = PatchField<T>::null();
    return;
  }
  out = PatchField<T>::of(*read_value<T>(r, f));
}

json wire_value(const FixedFee& f) { return {{"amount", f.amount}, {"currency", f.currency}}; }
json wire_value(const Date& d) { return format_date(d); }
template <class T>
json wire_value(const T& v) {
  return json(v);
}

template <class T>
void write_field(json& j, const Field& f, const std::optional<T>& v) {
  if (v) j[std::string(f.key)] = wire_value(*v);
}

template <class T>
void write_field(json& j, const Field& f, const PatchField<T>& v) {
  if (v.absent()) return;
  j[std::string(f.key)] = v.is_null() ? json(nullptr) : wire_value(v.value());
}

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
  for_each_writable([&](const Field& f, auto& member) { read_field(r, f, member); }, w);
  return w;
}

json encode_project_write(const ProjectWrite& w) {
  json j = json::object();
  for_each_writable([&](const Field& f, const auto& member) { write_field(j, f, member); }, w);
  return j;
}

ProjectPatch decode_project_patch(const json& body) {
  JsonReader r = detail::object_reader(body, "project patch");
  ProjectPatch p;
  for_each_writable([&](const Field& f, auto& member) { read_field(r, f, member); }, p);
  return p;
}

json encode_project_patch(const ProjectPatch& p) {
  json j = json::object();
  for_each_writable([&](const Field& f, const auto& member) { write_field(j, f, member); }, p);
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
  for_each_writable([](const Field&, auto& target, const auto& field) { apply(target, field); }, project, p);
}

}  // namespace focus::model
