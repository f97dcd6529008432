// Project -> JSON: one writer of the wire shape (write_project), run into
// two sinks. TextSink writes the canonical text straight into a string,
// byte for byte what nlohmann's dump() of encode_project gives (sorted keys,
// no whitespace, its number and escape spelling), without building a tree:
// the listing's hot path. JsonSink builds the nlohmann value that
// encode_project returns.
#include "model/project_codec.hpp"

#include "core/utf8.hpp"
#include "model/project_decode.hpp"

#include <algorithm>
#include <charconv>
#include <vector>

namespace focus::model {
namespace {

using nlohmann::json;

// Compact JSON text. Keys must come in the order the canonical form wants
// (the writer's job); the sink places the commas and colons.
class TextSink {
 public:
  explicit TextSink(std::string& out) : out_(out) {}

  void begin_object() { open('{'); }
  void end_object() { close('}'); }
  void begin_array() { open('['); }
  void end_array() { close(']'); }
  void key(std::string_view k) {
    separate();
    quoted(k);
    out_.push_back(':');
    after_key_ = true;
  }
  void null() { scalar("null"); }
  void boolean(bool b) { scalar(b ? "true" : "false"); }
  void integer(std::int64_t v) {
    separate();
    char buf[24];
    auto end = std::to_chars(buf, buf + sizeof buf, v).ptr;
    out_.append(buf, end);
  }
  void number(double v) { scalar(json(v).dump()); }  // nlohmann's own spelling of doubles
  void string(std::string_view s) {
    separate();
    quoted(s);
  }
  void verbatim(const json& v) { scalar(v.dump()); }

 private:
  void separate() {
    if (after_key_) after_key_ = false;
    else if (!first_.empty() && !first_.back()) out_.push_back(',');
    if (!first_.empty()) first_.back() = false;
  }
  void open(char c) {
    separate();
    out_.push_back(c);
    first_.push_back(true);
  }
  void close(char c) {
    out_.push_back(c);
    first_.pop_back();
  }
  void scalar(std::string_view text) {
    separate();
    out_.append(text);
  }
  // As nlohmann escapes (ensure_ascii off): the two-character escapes, other
  // controls as \u00xx; invalid UTF-8 is left to nlohmann, which refuses it
  // the same way encode_project's dump() would.
  void quoted(std::string_view s) {
    if (!is_valid_utf8(s)) {
      out_.append(json(std::string(s)).dump());
      return;
    }
    out_.push_back('"');
    std::size_t plain = 0;  // start of the run of bytes copied as they are
    for (std::size_t i = 0; i < s.size(); ++i) {
      const auto c = static_cast<unsigned char>(s[i]);
      if (c >= 0x20 && c != '"' && c != '\\') continue;
      out_.append(s.substr(plain, i - plain));
      plain = i + 1;
      switch (c) {
        case '"': out_.append("\\\""); break;
        case '\\': out_.append("\\\\"); break;
        case '\b': out_.append("\\b"); break;
        case '\f': out_.append("\\f"); break;
        case '\n': out_.append("\\n"); break;
        case '\r': out_.append("\\r"); break;
        case '\t': out_.append("\\t"); break;
        default: {
          static constexpr char kHex[] = "0123456789abcdef";
          const char u[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xf]};
          out_.append(u, sizeof u);
        }
      }
    }
    out_.append(s.substr(plain));
    out_.push_back('"');
  }

  std::string& out_;
  std::vector<bool> first_;  // per open container: nothing written in it yet
  bool after_key_ = false;
};

// Builds a nlohmann value from the same calls.
class JsonSink {
 public:
  json take() { return std::move(root_); }

  void begin_object() { open(json::object()); }
  void end_object() { stack_.pop_back(); }
  void begin_array() { open(json::array()); }
  void end_array() { stack_.pop_back(); }
  void key(std::string_view k) { key_ = k; }
  void null() { put(nullptr); }
  void boolean(bool b) { put(b); }
  void integer(std::int64_t v) { put(v); }
  void number(double v) { put(v); }
  void string(std::string_view s) { put(std::string(s)); }
  void verbatim(const json& v) { put(v); }

