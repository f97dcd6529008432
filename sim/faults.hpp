#pragma once
// The faults focus-sim can inject, settable by flags at start and through
// PUT /_sim/faults at run time, and the dice that decide, request by request,
// which one strikes. Rates are probabilities in [0, 1]. Deterministic for a
// given seed. Owned by the Simulator; single-threaded.

#include <nlohmann/json_fwd.hpp>

#include <cstddef>
#include <cstdint>
#include <random>

namespace focus::sim {

struct FaultSettings {
  bool offline = false;            // every API connection dropped at once
  std::int64_t latency_ms = 0;     // added before every API answer
  double error_rate = 0;           // 500 / 503, the request not applied
  double rate_limited_rate = 0;    // 429 with Retry-After, not applied
  double drop_rate = 0;            // applied, then the connection closed unanswered
  double truncate_rate = 0;        // applied, the body cut short
  double garbage_rate = 0;         // applied, the body malformed JSON
  double oversize_rate = 0;        // applied, the body padded past oversize_bytes
  std::size_t oversize_bytes = 32 * 1024 * 1024;
  bool drift = false;              // other users insert and delete between page requests
  bool ignore_order = false;       // lists ignore order_by (served by id), as a server might
};

nlohmann::json to_json(const FaultSettings& f);
// Applies the keys present in `patch`; keys left out keep their value.
// Throws ApiError(400) naming an unknown key or a value of the wrong type or range.
void apply_json(FaultSettings& f, const nlohmann::json& patch);

enum class Fault { none, server_error, rate_limited, drop, truncate, garbage, oversize };

class FaultDice {
 public:
  explicit FaultDice(std::uint64_t seed) : rng_(seed) {}
  // Faults that stop the request before it is applied.
  Fault before(const FaultSettings& f);
  // Faults that strike the answer of a request that was applied.
  Fault after(const FaultSettings& f);
  bool coin(double p) { return p > 0 && std::bernoulli_distribution(p)(rng_); }

 private:
  std::mt19937_64 rng_;
};

}  // namespace focus::sim
