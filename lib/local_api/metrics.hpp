#pragma once
// The local API's own counters (requests by route and status, a latency
// histogram) and the Prometheus text exposition of them plus what the daemon
// and the store report. Plain counters; io_context thread only.

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace focus::local_api {

class Metrics {
 public:
  // `route` is the route's pattern ("GET /api/.../projects/{id}"), never the
  // raw path, so the label set stays small.
  void observe(std::string_view route, int status, std::chrono::microseconds took);
  // A streamed answer (event stream) that ended on an error after its head was sent.
  void stream_failed(const std::string& route) { ++stream_failures_[route]; }

  // Appends this object's series to `out`.
  void render(std::string& out) const;

 private:
  // By route, then status: a route already counted is found by its text,
  // without a key made for each request.
  std::map<std::string, std::map<int, std::int64_t>, std::less<>> requests_;
  std::map<std::string, std::int64_t> stream_failures_;
  std::vector<std::int64_t> buckets_ = std::vector<std::int64_t>(kBounds.size(), 0);
  std::int64_t count_ = 0;
  double sum_seconds_ = 0;
  static const std::vector<double> kBounds;  // seconds
};

// Helpers for the rest of the exposition.
void render_gauge(std::string& out, const std::string& name, const std::string& help, double value);
void render_labelled(std::string& out, const std::string& name, const std::string& type, const std::string& help,
                     const std::string& label, const std::map<std::string, std::int64_t>& values);

}  // namespace focus::local_api
