#include "sim/simulator.hpp"

#include "sim/hostile_answers.hpp"

#include <spdlog/spdlog.h>

namespace focus::sim {
namespace {

http::Response plain(int status, std::string text) {
  http::Response r;
  r.status = status;
  r.content_type = "text/plain; charset=utf-8";
  r.body = std::move(text);
  return r;
}

std::int64_t organization_of(const ApiRoute& route) {
  return route.workspace ? route.workspace->organization_id : 0;
}

}  // namespace

Simulator::Simulator(const SimOptions& options, Authenticator auth)
    : state_(options.first_project_id),
      seeder_(options.seed),
      faults_(options.faults),
      dice_(options.seed ^ 0x5eedfau),
      quota_(options.quota),
      auth_(std::move(auth)),
      api_(state_, seeder_, faults_, options.max_per_page),
      control_(state_, seeder_, faults_, quota_, stats_) {
  state_.set_clock_skew(options.clock_skew);
  for (const auto& key : options.workspaces) seeder_.populate(state_, state_.add_workspace(key), options.projects_per_workspace);
}

http::Response Simulator::handle(const http::Request& request) {
  auto target = http::parse_target(request.target);
  if (!target) return plain(400, "malformed request target");
  if (ControlRoutes::is_control_path(*target)) return control_.serve(request, *target);
  return handle_api(request, *target);
}

http::Response Simulator::handle_api(const http::Request& request, const http::Target& target) {
  const ApiRoute route = ApiRoutes::resolve(request.method, target);
  if (faults_.offline) {
    stats_.record(route.name, "dropped");
    http::Response r;
    r.delivery = http::Delivery::drop;
    return r;
  }
  auto principal = auth_.principal(request);
  if (!principal) {
    stats_.record(route.name, "401");
    return plain(401, "Unauthorized: missing or invalid credentials");
  }
  std::optional<QuotaReading> quota;
  if (quota_.enabled()) {
    auto now = QuotaBook::Clock::now();
    quota = quota_.spend(*principal, organization_of(route), now);
    if (!quota) {
      auto reading = quota_.peek(*principal, organization_of(route), now);
      auto r = plain(402, "You have hit your hourly request quota for this organization. Try again in " +
                              std::to_string(reading.resets_in_seconds) + " seconds.");
      r.set_header("X-Toggl-Quota-Remaining", "0");
      r.set_header("X-Toggl-Quota-Resets-In", std::to_string(reading.resets_in_seconds));
      stats_.record(route.name, "402");
      return r;
    }
  }
  http::Response response;
  const bool write = request.method != "GET" && request.method != "HEAD";
  switch (dice_.before(faults_, write)) {
    case Fault::server_error:
      response = dice_.coin(0.5) ? json_error(500, "internal server error") : plain(503, "Service Unavailable");
      if (broken_text(write)) hostile::break_error_text(response, dice_);
      break;
    case Fault::rate_limited:
      response = plain(429, "Too Many Requests");
      response.set_header("Retry-After", std::to_string(1 + static_cast<int>(dice_.coin(0.5))));
      if (broken_text(write)) hostile::break_error_text(response, dice_);
      break;
    case Fault::refused:
      response = hostile::refusal(dice_);
      break;
    default:
      response = api_.serve(request, target, route);
      spoil(response, dice_.after(faults_, write));
  }
  if (quota) {
    response.set_header("X-Toggl-Quota-Remaining", std::to_string(quota->remaining));
    response.set_header("X-Toggl-Quota-Resets-In", std::to_string(quota->resets_in_seconds));
  }
  response.delay = std::chrono::milliseconds(faults_.latency_ms);
  response.set_header("Date", format_http_date(state_.now()));
  stats_.record(route.name, response.delivery == http::Delivery::drop ? "dropped" : std::to_string(response.status));
  return response;
}

// Whether a server error's text is broken (bad_utf8_rate, within its scope).
bool Simulator::broken_text(bool write) {
  return (write || !faults_.hostile_writes_only) && dice_.coin(faults_.bad_utf8_rate);
}

// Faults that strike after the request was applied: its answer is lost, bad
// or hostile.
void Simulator::spoil(http::Response& response, Fault fault) {
  switch (fault) {
    case Fault::drop: response.delivery = http::Delivery::drop; break;
    case Fault::truncate: response.delivery = http::Delivery::truncate; break;
    case Fault::garbage:
      response.status = 200;
      response.content_type = "application/json";
      response.body = response.body.substr(0, response.body.size() / 3) + "<html>502 Bad Gateway</h";
      break;
    case Fault::oversize:
      response.status = 200;
      response.content_type = "application/json";
      response.body = "{\"padding\":\"" + std::string(faults_.oversize_bytes, 'x') + "\",\"data\":" +
                      (response.body.empty() ? "null" : response.body) + "}";
      break;
    case Fault::garbage_write: hostile::garbage_write(response); break;
    case Fault::bad_utf8:
      if (response.status >= 400) hostile::break_error_text(response, dice_);
      else hostile::break_strings(response, dice_);
      break;
    case Fault::wrong_types: hostile::wrong_types(response, dice_); break;
    case Fault::huge_numbers: hostile::huge_numbers(response, dice_); break;
    case Fault::deep_nesting: hostile::deep_nesting(response, dice_, faults_.nesting_depth); break;
    default: break;
  }
}

}  // namespace focus::sim
