#include "upstream/server_clock.hpp"

#include <algorithm>

namespace focus::upstream {

void ServerClock::observe(model::Id organization, Timestamp date, Timestamp sent, Timestamp received) {
  using std::chrono::microseconds;
  if (received < sent) std::swap(sent, received);  // the local clock was set back in between
  // The server read its clock at some instant between `sent` and `received`,
  // and wrote it rounded down to the second: the offset lies between
  // date - received and date + 1 s - sent.
  const microseconds low = date - received;
  const microseconds high = date + std::chrono::seconds(1) - sent;
  ClockReading r;
  r.offset = low + (high - low) / 2;
  r.uncertainty = (high - low) / 2;
  r.round_trip = received - sent;
  readings_[organization] = r;
}

std::optional<ClockReading> ServerClock::reading(model::Id organization) const {
  auto it = readings_.find(organization);
  if (it == readings_.end()) return std::nullopt;
  return it->second;
}

}  // namespace focus::upstream
