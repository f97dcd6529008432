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
          {"ignore_order", f.ignore_order}};
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
    else throw bad_request("faults: unknown key '" + key + "'");
  }
  f = next;
}

Fault FaultDice::before(const FaultSettings& f) {
  if (coin(f.error_rate)) return Fault::server_error;
  if (coin(f.rate_limited_rate)) return Fault::rate_limited;
  return Fault::none;
}

Fault FaultDice::after(const FaultSettings& f) {
  if (coin(f.drop_rate)) return Fault::drop;
  if (coin(f.truncate_rate)) return Fault::truncate;
  if (coin(f.garbage_rate)) return Fault::garbage;
  if (coin(f.oversize_rate)) return Fault::oversize;
  return Fault::none;
}

}  // namespace focus::sim
