#pragma once
// The faults focus-sim can inject, settable by flags at start and through
// PUT /_sim/faults at run time, and the dice that decide, request by request,
// which one strikes. Rates are probabilities in [0, 1]. Deterministic for a
// given seed. Two families: the network's and a tired server's (errors, 429,
// drops, cut or malformed bodies), and a hostile upstream's, whose answers
// are well delivered but wrong inside (text that is not UTF-8, fields of the
// wrong type, huge numbers, deep nesting, a parent cycle); what the latter do
// to a body is in hostile_answers.hpp. Owned by the Simulator; single-threaded.

#include <nlohmann/json_fwd.hpp>

#include <cstddef>
#include <cstdint>
#include <random>

namespace focus::sim {

constexpr std::int64_t kMaxNestingDepth = 1'000'000;

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
  // A hostile upstream. Those marked "applied" strike after the request took effect.
  double bad_utf8_rate = 0;        // error texts, or a 2xx's string fields, not valid UTF-8
  double refuse_writes_rate = 0;   // writes answered 400 with a text not valid UTF-8, not applied
  double garbage_writes_rate = 0;  // writes only: applied, their 2xx body malformed JSON
  double wrong_types_rate = 0;     // applied, fields of the 2xx body with the wrong JSON type
  double huge_numbers_rate = 0;    // applied, numbers of the 2xx body near or past INT64_MAX
  double deep_nesting_rate = 0;    // applied, the 2xx body holding a value nesting_depth deep
  std::size_t nesting_depth = 40'000;
  bool cycle = false;              // answers show the two lowest live ids as each other's parent
  // bad_utf8, wrong_types, huge_numbers and deep_nesting strike only the
  // answers of writes: reads stay sound, so a client's sync goes on and it
  // sends its writes, whose answers are then hostile.
  bool hostile_writes_only = false;
};

nlohmann::json to_json(const FaultSettings& f);
// Applies the keys present in `patch`; keys left out keep their value.
// Throws ApiError(400) naming an unknown key or a value of the wrong type or range.
void apply_json(FaultSettings& f, const nlohmann::json& patch);

enum class Fault {
  none, server_error, rate_limited, refused,                                // not applied
  drop, truncate, garbage, garbage_write, oversize,                         // applied, answer lost or unreadable
  bad_utf8, wrong_types, huge_numbers, deep_nesting,                        // applied, answer wrong inside
};

class FaultDice {
 public:
  explicit FaultDice(std::uint64_t seed) : rng_(seed) {}
  // Faults that stop the request before it is applied. `write`: any method but GET.
  Fault before(const FaultSettings& f, bool write);
  // Faults that strike the answer of a request that was applied.
  Fault after(const FaultSettings& f, bool write);
  bool coin(double p) { return p > 0 && std::bernoulli_distribution(p)(rng_); }
  // One of 0 .. n-1 (n > 0), for the variants of a fault.
  std::size_t pick(std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng_); }

 private:
  std::mt19937_64 rng_;
};

}  // namespace focus::sim
