#include "sim/faults.hpp"

#include "sim/api_error.hpp"

#include <nlohmann/json.hpp>

namespace focus::sim {

using nlohmann::json;

json to_json(const FaultSettings& f) {
  return {{"offline", f.offline},
          {"latency_ms", f.latency_ms},
          {"error_rate", f.error_rate},
          {"rate_limited_rate", f.rate_limited_rate},
          {"drop_rate", f.drop_rate},
          {"truncate_rate", f.truncate_rate},
          {"garbage_rate", f.garbage_rate},
          {"oversize_rate", f.oversize_rate},
          {"oversize_bytes", f.oversize_bytes},
          {"drift", f.drift},
          {"ignore_order", f.ignore_order},
          {"bad_utf8_rate", f.bad_utf8_rate},
          {"refuse_writes_rate", f.refuse_writes_rate},
          {"garbage_writes_rate", f.garbage_writes_rate},
          {"wrong_types_rate", f.wrong_types_rate},
          {"huge_numbers_rate", f.huge_numbers_rate},
          {"deep_nesting_rate", f.deep_nesting_rate},
          {"nesting_depth", f.nesting_depth},
          {"cycle", f.cycle},
          {"hostile_writes_only", f.hostile_writes_only}};
}

namespace {

bool as_bool(const std::string& key, const json& v) {
  if (!v.is_boolean()) throw bad_request("faults: '" + key + "' must be true or false");
  return v.get<bool>();
}

double as_rate(const std::string& key, const json& v) {
  if (!v.is_number() || v.get<double>() < 0 || v.get<double>() > 1)
    throw bad_request("faults: '" + key + "' must be a number from 0 to 1");
  return v.get<double>();
}

std::int64_t as_count(const std::string& key, const json& v) {
  if (!v.is_number_integer() || v.get<std::int64_t>() < 0)
    throw bad_request("faults: '" + key + "' must be a non-negative integer");
  return v.get<std::int64_t>();
}

// Deep enough to break a recursive reader, small enough to build at once.
std::size_t as_depth(const std::string& key, const json& v) {
  auto n = as_count(key, v);
  if (n < 1 || n > kMaxNestingDepth)
    throw bad_request("faults: '" + key + "' must be an integer from 1 to " + std::to_string(kMaxNestingDepth));
  return static_cast<std::size_t>(n);
}

}  // namespace

void apply_json(FaultSettings& f, const json& patch) {
  if (!patch.is_object()) throw bad_request("faults: the body must be a JSON object");
  FaultSettings next = f;  // all or nothing
  for (const auto& [key, v] : patch.items()) {
    if (key == "offline") next.offline = as_bool(key, v);
    else if (key == "drift") next.drift = as_bool(key, v);
    else if (key == "ignore_order") next.ignore_order = as_bool(key, v);
    else if (key == "latency_ms") next.latency_ms = as_count(key, v);
    else if (key == "oversize_bytes") next.oversize_bytes = static_cast<std::size_t>(as_count(key, v));
    else if (key == "error_rate") next.error_rate = as_rate(key, v);
    else if (key == "rate_limited_rate") next.rate_limited_rate = as_rate(key, v);
    else if (key == "drop_rate") next.drop_rate = as_rate(key, v);
    else if (key == "truncate_rate") next.truncate_rate = as_rate(key, v);
    else if (key == "garbage_rate") next.garbage_rate = as_rate(key, v);
    else if (key == "oversize_rate") next.oversize_rate = as_rate(key, v);
    else if (key == "bad_utf8_rate") next.bad_utf8_rate = as_rate(key, v);
    else if (key == "refuse_writes_rate") next.refuse_writes_rate = as_rate(key, v);
    else if (key == "garbage_writes_rate") next.garbage_writes_rate = as_rate(key, v);
    else if (key == "wrong_types_rate") next.wrong_types_rate = as_rate(key, v);
    else if (key == "huge_numbers_rate") next.huge_numbers_rate = as_rate(key, v);
    else if (key == "deep_nesting_rate") next.deep_nesting_rate = as_rate(key, v);
    else if (key == "nesting_depth") next.nesting_depth = as_depth(key, v);
    else if (key == "cycle") next.cycle = as_bool(key, v);
    else if (key == "hostile_writes_only") next.hostile_writes_only = as_bool(key, v);
    else throw bad_request("faults: unknown key '" + key + "'");
  }
  f = next;
}

// A rate of 0 draws nothing (coin), so adding kinds leaves the dice of the
// older ones, and every seed's sequence of faults, as it was.
Fault FaultDice::before(const FaultSettings& f, bool write) {
  if (coin(f.error_rate)) return Fault::server_error;
  if (coin(f.rate_limited_rate)) return Fault::rate_limited;
  if (write && coin(f.refuse_writes_rate)) return Fault::refused;
  return Fault::none;
}

Fault FaultDice::after(const FaultSettings& f, bool write) {
  if (coin(f.drop_rate)) return Fault::drop;
  if (coin(f.truncate_rate)) return Fault::truncate;
  if (coin(f.garbage_rate)) return Fault::garbage;
  if (write && coin(f.garbage_writes_rate)) return Fault::garbage_write;
  if (coin(f.oversize_rate)) return Fault::oversize;
  if (!write && f.hostile_writes_only) return Fault::none;
  if (coin(f.bad_utf8_rate)) return Fault::bad_utf8;
  if (coin(f.wrong_types_rate)) return Fault::wrong_types;
  if (coin(f.huge_numbers_rate)) return Fault::huge_numbers;
  if (coin(f.deep_nesting_rate)) return Fault::deep_nesting;
  return Fault::none;
}

}  // namespace focus::sim
