// Fuzzes what focussync does with an upstream answer, with the functions
// FocusApi::run uses: note_quota (the quota headers, a 402's reset and a
// 429's Retry-After into the QuotaTracker), a 2xx body decoded as a list
// page, a project or a members body, the server's text for the error message. The input is
// two bytes of status, header lines up to an empty line, then the body.
// Checks: decoders answer a value or bad_payload (no exception); the error
// text is one line of valid UTF-8 and bounded length; the tracker never blocks a request
// for longer than the answer said (nor in the past).
#include "core/clock.hpp"
#include "core/utf8.hpp"
#include "upstream/answer.hpp"
#include "upstream/quota_tracker.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

using namespace focus;

namespace {

[[noreturn]] void broken(const char* what, const std::string& detail) {
  std::fprintf(stderr, "property broken: %s\n%s\n", what, detail.c_str());
  std::abort();
}

http::Response read_response(std::string_view in) {
  http::Response r;
  r.status = 100 + (static_cast<unsigned char>(in[0]) << 8 | static_cast<unsigned char>(in[1])) % 500;
  in.remove_prefix(2);
  while (!in.empty()) {
    auto eol = in.find('\n');
    std::string_view line = in.substr(0, eol);
    in.remove_prefix(eol == std::string_view::npos ? in.size() : eol + 1);
    if (line.empty()) break;
    auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    r.headers.push_back({std::string(line.substr(0, colon)), std::string(value)});
  }
  r.body = std::string(in);
  return r;
}

template <class T>
void expect_value_or_bad_payload(const Result<T>& r) {
  if (!r && r.error().code != make_error_code(Errc::bad_payload)) broken("a decoder failed other than bad_payload", r.error().message);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  http::Response r = read_response(std::string_view(reinterpret_cast<const char*>(data), size));
  const ManualClock clock;  // stands still: `now` is the answer's time throughout
  upstream::QuotaTracker quota(clock);
  const model::Id org = 1;
  const auto now = clock.steady_now();
  const auto news = upstream::detail::note_quota(quota, org, r);
  if (news.retry_after && *news.retry_after < std::chrono::seconds(1))
    broken("Retry-After read below a second", std::to_string(news.retry_after->count()));
  if (r.status >= 200 && r.status < 300) {
    expect_value_or_bad_payload(upstream::detail::decode_page(r.body, true));
    expect_value_or_bad_payload(upstream::detail::decode_page(r.body, false));
    expect_value_or_bad_payload(upstream::detail::decode_one(r.body));
    expect_value_or_bad_payload(upstream::detail::decode_members(r.body));
  } else {
    std::string text = upstream::detail::server_text(r);
    if (text.size() > 300 || text.find('\n') != std::string::npos) broken("server text not one bounded line", text);
    if (!is_valid_utf8(text)) broken("server text not valid UTF-8", text);
  }
  auto until = quota.blocked_until(org);
  if (until && *until < now) broken("blocked until a time in the past", "");
  (void)quota.snapshot(org);
  return 0;
}
