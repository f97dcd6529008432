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
//    project is listed as unchanged and none is decoded, with the same
//    page fields;
//  - an input of two pages split at "\n--\n": the second, read knowing the
//    digests of the first's projects, gets the same answer from decode_page
//    (which reads a page of known projects without its document) as from
//    its full reading.
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

// The digests a full reading of `learned_from` gave, as the mirror would
// hold them after storing its projects.
upstream::KnownDigest learned(const std::string& learned_from, std::multimap<model::Id, std::string>& store) {
  auto first = upstream::detail::decode_page_in_full(learned_from, false);
  if (first)
    for (std::size_t i = 0; i < first->data.size(); ++i)
      if (!first->digests[i].empty()) store.emplace(first->data[i].id, first->digests[i]);
  return [&store](model::Id id, std::string_view digest) {
    auto [from, to] = store.equal_range(id);
    if (from == to) return upstream::Known::not_held;
    for (auto it = from; it != to; ++it)
      if (it->second == digest) return upstream::Known::same_digest;
    return upstream::Known::other_digest;
  };
}

std::string with_unchanged(const Result<upstream::ProjectPage>& r) {
  std::string out = outcome(r);
  if (r)
    for (auto id : r->unchanged) out += " " + std::to_string(id);
  return out;
}

// An input holding two pages (split at the first "\n--\n"): the second is
// read knowing the digests of the first's projects, by decode_page (which
// reads a page of known projects without its document) and in full. Both
// must give the same answer: the same page fields, projects and unchanged
// ids, or both an error.
int two_pages(const std::string& input, std::size_t split) {
  std::multimap<model::Id, std::string> store;
  const auto known = learned(input.substr(0, split), store);
  const std::string second = input.substr(split + 4);
  auto quick = upstream::detail::decode_page(second, false, known);
  auto full = upstream::detail::decode_page_in_full(second, false, known);
  if (with_unchanged(quick) != with_unchanged(full))
    broken("a page of known projects read without its document differs from its full reading",
           with_unchanged(quick) + "\n--\n" + with_unchanged(full));
  return 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string body(reinterpret_cast<const char*>(data), size);
  if (const auto split = body.find("\n--\n"); split != std::string::npos) return two_pages(body, split);
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
  if (again->page != quick->page || again->per_page != quick->per_page || again->total != quick->total)
    broken("a page of known projects gives other page fields", outcome(again) + "\n--\n" + outcome(quick));
  return 0;
}
