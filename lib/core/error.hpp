#pragma once
// The failures focussync's engine branches on, as std::error_code values of
// one category ("focussync"), and the Error value that carries a code with a
// human message. Network and upstream results are returned as values
// (Result<T>), never thrown. Plain data; any thread.

#include <string>
#include <system_error>

namespace focus {

enum class Errc {
  // The network and HTTP (lib/http).
  timeout = 1,      // a phase or the whole exchange ran out of time
  network,          // resolve, connect, reset, closed early, truncated body
  tls,              // handshake or certificate verification failed
  body_too_large,   // the answer exceeded the configured limit
  bad_response,     // not HTTP, or a body that cannot be decoded (gzip)
  // The Focus API (lib/upstream).
  unauthorized,     // 401: credentials wrong or expired; stop until they change
  forbidden,        // 403
  not_found,        // 404
  bad_request,      // 400 and other 4xx: the server's text says why
  quota_exhausted,  // 402, or known to be spent: wait for the reset
  rate_limited,     // 429: wait for Retry-After
  server_error,     // 5xx
  bad_payload,      // malformed JSON or wrong types in an answer
  outcome_unknown,  // a write was sent but its answer never came
};

const std::error_category& focus_category();
std::error_code make_error_code(Errc e);

struct Error {
  std::error_code code;
  std::string message;  // for people; never holds a secret

  bool is(Errc e) const { return code == make_error_code(e); }
};

}  // namespace focus

template <>
struct std::is_error_code_enum<focus::Errc> : std::true_type {};
