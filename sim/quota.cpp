#include "sim/quota.hpp"

namespace focus::sim {

void QuotaBook::reconfigure(QuotaSettings settings) {
  settings_ = settings;
  windows_.clear();
}

QuotaBook::Window& QuotaBook::current(const std::string& principal, std::int64_t organization, Clock::time_point now) {
  auto [it, fresh] = windows_.try_emplace({principal, organization}, Window{now, 0});
  Window& w = it->second;
  if (!fresh && now >= w.started + settings_.window) w = Window{now, 0};
  return w;
}

QuotaReading QuotaBook::reading(const Window& w, Clock::time_point now) const {
  auto left = std::chrono::ceil<std::chrono::seconds>(w.started + settings_.window - now).count();
  return QuotaReading{settings_.limit - w.used, left < 0 ? 0 : left};
}

std::optional<QuotaReading> QuotaBook::spend(const std::string& principal, std::int64_t organization,
                                             Clock::time_point now) {
  Window& w = current(principal, organization, now);
  if (w.used >= settings_.limit) return std::nullopt;
  ++w.used;
  return reading(w, now);
}

std::vector<QuotaBook::WindowView> QuotaBook::windows(Clock::time_point now) const {
  std::vector<WindowView> out;
  for (const auto& [key, w] : windows_)
    if (now < w.started + settings_.window)
      out.push_back({key.first, key.second, w.used, reading(w, now).resets_in_seconds});
  return out;
}

QuotaReading QuotaBook::peek(const std::string& principal, std::int64_t organization, Clock::time_point now) {
  return reading(current(principal, organization, now), now);
}

}  // namespace focus::sim
