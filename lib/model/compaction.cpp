#include "model/compaction.hpp"

namespace focus::model {

using nlohmann::json;

namespace {

std::string rule_text(const QueuedEdit& a, const QueuedEdit& b, std::string_view result) {
  return std::string(to_text(a.op)) + " + " + std::string(to_text(b.op)) + " -> " + std::string(result);
}

// A write body with a patch's values applied (null clears the field).
json write_with_patch(json write, const json& patch) {
  for (const auto& [key, value] : patch.items()) {
    if (value.is_null()) write.erase(key);
    else write[key] = value;
  }
  return write;
}

bool is_flag_pair(EditOp a, EditOp b, EditOp on, EditOp off) {
  return (a == on || a == off) && (b == on || b == off);
}

Collapse merged(const QueuedEdit& a, const QueuedEdit& b, QueuedEdit result) {
  auto rule = rule_text(a, b, to_text(result.op));
  return Collapse{Collapse::Kind::merge, std::move(result), std::move(rule)};
}

Collapse second_only(const QueuedEdit& a, const QueuedEdit& b) {
  return Collapse{Collapse::Kind::keep_second, {}, rule_text(a, b, to_text(b.op))};
}

Collapse nothing(const QueuedEdit& a, const QueuedEdit& b) {
  return Collapse{Collapse::Kind::cancel_both, {}, rule_text(a, b, "nothing")};
}

// pin/unpin or archive/unarchive, twice: only the final state matters, and
// not even that when the project was already in it.
Collapse flag_pair(const QueuedEdit& a, const QueuedEdit& b, bool final_state, std::optional<bool> started) {
  if (started && *started == final_state) return nothing(a, b);
  return second_only(a, b);
}

}  // namespace

std::optional<Collapse> collapse(const QueuedEdit& a, const QueuedEdit& b, const std::optional<Project>& before) {
  const bool writes = a.op == EditOp::create || a.op == EditOp::update;
  if (writes && b.op == EditOp::patch) return merged(a, b, {a.op, write_with_patch(a.body, b.body)});
  if (writes && b.op == EditOp::update) return merged(a, b, {a.op, b.body});
  if (a.op == EditOp::create && (b.op == EditOp::pin || b.op == EditOp::unpin)) {
    json body = a.body;
    body["pinned"] = b.op == EditOp::pin;
    return merged(a, b, {EditOp::create, std::move(body)});
  }
  if (a.op == EditOp::create && b.op == EditOp::remove) return nothing(a, b);
  if (a.op == EditOp::patch && b.op == EditOp::patch) {
    json body = a.body;
    body.update(b.body);
    return merged(a, b, {EditOp::patch, std::move(body)});
  }
  if (a.op == EditOp::patch && b.op == EditOp::update) return second_only(a, b);
  if (is_flag_pair(a.op, b.op, EditOp::pin, EditOp::unpin)) {
    auto started = before ? std::optional<bool>(before->pinned) : std::nullopt;
    return flag_pair(a, b, b.op == EditOp::pin, started);
  }
  if (is_flag_pair(a.op, b.op, EditOp::archive, EditOp::unarchive)) {
    auto started = before ? std::optional<bool>(before->archived_at.has_value()) : std::nullopt;
    return flag_pair(a, b, b.op == EditOp::archive, started);
  }
  if (a.op == EditOp::remove && b.op == EditOp::restore) return nothing(a, b);
  if (a.op == EditOp::restore && b.op == EditOp::remove) return nothing(a, b);
  if (b.op == EditOp::remove && a.op != EditOp::create) return second_only(a, b);
  return std::nullopt;
}

}  // namespace focus::model
