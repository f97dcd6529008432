// Fuzzes the listing page decoder (upstream::detail::decode_page: simdjson,
// each project decoded straight from its document, digests of the objects'
// text as sent) against the nlohmann reading of the same bytes. The input is the
// answer's body. Checks:
//  - both readings agree: the same page fields and projects, or both refuse;
//  - each decoded project's canonical text is nlohmann's sorted compact dump
//    of encode_project, and a fixed point (decoded again, the same project);
//  - read again with no project held, or each held with another digest,
//    the same projects are decoded with the same digests;
//  - read again with every digest the first reading gave known, every
//    project is listed as unchanged and none is decoded.
#include "model/project_codec.hpp"
#include "upstream/answer.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

using namespace focus;

namespace {

[[noreturn]] void broken(const char* what, const std::string& detail) {
  std::fprintf(stderr, "property broken: %s\n%s\n", what, detail.c_str());
  std::abort();
}

std::string outcome(const Result<upstream::ProjectPage>& r) {
  if (!r) return "refused";
  std::string out = std::to_string(r->page) + "/" + std::to_string(r->per_page) + "/" +
                    (r->total ? std::to_string(*r->total) : "-");
  for (const auto& p : r->data) out += "\n" + model::canonical_json(p);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string body(reinterpret_cast<const char*>(data), size);
  auto quick = upstream::detail::decode_page(body, false);
  auto slow = upstream::detail::decode_page_by_nlohmann(body, false);
  if (outcome(quick) != outcome(slow)) broken("simdjson and nlohmann read the page differently", outcome(quick) + "\n--\n" + outcome(slow));
  if (!quick) return 0;
  for (const auto& p : quick->data) {
    const std::string canonical = model::canonical_json(p);
    if (canonical != model::encode_project(p).dump()) broken("canonical text is not encode_project's dump", canonical);
    if (model::decode_project(std::string_view(canonical)) != p) broken("canonical text is not a fixed point", canonical);
  }
  if (quick->digests.size() != quick->data.size()) broken("a digest per decoded project", std::to_string(quick->digests.size()));
  // Told that no project is held, or that each is held with another
  // digest (its minified text's too), the page decodes exactly what the
  // first reading did, with the same digests.
  for (auto answer : {upstream::Known::not_held, upstream::Known::other_digest}) {
    auto unknown = upstream::detail::decode_page(body, false, [answer](model::Id, std::string_view) { return answer; });
    if (outcome(unknown) != outcome(quick) || !unknown->unchanged.empty() || unknown->digests != quick->digests)
      broken("a page read with nothing known decodes otherwise", outcome(unknown));
  }
  std::multimap<model::Id, std::string> known;
  for (std::size_t i = 0; i < quick->data.size(); ++i) known.emplace(quick->data[i].id, quick->digests[i]);
  auto again = upstream::detail::decode_page(body, false, [&](model::Id id, std::string_view digest) {
    auto [from, to] = known.equal_range(id);
    if (from == to) return upstream::Known::not_held;
    for (auto it = from; it != to; ++it)
      if (it->second == digest) return upstream::Known::same_digest;
    return upstream::Known::other_digest;
  });
  if (!again) broken("a page read once is refused the second time", again.error().message);
  if (!quick->digests.empty() && quick->digests.front().empty()) return 0;  // read by the fallback: no digests
  if (!again->data.empty() || again->unchanged.size() != quick->data.size())
    broken("known digests did not make every project unchanged", std::to_string(again->data.size()));
  return 0;
}
