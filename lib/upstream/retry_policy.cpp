#include "upstream/retry_policy.hpp"

#include <algorithm>

namespace focus::upstream {

std::chrono::milliseconds Backoff::delay(int attempt) {
  auto ceiling = policy_.base.count() << std::min(attempt, 20);
  ceiling = std::min<std::int64_t>(ceiling, policy_.cap.count());
  return std::chrono::milliseconds(std::uniform_int_distribution<std::int64_t>(0, ceiling)(rng_));
}

}  // namespace focus::upstream
