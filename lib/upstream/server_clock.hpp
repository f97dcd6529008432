#pragma once
// The server's clock as its answers tell it: every answer's Date header
// (whole seconds) read against the local clock when the request left and
// when the answer came, per organization. What a create's read-back needs
// to compare the local time an edit was sent at with the server's
// created_at, however far apart the two clocks are. The latest answer
// counts (clocks drift; an old reading is worth less). Owned by FocusApi;
// io_context thread only.

#include "core/time.hpp"
#include "model/project.hpp"

#include <chrono>
#include <map>
#include <optional>

namespace focus::upstream {

struct ClockReading {
  // server time = local time + offset, give or take `uncertainty` (half a
  // second of the Date's rounding plus half the round trip).
  std::chrono::microseconds offset{0};
  std::chrono::microseconds uncertainty{0};
  std::chrono::microseconds round_trip{0};  // of the answer the reading came from
  Timestamp to_server(Timestamp local) const { return local + offset; }
};

class ServerClock {
 public:
  // An answer dated `date` (the Date header) to a request sent at local time
  // `sent` and answered at `received`.
  void observe(model::Id organization, Timestamp date, Timestamp sent, Timestamp received);
  std::optional<ClockReading> reading(model::Id organization) const;

 private:
  std::map<model::Id, ClockReading> readings_;
};

}  // namespace focus::upstream
