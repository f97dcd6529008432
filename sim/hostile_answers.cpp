#include "sim/hostile_answers.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace focus::sim::hostile {
namespace {

using nlohmann::json;

// Bytes that are not UTF-8, each the way a real server gets it wrong.
const char* const kCutMidCharacter = "\xc3\xa9\xc3\xa9\xc3\xa9\xc3";  // "ééé" and half an "é"
const char* const kCutEuro = "co\xc3\xbbt 12 \xe2\x82";               // "coût 12 " and 2/3 of "€"
const char* const kLatin1 = "caf\xe9 cr\xe8me br\xfbl\xe9" "e";          // Latin-1, not UTF-8
const char* const kSurrogateOverlong = "\xed\xa0\x80 \xc0\xaf \x80\xbf";  // a surrogate, an overlong "/", stray continuations
const char* const kBadColor = "#\xff\xfe\x80";

// Stands in for text nlohmann::json will not write: a marker goes into the
// document, and apply() swaps the dumped marker for the raw bytes. A marker
// is DEL-delimited (dump() writes DEL as is), so none is a part of another.
class Splicer {
 public:
  // A JSON string that becomes `raw` in place of the whole value.
  json value(std::string raw) { return json(add(std::move(raw), true)); }
  // A piece of a JSON string that becomes the bytes `raw` inside it.
  std::string inside(std::string raw) { return add(std::move(raw), false); }

  std::string apply(std::string text) const {
    for (std::size_t i = 0; i < raws_.size(); ++i) {
      std::string needle = quoted_[i] ? "\"" + marker(i) + "\"" : marker(i);
      auto at = text.find(needle);
      if (at != std::string::npos) text.replace(at, needle.size(), raws_[i]);
    }
    return text;
  }

 private:
  static std::string marker(std::size_t i) { return "\x7fsplice" + std::to_string(i) + "\x7f"; }
  std::string add(std::string raw, bool quoted) {
    raws_.push_back(std::move(raw));
    quoted_.push_back(quoted);
    return marker(raws_.size() - 1);
  }
  std::vector<std::string> raws_;
  std::vector<bool> quoted_;
};

// The body as JSON when it is a 2xx object, else a discarded value.
json json_body(const http::Response& r) {
  if (r.status < 200 || r.status > 299 || r.body.empty()) return json(json::value_t::discarded);
  json j = json::parse(r.body, nullptr, false);
  return j.is_object() ? j : json(json::value_t::discarded);
}

bool is_listing(const json& body) { return body.contains("data") && body["data"].is_array(); }

// The projects an answer holds: a listing's items, or the answer itself.
std::vector<json*> projects_in(json& body) {
  std::vector<json*> out;
  if (is_listing(body)) {
    for (auto& p : body["data"])
      if (p.is_object()) out.push_back(&p);
  } else if (body.contains("id") && body.contains("name")) {
    out.push_back(&body);
  }
  return out;
}

void set_body(http::Response& r, const json& body, const Splicer& splicer) {
  r.content_type = "application/json";
  r.body = splicer.apply(body.dump());
}

// An error body in one of four broken shapes, `message` (valid) in front.
void broken_error(http::Response& r, const std::string& message, FaultDice& dice) {
  switch (dice.pick(4)) {
    case 0:  // the text cut at a byte limit, mid-character, then the JSON closed
      r.content_type = "application/json";
      r.body = "{\"error\": \"" + message + " " + kCutMidCharacter + "\"}";
      break;
    case 1:  // a Latin-1 server
      r.content_type = "application/json";
      r.body = "{\"error\": \"" + message + " " + kLatin1 + "\"}";
      break;
    case 2:  // the body itself cut short, mid-character
      r.content_type = "application/json";
      r.body = "{\"error\": \"" + message + " " + kCutEuro;
      break;
    default:  // plain text that says it is UTF-8 and is not
      r.content_type = "text/plain; charset=utf-8";
      r.body = message + ": " + kLatin1 + " " + kSurrogateOverlong;
  }
}

// The error's own text when the body is {"error": "..."}; else the body as it was.
std::string error_message(const http::Response& r) {
  json j = json::parse(r.body, nullptr, false);
  if (j.is_object() && j.contains("error") && j["error"].is_string()) return j["error"].get<std::string>();
  return r.body;
}

json as_object_of_indices(const json& array) {
  json out = json::object();
  for (std::size_t i = 0; i < array.size(); ++i) out[std::to_string(i)] = array[i];
  return out;
}

}  // namespace

http::Response refusal(FaultDice& dice) {
  http::Response r;
  r.status = 400;
  broken_error(r, "Le projet ne peut pas \xc3\xaatre modifi\xc3\xa9 :", dice);
  return r;
}

