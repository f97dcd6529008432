#pragma once
// Toggl's hourly request quota, per user and per organization: a fixed window
// that starts with the first request and resets `window` later. Every API
// response reports what is left and when it resets; a request beyond the
// limit is refused (402) and does not count. Off when the limit is 0.
// Owned by the Simulator; single-threaded.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace focus::sim {

struct QuotaSettings {
  std::int64_t limit = 0;  // requests per window; 0 = no quota
  std::chrono::seconds window{3600};
};

struct QuotaReading {
  std::int64_t remaining = 0;
  std::int64_t resets_in_seconds = 0;
};

class QuotaBook {
 public:
  using Clock = std::chrono::steady_clock;

  explicit QuotaBook(QuotaSettings settings) : settings_(settings) {}
  bool enabled() const { return settings_.limit > 0; }
  const QuotaSettings& settings() const { return settings_; }
  void reconfigure(QuotaSettings settings);  // also forgets every window

  // Counts one request. nullopt when the window's quota is already spent.
  std::optional<QuotaReading> spend(const std::string& principal, std::int64_t organization, Clock::time_point now);
  QuotaReading peek(const std::string& principal, std::int64_t organization, Clock::time_point now);

  struct WindowView {
    std::string principal;
    std::int64_t organization = 0;
    std::int64_t used = 0;
    std::int64_t resets_in_seconds = 0;
  };
  // The windows still open at `now` (for GET /_sim/quota).
  std::vector<WindowView> windows(Clock::time_point now) const;

 private:
  struct Window {
    Clock::time_point started;
    std::int64_t used = 0;
  };
  Window& current(const std::string& principal, std::int64_t organization, Clock::time_point now);
  QuotaReading reading(const Window& w, Clock::time_point now) const;

  QuotaSettings settings_;
  std::map<std::pair<std::string, std::int64_t>, Window> windows_;
};

}  // namespace focus::sim
