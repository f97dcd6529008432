#pragma once
// Internal to lib/http: conversions between the plain Request / Response
// values and Beast's messages, shared by the TCP and the Unix socket server.
// Includes Beast: never include it from a public header.

#include "http/json_answer.hpp"
#include "http/message.hpp"

#include <boost/beast/http.hpp>

#include <string>
#include <string_view>

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

// Statuses whose answers carry no body and no Content-Length (RFC 9110).
inline bool has_no_body(int status) { return (status >= 100 && status < 200) || status == 204 || status == 304; }

// The status line and header block of an answer, as to_beast and Beast's
// serializer would write them, built as one text: a read answered from the
// cache spent a tenth of its CPU in the serializer and its nine pieces. One
// difference: no "Content-Length: 0" on a 204 or 304 (RFC 9110 8.6). The
// handlers never set Content-Length, Content-Type or Connection themselves.
inline std::string response_head(const Response& r, unsigned version, bool keep_alive) {
  // Room for it all at once: grown append by append from the status line,
  // a GET by id's head of about 150 bytes took four allocations.
  std::size_t room = 128 + r.content_type.size();
  for (const auto& h : r.headers) room += h.name.size() + h.value.size() + 4;
  std::string head;
  head.reserve(room);
  head += version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
  head += std::to_string(r.status);
  head += ' ';
  head += boost::beast::http::obsolete_reason(static_cast<boost::beast::http::status>(r.status));
  head += "\r\n";
  auto field = [&head](std::string_view name, std::string_view value) {
    head.append(name).append(": ").append(value).append("\r\n");
  };
  for (const auto& h : r.headers) field(h.name, h.value);
  if (!r.body.empty() || r.status != 204) field("Content-Type", r.content_type);
  if (version == 10 && keep_alive) field("Connection", "keep-alive");
  if (version != 10 && !keep_alive) field("Connection", "close");
  if (!has_no_body(r.status)) field("Content-Length", std::to_string(r.body.size()));
  head += "\r\n";
  return head;
}

// The answer to a request that could not be read.
inline Response refusal_for(const boost::beast::error_code& ec) {
  namespace bhttp = boost::beast::http;
  if (ec == bhttp::error::body_limit) return json_error(413, "request body too large");
  if (ec == bhttp::error::header_limit) return json_error(431, "request header too large");
  return json_error(400, "malformed HTTP request: " + ec.message());
}

}  // namespace focus::http::detail
