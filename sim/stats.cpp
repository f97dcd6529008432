#include "sim/stats.hpp"

#include <nlohmann/json.hpp>

namespace focus::sim {

nlohmann::json Stats::to_json() const {
  return {{"requests", requests_},
          {"by_status", by_status_},
          {"by_route", by_route_},
          {"connections", connections_ ? connections_() : 0}};
}

}  // namespace focus::sim