void break_error_text(http::Response& response, FaultDice& dice) {
  if (response.status < 400) return;
  broken_error(response, error_message(response), dice);
}

void break_strings(http::Response& response, FaultDice& dice) {
  json body = json_body(response);
  if (body.is_discarded()) return;
  auto projects = projects_in(body);
  if (projects.empty()) return;
  Splicer splicer;
  for (json* p : projects) {
    json& project = *p;
    std::string name = project.value("name", json("")).is_string() ? project["name"].get<std::string>() : "";
    switch (dice.pick(4)) {
      case 0: project["name"] = name + " " + splicer.inside(kCutMidCharacter); break;
      case 1: project["description"] = splicer.inside(kLatin1); break;
      case 2: project["color"] = splicer.inside(kBadColor); break;
      default: project["name"] = splicer.inside(kSurrogateOverlong) + " " + name;
    }
  }
  set_body(response, body, splicer);
}

void wrong_types(http::Response& response, FaultDice& dice) {
  json body = json_body(response);
  if (body.is_discarded()) return;
  auto projects = projects_in(body);
  const bool listing = is_listing(body);
  constexpr std::size_t kListingVariants = 4, kProjectVariants = 10;
  const std::size_t variants = (listing ? kListingVariants : 0) + (projects.empty() ? 0 : kProjectVariants);
  if (variants == 0) return;
  std::size_t v = dice.pick(variants);
  if (listing && v < kListingVariants) {
    if (v == 0) body["data"] = as_object_of_indices(body["data"]);
    else if (v == 1) body["total"] = std::to_string(body.value("total", 0));
    else if (v == 2) body["page"] = std::to_string(body.value("page", 1));
    else body["per_page"] = true;
  } else {
    if (listing) v -= kListingVariants;
    json& p = *projects[dice.pick(projects.size())];
    switch (v) {
      case 0: p["id"] = p["id"].dump(); break;                      // "1000"
      case 1: p["name"] = 42; break;
      case 2: p["tag_ids"] = as_object_of_indices(p.value("tag_ids", json::array())); break;
      case 3: p["active"] = "yes"; break;
      case 4: p["updated_at"] = 1700000000; break;
      case 5: p["parent_project_id"] = json::array({p["id"]}); break;
      case 6: p["workspace_id"] = 1.5; break;
      case 7: p["client"] = "client"; break;
      case 8: p["rate"] = json::array({1, 2}); break;
      default: p["permissions"] = "view"; break;
    }
  }
  set_body(response, body, Splicer{});
}

void huge_numbers(http::Response& response, FaultDice& dice) {
  json body = json_body(response);
  if (body.is_discarded()) return;
  static const char* const kNumbers[] = {"9223372036854775807", "9223372036854775808", "18446744073709551615",
                                         "1e308", "-1", "-9223372036854775808", "99999999999999999999999"};
  static const char* const kListingFields[] = {"total", "page", "per_page"};
  static const char* const kProjectFields[] = {"id", "parent_project_id", "client_id", "workspace_id", "estimated_mins"};
  auto number = [&] { return std::string(kNumbers[dice.pick(std::size(kNumbers))]); };
  auto projects = projects_in(body);
  const bool listing = is_listing(body);
  if (!listing && projects.empty()) return;
  Splicer splicer;
  if (listing) body[kListingFields[dice.pick(std::size(kListingFields))]] = splicer.value(number());
  if (!projects.empty())
    (*projects[dice.pick(projects.size())])[kProjectFields[dice.pick(std::size(kProjectFields))]] = splicer.value(number());
  set_body(response, body, splicer);
}

void deep_nesting(http::Response& response, FaultDice& dice, std::size_t depth) {
  json body = json_body(response);
  if (body.is_discarded()) return;
  auto projects = projects_in(body);
  const bool listing = is_listing(body);
  if (!listing && projects.empty()) return;
  std::string deep;
  if (dice.coin(0.5)) {
    deep = std::string(depth, '[') + std::string(depth, ']');
  } else {
    deep.reserve(depth * 7 + 1);
    for (std::size_t i = 0; i < depth; ++i) deep += "{\"a\":";
    deep += "0" + std::string(depth, '}');
  }
  Splicer splicer;
  std::size_t where = dice.pick(listing ? 3 : 2);
  if (where == 2 || projects.empty()) body["meta"] = splicer.value(std::move(deep));
  else (*projects[dice.pick(projects.size())])[where == 0 ? "description" : "nested"] = splicer.value(std::move(deep));
  set_body(response, body, splicer);
}

void garbage_write(http::Response& response) {
  if (response.status < 200 || response.status > 299) return;
  if (response.status == 204) response.status = 200;
  response.content_type = "application/json";
  response.body = response.body.substr(0, response.body.size() / 3) + "<html>502 Bad Gateway</h";
}

}  // namespace focus::sim::hostile
