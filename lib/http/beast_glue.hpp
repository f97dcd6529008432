#pragma once
// Internal to lib/http: conversions between the plain Request / Response
// values and Beast's messages, shared by the TCP and the Unix socket server.
// Includes Beast: never include it from a public header.

#include "http/json_answer.hpp"
#include "http/message.hpp"

#include <boost/beast/http.hpp>

#include <string>

namespace focus::http::detail {

inline Request to_request(boost::beast::http::request<boost::beast::http::string_body>&& req) {
  Request r;
  r.method = std::string(req.method_string());
  r.target = std::string(req.target());
  for (const auto& field : req) r.headers.push_back({std::string(field.name_string()), std::string(field.value())});
  r.body = std::move(req.body());
  return r;
}

inline boost::beast::http::response<boost::beast::http::string_body> to_beast(Response&& r, unsigned version,
                                                                               bool keep_alive) {
  namespace bhttp = boost::beast::http;
  bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(r.status), version};
  for (auto& h : r.headers) res.insert(h.name, h.value);
  if (!r.body.empty() || r.status != 204) res.set(bhttp::field::content_type, r.content_type);
  res.body() = std::move(r.body);
  res.keep_alive(keep_alive);
  res.prepare_payload();
  return res;
}

// The answer to a request that could not be read.
inline Response refusal_for(const boost::beast::error_code& ec) {
  namespace bhttp = boost::beast::http;
  if (ec == bhttp::error::body_limit) return json_error(413, "request body too large");
  if (ec == bhttp::error::header_limit) return json_error(431, "request header too large");
  return json_error(400, "malformed HTTP request: " + ec.message());
}

}  // namespace focus::http::detail
