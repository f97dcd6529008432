#pragma once
// Counts of API requests (never control routes) as GET /_sim/stats shows
// them: in all, by answer status ("dropped" when the connection was closed
// unanswered) and by route ("GET /projects", ...); and the TCP connections
// the server accepted (control routes' too). Single-threaded.

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <string>

namespace focus::sim {

class Stats {
 public:
  void record(const std::string& route, const std::string& status) {
    ++requests_;
    ++by_status_[status];
    ++by_route_[route];
  }
  void reset() {
    auto connections = connections_;
    *this = Stats{};
    connections_ = std::move(connections);
  }
  // Where to read the server's accepted-connection count (set by main).
  void count_connections_with(std::function<std::int64_t()> f) { connections_ = std::move(f); }
  nlohmann::json to_json() const;

 private:
  std::int64_t requests_ = 0;
  std::map<std::string, std::int64_t> by_status_;
  std::map<std::string, std::int64_t> by_route_;
  std::function<std::int64_t()> connections_;
};

}  // namespace focus::sim