 private:
  json& put(json v) {
    if (stack_.empty()) return root_ = std::move(v);
    json& top = *stack_.back();
    if (top.is_array()) return top.emplace_back(std::move(v));
    return top[key_] = std::move(v);
  }
  void open(json empty) { stack_.push_back(&put(std::move(empty))); }

  json root_;
  std::vector<json*> stack_;  // the open containers; pointers stay valid as only the top grows
  std::string key_;
};

template <class Sink>
void time_or_null(Sink& s, const std::optional<Timestamp>& t) {
  if (t) s.string(format_rfc3339(*t));
  else s.null();
}

template <class Sink>
void date_or_null(Sink& s, const std::optional<Date>& d) {
  if (d) s.string(format_date(*d));
  else s.null();
}

template <class Sink>
void id_or_null(Sink& s, const std::optional<std::int64_t>& v) {
  if (v) s.integer(*v);
  else s.null();
}

template <class Sink>
void string_or_null(Sink& s, const std::optional<std::string>& v) {
  if (v) s.string(*v);
  else s.null();
}

template <class Sink>
void write_rate(Sink& s, const Rate& r) {
  s.begin_object();
  s.key("billable"), s.boolean(r.billable);
  s.key("currency"), s.string(r.currency);
  s.key("end_at"), time_or_null(s, r.end_at);
  s.key("has_more_rates"), s.boolean(r.has_more_rates);
  s.key("hourly_rate"), s.number(r.hourly_rate);
  s.key("project_color"), s.string(r.project_color);
  s.key("project_created_at"), time_or_null(s, r.project_created_at);
  s.key("project_id"), s.integer(r.project_id);
  s.key("project_name"), s.string(r.project_name);
  s.key("project_rate_id"), s.integer(r.project_rate_id);
  s.key("start_at"), time_or_null(s, r.start_at);
  s.key("workspace_rate_id"), id_or_null(s, r.workspace_rate_id);
  s.end_object();
}

template <class Sink>
void write_tags(Sink& s, const std::vector<Tag>& tags) {
  s.begin_array();
  for (const auto& t : tags) {
    s.begin_object();
    s.key("color"), s.string(t.color);
    s.key("id"), s.integer(t.id);
    s.key("name"), s.string(t.name);
    s.end_object();
  }
  s.end_array();
}

// One known field of the wire shape: its key, and its value (nullptr when
// the field is left out: created_at, updated_at and toggl_user_id are
// absent, not null, when unset). Nested keys are written sorted.
template <class Sink>
struct KnownField {
  std::string_view key;
  bool (*present)(const Project&);  // nullptr: always
  void (*write)(Sink&, const Project&);
};

// In kProjectFields' (sorted) order: the canonical form's key order.
template <class Sink>
constexpr KnownField<Sink> kWriters[] = {
    {"active", nullptr, [](Sink& s, const Project& p) { s.boolean(p.active); }},
    {"archived_at", nullptr, [](Sink& s, const Project& p) { time_or_null(s, p.archived_at); }},
    {"auto_compute_estimates", nullptr, [](Sink& s, const Project& p) { s.boolean(p.auto_compute_estimates); }},
    {"billable", nullptr, [](Sink& s, const Project& p) { s.boolean(p.billable); }},
    {"client", nullptr,
     [](Sink& s, const Project& p) {
       if (!p.client) return s.null();
       s.begin_object();
       s.key("id"), s.integer(p.client->id);
       s.key("name"), s.string(p.client->name);
       s.end_object();
     }},
    {"client_id", nullptr, [](Sink& s, const Project& p) { id_or_null(s, p.client_id); }},
    {"color", nullptr, [](Sink& s, const Project& p) { string_or_null(s, p.color); }},
    {"created_at", [](const Project& p) { return p.created_at.has_value(); },
     [](Sink& s, const Project& p) { time_or_null(s, p.created_at); }},
    {"deleted_at", nullptr, [](Sink& s, const Project& p) { time_or_null(s, p.deleted_at); }},
    {"description", nullptr, [](Sink& s, const Project& p) { string_or_null(s, p.description); }},
    {"end_date", nullptr, [](Sink& s, const Project& p) { date_or_null(s, p.end_date); }},
    {"estimated_mins", nullptr, [](Sink& s, const Project& p) { id_or_null(s, p.estimated_mins); }},
    {"fixed_fee", nullptr,
     [](Sink& s, const Project& p) {
       if (!p.fixed_fee) return s.null();
       s.begin_object();
       s.key("amount"), s.number(p.fixed_fee->amount);
       s.key("currency"), s.string(p.fixed_fee->currency);
       s.end_object();
     }},
    {"id", nullptr, [](Sink& s, const Project& p) { s.integer(p.id); }},
    {"name", nullptr, [](Sink& s, const Project& p) { s.string(p.name); }},
    {"parent_project_id", nullptr, [](Sink& s, const Project& p) { id_or_null(s, p.parent_project_id); }},
    {"permissions", nullptr,
     [](Sink& s, const Project& p) {
       s.begin_array();
       for (const auto& perm : p.permissions) s.string(perm);
       s.end_array();
     }},
    {"pinned", nullptr, [](Sink& s, const Project& p) { s.boolean(p.pinned); }},
    {"private", nullptr, [](Sink& s, const Project& p) { s.boolean(p.is_private); }},
    {"rate", nullptr,
     [](Sink& s, const Project& p) {
       if (p.rate) write_rate(s, *p.rate);
       else s.null();
     }},
    {"start_date", nullptr, [](Sink& s, const Project& p) { date_or_null(s, p.start_date); }},
    {"tag_ids", nullptr,
     [](Sink& s, const Project& p) {
       s.begin_array();
       for (auto id : p.tag_ids) s.integer(id);
       s.end_array();
     }},
    {"tags", nullptr, [](Sink& s, const Project& p) { write_tags(s, p.tags); }},
    {"task_estimated_mins", nullptr, [](Sink& s, const Project& p) { id_or_null(s, p.task_estimated_mins); }},
    {"toggl_user_id", [](const Project& p) { return p.toggl_user_id.has_value(); },
     [](Sink& s, const Project& p) { id_or_null(s, p.toggl_user_id); }},
    {"total_tracked_time", nullptr, [](Sink& s, const Project& p) { s.integer(p.total_tracked_time); }},
    {"updated_at", [](const Project& p) { return p.updated_at.has_value(); },
     [](Sink& s, const Project& p) { time_or_null(s, p.updated_at); }},
    {"workspace_id", nullptr, [](Sink& s, const Project& p) { s.integer(p.workspace_id); }},
};

// The writers are the decoder's known fields, in the same order: a field
// added to one and not the other does not compile.
template <class Sink>
constexpr bool writers_match_known_fields() {
  if (std::size(kWriters<Sink>) != detail::kProjectFields.size()) return false;
  for (std::size_t i = 0; i < detail::kProjectFields.size(); ++i)
    if (kWriters<Sink>[i].key != detail::kProjectFields[i]) return false;
  return true;
}
static_assert(writers_match_known_fields<TextSink>(), "kWriters must list kProjectFields, in order");

// The known fields and the kept unknown ones (`extra`, a sorted map), merged
// in key order; an extra key that names a known field is the known field's.
template <class Sink>
void write_project(Sink& s, const Project& p) {
  static const json kNoExtra = json::object();
  const json& extra = p.extra.is_object() ? p.extra : kNoExtra;
  auto next_extra = extra.items().begin();
  const auto extra_end = extra.items().end();
  auto write_extras_before = [&](std::string_view bound, bool all) {
    for (; next_extra != extra_end && (all || std::string_view(next_extra.key()) < bound); ++next_extra) {
      if (detail::is_known_field(next_extra.key())) continue;
      s.key(next_extra.key());
      s.verbatim(next_extra.value());
    }
  };
  s.begin_object();
  for (const auto& field : kWriters<Sink>) {
    write_extras_before(field.key, false);
    if (field.present && !field.present(p)) continue;
    s.key(field.key);
    field.write(s, p);
  }
  write_extras_before({}, true);
  s.end_object();
}

}  // namespace

json encode_project(const Project& project) {
  JsonSink sink;
  write_project(sink, project);
  return sink.take();
}

std::string canonical_json(const Project& project) {
  std::string out;
  out.reserve(1024);
  TextSink sink(out);
  write_project(sink, project);
  return out;
}

}  // namespace focus::model
