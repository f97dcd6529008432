#include "sync/puller.hpp"

#include "core/heap.hpp"
#include "upstream/answer.hpp"

#include <spdlog/spdlog.h>

namespace focus::sync {

using model::ChangeKind;
namespace {

// Up to this many missing projects are never "suspect": a workspace of 20
// that loses 3 is ordinary, not a broken listing.
constexpr std::int64_t kSuspectFloor = 5;

}  // namespace

void Puller::record_attempt(WorkspaceKey ws, std::int64_t requests) {
  auto& quota = api_.quota();
  auto snap = quota.snapshot(ws.organization_id);
  std::optional<Timestamp> resets;
  if (snap.resets_at) resets = quota.clock().wall_time_of(*snap.resets_at);  // on the tracker's clock
  mirror_.record_attempt(ws, clock_.now(), requests, snap.remaining, resets);
}

boost::asio::awaitable<Result<PullReport>> Puller::full_sync(WorkspaceKey ws, Progress progress,
                                                            std::function<bool()> may_spend) {
  // Huge pages for the listing's fresh memory (core/heap.hpp), and its page
  // buffers given back before the scope hands free memory back: kept, they
  // would hold whole huge pages of which a listing writes a part.
  struct ListingMemory {
    BulkMemory bulk;
    ~ListingMemory() { upstream::detail::release_page_buffers(); }
  } const listing_memory;
  PullReport report;
  const auto spent_before = api_.counters().spent();
  // Resume a paused listing unless it is so old that a fresh one is better.
  auto resumed = resume_.find(ws);
  if (resumed == resume_.end() || clock_.steady_now() - resumed->second.started > settings_.full_listing_max_age) {
    mirror_.clear_staging(ws);
    resume_[ws] = Resume{1, clock_.steady_now(), {}};
  }
  auto listed = co_await list_into_staging(ws, report, progress, may_spend);
  if (!listed || !*listed) {
    report.requests = api_.counters().spent() - spent_before;
    record_attempt(ws, report.requests);
    if (!listed) {
      mirror_.record_error(ws, listed.error().message);
      co_return listed.error();
    }
    report.paused = true;
    co_return report;
  }
  // A copy: should the reconcile fail (a full disk, say), its rollback keeps
  // the staging, and the next pass resumes with these ids still known.
  auto outcome = mirror_.reconcile(ws, clock_.now(), resume_[ws].unchanged);
  resume_.erase(ws);
  step("reconciled");
  report.inserted = outcome.inserted;
  report.updated = outcome.updated;
  report.restored = outcome.restored;
  const auto missing = static_cast<std::int64_t>(outcome.missing.size());
  const bool mass = missing > kSuspectFloor && missing > settings_.delete_guard_share * static_cast<double>(outcome.live_before);
  // A mass disappearance is believed only when two listings in a row agree.
  std::optional<std::int64_t> held;
  if (mass && mirror_.sync_state(ws).held_missing != missing) {
    held = missing;
    report.suspect = std::to_string(missing) + " of " + std::to_string(outcome.live_before) +
                     " projects are missing from the listing; their deletion is held until the next listing agrees";
    report.held_deletions = missing;
    spdlog::warn("workspace {}/{}: {}", ws.organization_id, ws.workspace_id, *report.suspect);
  } else if (missing > 0) {
    co_await confirm_missing(ws, outcome.missing, report);
  }
  report.requests = api_.counters().spent() - spent_before;
  report.projects = mirror_.live_count(ws);
  record_attempt(ws, report.requests);
  mirror_.record_success(ws, clock_.now(), true, report.suspect, held);
  step("recorded");
  co_return report;
}

boost::asio::awaitable<Result<ProbeReport>> Puller::probe(WorkspaceKey ws) {
  ProbeReport report;
  const auto spent_before = api_.counters().spent();
  const auto state = mirror_.sync_state(ws);
  upstream::ListParams params;
  params.archived = upstream::ArchivedFilter::all;
  params.include_rates = true;
  params.paging.order_by = {"-updated_at"};
  params.paging.page = 1;
  params.paging.per_page = state.per_page_cap.value_or(settings_.per_page);
  auto answer = co_await api_.list_projects(ws, params);
  report.requests = api_.counters().spent() - spent_before;
  record_attempt(ws, report.requests);
  if (!answer) {
    mirror_.record_error(ws, answer.error().message);
    co_return answer.error();
  }
  auto& data = answer->data;
  for (std::size_t i = 1; i < data.size(); ++i)
    if (data[i - 1].updated_at < data[i].updated_at) {
      report.order_honoured = false;
      report.needs_full_listing = "the server did not order the probe by updated_at; using full listings";
      mirror_.record_probe_note(ws, report.needs_full_listing);
      co_return report;
    }
  if (state.probe_note) mirror_.record_probe_note(ws, std::nullopt);  // ordered again: trusted again
  // Everything on the page at or after the newest change we know of is news
  // (or a re-read of it, which changes nothing).
  std::int64_t newer = 0;
  for (std::size_t i = 0; i < data.size(); ++i) {
    const auto& p = data[i];
    bool news = !state.newest_updated_at || !p.updated_at || *p.updated_at >= *state.newest_updated_at;
    if (!news) break;
    ++newer;
    auto kind = mirror_.upsert_one(ws, store::fetched(p, answer->digests[i]), clock_.now());
    step("upserted");
    if (kind == ChangeKind::insert) ++report.inserted;
    else if (kind == ChangeKind::update) ++report.updated;
    else if (kind == ChangeKind::restore) ++report.restored;
  }
  const auto live = mirror_.live_count(ws);
  const auto total = answer->total.value_or(live);
  if (newer == static_cast<std::int64_t>(data.size()) && total > newer)
    report.needs_full_listing = "more projects changed than one probe page holds";
  else if (total < live)
    report.needs_full_listing = std::to_string(live - total) + " project(s) deleted upstream";
  else if (total > live)
    report.needs_full_listing = "the server lists " + std::to_string(total - live) + " project(s) the mirror lacks";
  if (!report.needs_full_listing) {
    mirror_.record_success(ws, clock_.now(), false, state.suspect, state.held_missing);
    step("recorded");
  }
  co_return report;
}

// Answers true when the listing is complete, false when it paused.
boost::asio::awaitable<Result<bool>> Puller::list_into_staging(WorkspaceKey ws, PullReport& report,
                                                               const Progress& progress,
                                                               const std::function<bool()>& may_spend) {
  Resume& resume = resume_[ws];
  upstream::ListParams params;
  params.archived = upstream::ArchivedFilter::all;
  params.include_rates = true;
  params.paging.order_by = {"id"};
  std::int64_t per_page = mirror_.sync_state(ws).per_page_cap.value_or(settings_.per_page);
  std::int64_t expected = 0;
  // What the mirror holds as last listed: a project listed the same way is
  // not decoded, staged or compared again (a no-change listing writes no row).
  const store::KnownDigests digests = mirror_.listing_digests(ws);
  const upstream::KnownDigest known = [&digests](model::Id id, std::string_view digest) {
    const auto held = digests.digest_of(id);
    if (!held) return upstream::Known::not_held;
    return *held == digest ? upstream::Known::same_digest : upstream::Known::other_digest;
  };
  for (std::int64_t page = resume.next_page;; ++page) {
    resume.next_page = page;  // a pause or a failure resumes here
    if (may_spend && !may_spend()) co_return false;
    params.paging.page = page;
    params.paging.per_page = per_page;
    auto answer = co_await api_.list_projects(ws, params, known);
    if (!answer) co_return answer.error();
    ++report.pages;
    if (answer->per_page > 0 && answer->per_page < per_page) {
      // The server serves fewer per page than asked; offsets follow its size.
      spdlog::info("workspace {}/{}: the server caps per_page at {}", ws.organization_id, ws.workspace_id,
                   answer->per_page);
      mirror_.record_per_page_cap(ws, answer->per_page);
      per_page = answer->per_page;
    }
    std::vector<store::FetchedProject> fetched;
    fetched.reserve(answer->data.size());
    for (std::size_t i = 0; i < answer->data.size(); ++i)
      fetched.push_back(store::fetched(std::move(answer->data[i]), std::move(answer->digests[i])));
    mirror_.stage(ws, fetched);
    resume.unchanged.insert(resume.unchanged.end(), answer->unchanged.begin(), answer->unchanged.end());
    report.unchanged += static_cast<std::int64_t>(answer->unchanged.size());
    step("staged");
    // Both are range-checked at decode (total within 0..1e9); the page count
    // is still computed without a sum or product that could overflow.
    const std::int64_t total = answer->total.value_or(0);
    expected = per_page > 0 ? total / per_page + (total % per_page != 0 ? 1 : 0) : 0;
    if (progress) progress(report.pages, expected);
    if (answer->listed() < per_page || page >= expected) co_return true;
  }
}

// Each candidate is asked for by id. Stops quietly when the quota (or any
// other failure) says so: the rest stay candidates for the next run.
boost::asio::awaitable<void> Puller::confirm_missing(WorkspaceKey ws, const std::vector<model::Id>& missing,
                                                     PullReport& report) {
  for (std::size_t i = 0; i < missing.size(); ++i) {
    auto answer = co_await api_.get_project(ws, missing[i]);
    if (answer) {
      auto kind = mirror_.upsert_one(ws, store::fetched(std::move(*answer)), clock_.now());
      if (kind == ChangeKind::update) ++report.updated;
      continue;
    }
    if (answer.error().is(Errc::not_found)) {
      if (mirror_.confirm_deleted(ws, missing[i], clock_.now())) ++report.deleted;
      step("deleted");
      continue;
    }
    report.held_deletions = static_cast<std::int64_t>(missing.size() - i);
    spdlog::info("workspace {}/{}: {} missing project(s) left to confirm ({})", ws.organization_id, ws.workspace_id,
                 report.held_deletions, answer.error().message);
    co_return;
  }
}

}  // namespace focus::sync
