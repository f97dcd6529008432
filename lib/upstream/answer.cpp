#include "upstream/answer.hpp"

#include "model/decode_error.hpp"
#include "model/project_codec.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>

namespace focus::upstream::detail {
namespace {

using nlohmann::json;

Result<json> parse(const std::string& body) {
  json value = json::parse(body, nullptr, false);
  if (value.is_discarded()) return make_error(Errc::bad_payload, "the answer is not valid JSON");
  return value;
}

}  // namespace

std::string server_text(const http::Response& r) {
  std::string text = r.body;
  json value = json::parse(r.body, nullptr, false);
  if (!value.is_discarded() && value.is_object()) {
    for (const char* key : {"error", "message"})
      if (auto it = value.find(key); it != value.end() && it->is_string()) text = it->get<std::string>();
  }
  for (char& c : text)
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  if (text.size() > 300) text = text.substr(0, 300) + "...";
  return text.empty() ? "(no text)" : text;
}

Errc errc_for_status(int status) {
  switch (status) {
    case 401: return Errc::unauthorized;
    case 402: return Errc::quota_exhausted;
    case 403: return Errc::forbidden;
    case 404: return Errc::not_found;
    case 429: return Errc::rate_limited;
    default: return status >= 500 ? Errc::server_error : Errc::bad_request;
  }
}

std::optional<std::int64_t> int_header(const http::Response& r, std::string_view name) {
  auto value = r.header(name);
  if (!value) return std::nullopt;
  std::int64_t n = 0;
  auto [end, ec] = std::from_chars(value->data(), value->data() + value->size(), n);
  if (ec != std::errc{} || end != value->data() + value->size()) return std::nullopt;
  return n;
}

std::chrono::seconds retry_after(const http::Response& r) {
  // Retry-After may also be an HTTP date; a second is a safe reading then.
  // Beyond two hours (the QuotaTracker's cap on any wait) it is a broken
  // header, and would overflow the clock.
  return std::chrono::seconds(std::clamp<std::int64_t>(int_header(r, "Retry-After").value_or(1), 1, 2 * 3600));
}

QuotaNews note_quota(QuotaTracker& quota, model::Id organization, const http::Response& r,
                     QuotaTracker::Clock::time_point now) {
  quota.on_headers(organization, int_header(r, "X-Toggl-Quota-Remaining"), int_header(r, "X-Toggl-Quota-Resets-In"), now);
  QuotaNews news;
  switch (errc_for_status(r.status)) {
    case Errc::quota_exhausted:
      news.resets_in = std::chrono::seconds(int_header(r, "X-Toggl-Quota-Resets-In").value_or(60));
      quota.on_quota_exhausted(organization, *news.resets_in, now);
      break;
    case Errc::rate_limited:
      news.retry_after = retry_after(r);
      quota.on_rate_limited(organization, *news.retry_after, now);
      break;
    default: break;
  }
  return news;
}

Result<ProjectPage> decode_page(const std::string& body, bool expect_total) {
  auto value = parse(body);
  if (!value) return value.error();
  const json& j = *value;
  if (!j.is_object() || !j.contains("data") || !j["data"].is_array())
    return make_error(Errc::bad_payload, "the answer has no 'data' array");
  ProjectPage page;
  auto integer = [&](const char* key) -> std::optional<std::int64_t> {
    auto it = j.find(key);
    if (it == j.end() || !it->is_number_integer()) return std::nullopt;
    return it->get<std::int64_t>();
  };
  page.page = integer("page").value_or(1);
  page.per_page = integer("per_page").value_or(static_cast<std::int64_t>(j["data"].size()));
  page.total = integer("total");
  if (expect_total && !page.total) return make_error(Errc::bad_payload, "the list answer has no integer 'total'");
  page.data.reserve(j["data"].size());
  try {
    for (const auto& item : j["data"]) page.data.push_back(model::decode_project(item));
  } catch (const model::DecodeError& e) {
    return make_error(Errc::bad_payload, e.what());
  }
  return page;
}

namespace {

// Parses `body` and applies a model decoder; a decode failure is bad_payload.
template <class Decode>
auto decode_with(const std::string& body, Decode decode) -> Result<decltype(decode(json()))> {
  auto value = parse(body);
  if (!value) return value.error();
  try {
    return decode(*value);
  } catch (const model::DecodeError& e) {
    return make_error(Errc::bad_payload, e.what());
  }
}

}  // namespace

Result<model::Project> decode_one(const std::string& body) {
  return decode_with(body, [](const json& v) { return model::decode_project(v); });
}

Result<model::ProjectMembers> decode_members(const std::string& body) {
  return decode_with(body, [](const json& v) { return model::decode_project_members(v); });
}

}  // namespace focus::upstream::detail
