#include "local_api/metrics.hpp"

#include <fmt/format.h>

namespace focus::local_api {

const std::vector<double> Metrics::kBounds = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

namespace {

std::string escape_label(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

}  // namespace

void Metrics::observe(std::string_view route, int status, std::chrono::microseconds took) {
  auto it = requests_.find(route);
  if (it == requests_.end()) it = requests_.emplace(std::string(route), std::map<int, std::int64_t>{}).first;
  ++it->second[status];
  double seconds = static_cast<double>(took.count()) / 1e6;
  for (std::size_t i = 0; i < kBounds.size(); ++i)
    if (seconds <= kBounds[i]) ++buckets_[i];
  ++count_;
  sum_seconds_ += seconds;
}

void Metrics::render(std::string& out) const {
  out += "# HELP focussync_http_requests_total Requests served on the socket, by route and status.\n";
  out += "# TYPE focussync_http_requests_total counter\n";
  for (const auto& [route, by_status] : requests_)
    for (const auto& [status, n] : by_status)
      out += fmt::format("focussync_http_requests_total{{route=\"{}\",status=\"{}\"}} {}\n", escape_label(route),
                         status, n);
  out += "# HELP focussync_http_request_duration_seconds Time to answer a request on the socket.\n";
  out += "# TYPE focussync_http_request_duration_seconds histogram\n";
  for (std::size_t i = 0; i < kBounds.size(); ++i)
    out += fmt::format("focussync_http_request_duration_seconds_bucket{{le=\"{}\"}} {}\n", kBounds[i], buckets_[i]);
  out += fmt::format("focussync_http_request_duration_seconds_bucket{{le=\"+Inf\"}} {}\n", count_);
  out += fmt::format("focussync_http_request_duration_seconds_sum {}\n", sum_seconds_);
  out += fmt::format("focussync_http_request_duration_seconds_count {}\n", count_);
  render_labelled(out, "focussync_http_stream_failures_total", "counter",
                  "Event streams on the socket that ended on an error, by route.", "route", stream_failures_);
}

void render_gauge(std::string& out, const std::string& name, const std::string& help, double value) {
  out += "# HELP " + name + " " + help + "\n# TYPE " + name + " gauge\n";
  out += fmt::format("{} {}\n", name, value);
}

void render_labelled(std::string& out, const std::string& name, const std::string& type, const std::string& help,
                     const std::string& label, const std::map<std::string, std::int64_t>& values) {
  out += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
  for (const auto& [key, n] : values) out += fmt::format("{}{{{}=\"{}\"}} {}\n", name, label, escape_label(key), n);
}

}  // namespace focus::local_api
