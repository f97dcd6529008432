#pragma once
// How long to wait before retrying a failed read: exponential backoff with
// full jitter (a uniformly random wait between zero and base * 2^attempt,
// capped), bounded in attempts. Writes are never retried by lib/upstream.
// Owned by the FocusApi; single-threaded.

#include <chrono>
#include <cstdint>
#include <random>

namespace focus::upstream {

struct RetryPolicy {
  int max_attempts = 4;  // the first try included
  std::chrono::milliseconds base{250};
  std::chrono::milliseconds cap{8'000};
  // A 429's Retry-After up to this long is waited out; longer ones end the call.
  std::chrono::milliseconds max_retry_after{30'000};
};

class Backoff {
 public:
  explicit Backoff(RetryPolicy policy, std::uint64_t seed = std::random_device{}()) : policy_(policy), rng_(seed) {}
  const RetryPolicy& policy() const { return policy_; }
  // The wait before attempt `attempt + 1` (attempt counts from 0).
  std::chrono::milliseconds delay(int attempt);

 private:
  RetryPolicy policy_;
  std::mt19937_64 rng_;
};

}  // namespace focus::upstream
