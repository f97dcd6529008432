#include "sync/replayer.hpp"

#include "model/members.hpp"
#include "model/project_codec.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace focus::sync {

namespace asio = boost::asio;
using model::EditOp;
using nlohmann::json;
using store::EditRecord;
using store::EditState;

namespace {

upstream::RetryPolicy edit_backoff(const config::Sync& s) {
  upstream::RetryPolicy p;
  p.base = std::chrono::seconds(5);
  p.cap = std::max<std::chrono::milliseconds>(s.interval, std::chrono::seconds(5));
  return p;
}


std::string label(const EditRecord& e) {
  return "edit " + std::to_string(e.id) + " (" + std::string(to_text(e.op)) + " of project " +
         std::to_string(e.project_id) + ")";
}

// "field 'name': was "A" when edited, the server now has "B", the edit sets "C""
std::string describe_conflict(const std::vector<std::string>& fields, const EditRecord& e, const json& server) {
  const json wanted = e.op == EditOp::patch ? e.body : model::write_as_patch(e.body);
  auto value = [](const json& j, const std::string& k) { return j.contains(k) ? j.at(k).dump() : std::string("null"); };
  std::string out = "changed on the server since the edit was made: ";
  for (std::size_t i = 0; i < fields.size(); ++i) {
    const auto& f = fields[i];
    out += (i ? "; " : "") + std::string("field '") + f + "': was " + value(e.base.value_or(json::object()), f) +
           " when edited, the server now has " + value(server, f) + ", the edit sets " + value(wanted, f);
  }
  return out;
}

// Whether the server's project shows a flag operation as done.
bool flag_applied(EditOp op, const model::Project& p) {
  switch (op) {
    case EditOp::archive: return p.archived_at.has_value() || !p.active;
    case EditOp::unarchive: return !p.archived_at.has_value() && p.active;
    case EditOp::pin: return p.pinned;
    case EditOp::unpin: return !p.pinned;
    case EditOp::restore: return !p.deleted_at.has_value();
    default: return false;
  }
}

bool contains(const std::vector<model::UserMember>& users, model::Id id) {
  return std::any_of(users.begin(), users.end(), [&](const auto& u) { return u.user_id == id; });
}
bool contains(const std::vector<model::GroupMember>& groups, model::Id id) {
  return std::any_of(groups.begin(), groups.end(), [&](const auto& g) { return g.group_id == id; });
}

// Whether the members the server lists show a members operation as done
// (nullopt: the listing cannot tell, as for a role change).
std::optional<bool> members_applied(EditOp op, const json& body, const model::ProjectMembers& m) {
  if (op == EditOp::members_add) {
    auto add = model::decode_members_add(body);
    for (auto id : add.user_ids)
      if (!contains(m.user_ids, id)) return false;
    for (auto id : add.group_ids)
      if (!contains(m.group_ids, id)) return false;
    return true;
  }
  if (op == EditOp::members_remove) {
    auto removal = model::decode_member_removal(body);
    if (removal.user_id) return !contains(m.user_ids, *removal.user_id);
    if (removal.group_id) return !contains(m.group_ids, *removal.group_id);
  }
  return std::nullopt;
}

}  // namespace

Replayer::Replayer(upstream::FocusApi& api, store::EditQueue& queue, store::Mirror& mirror, const config::Sync& settings,
                   const Clock& clock)
    : api_(api), queue_(queue), mirror_(mirror), settings_(settings), clock_(clock), backoff_(edit_backoff(settings)) {}

asio::awaitable<ReplayReport> Replayer::replay(WorkspaceKey ws, std::function<bool()> may_spend) {
  ReplayReport report;
  const auto key = ws;
  report.compacted = static_cast<std::int64_t>(queue_.compact(key, clock_.now()).size());
  const auto spent_before = api_.counters().spent();
  // Every step settles its edit or pushes it past now, so the queue drains;
  // the bound only guards against a bug turning this into a busy loop.
  for (int guard = 0; guard < 100'000; ++guard) {
    auto ready = queue_.ready(key, clock_.now());
    if (ready.empty()) break;
    if (stopping_ || (may_spend && !may_spend())) break;
    auto next = co_await replay_one(ws, ready.front(), report);
    if (next == Next::stop) break;
  }
  report.requests = api_.counters().spent() - spent_before;
  co_return report;
}

void Replayer::mirror_changed(WorkspaceKey ws) { queue_.rebuild_overlays(ws); }

bool Replayer::has_ready(WorkspaceKey ws) { return !queue_.ready(ws, clock_.now()).empty(); }

std::optional<Timestamp> Replayer::next_due(WorkspaceKey ws) { return queue_.next_attempt_at(ws); }

asio::awaitable<Replayer::Next> Replayer::replay_one(WorkspaceKey ws, EditRecord e, ReplayReport& report) {
  if (e.state == EditState::unknown_outcome) co_return co_await read_back(ws, e, report);
  if (!apply_conflict_policy(e, report)) co_return Next::go_on;
  queue_.mark_in_flight(e.id, clock_.now());
  step("in_flight");
  auto answer = co_await send(ws, e);
  step("answered");
  auto next = settle_answer(e, answer, report);
  step("settled");
  co_return next;
}

bool Replayer::apply_conflict_policy(EditRecord& e, ReplayReport& report) {
  // None: it goes (a project gone: the server answers 404 and the edit fails with its words).
  auto standing = queue_.standing_conflict(e);
  if (!standing) return true;
  const auto& [fields, server] = *standing;
  switch (settings_.conflicts) {
    case config::ConflictPolicy::manual:
      queue_.settle_conflict(e, describe_conflict(fields, e, server), clock_.now());
      ++report.conflicts;
      return false;
    case config::ConflictPolicy::local_wins:
      spdlog::info("{}: local values win over the server's ({})", label(e), describe_conflict(fields, e, server));
      return true;
    case config::ConflictPolicy::remote_wins: {
      spdlog::info("{}: the server's values are kept ({})", label(e), describe_conflict(fields, e, server));
      queue_.rewrite(e, model::yield_fields(e.op, e.body, fields, server), server, "the server's values kept for fields in conflict",
                     clock_.now());
      auto updated = queue_.get(e.id);
      if (!updated || updated->state != EditState::pending) return false;  // nothing left to send
      e = *updated;
      return true;
    }
  }
  return true;
}

asio::awaitable<Replayer::Sent> Replayer::send(WorkspaceKey ws, const EditRecord& e) {
  auto as_sent = [](Result<void> r) -> Sent {
    if (!r) return r.error();
    return std::optional<model::Project>{};
  };
  const auto id = e.project_id;
  switch (e.op) {
    case EditOp::create: {
      auto body = model::decode_project_write(e.body);
      co_return co_await api_.create_project(ws, body);
    }
    case EditOp::update: {
      auto body = model::decode_project_write(e.body);
      co_return co_await api_.update_project(ws, id, body);
    }
    case EditOp::patch: {
      auto body = model::decode_project_patch(e.body);
      co_return co_await api_.patch_project(ws, id, body);
    }
    case EditOp::remove: co_return as_sent(co_await api_.delete_project(ws, id));
    case EditOp::archive: co_return as_sent(co_await api_.archive_project(ws, id));
    case EditOp::unarchive: co_return as_sent(co_await api_.unarchive_project(ws, id));
    case EditOp::restore: co_return as_sent(co_await api_.restore_project(ws, id));
    case EditOp::pin: co_return as_sent(co_await api_.pin_project(ws, id));
    case EditOp::unpin: co_return as_sent(co_await api_.unpin_project(ws, id));
    case EditOp::members_add: {
      auto body = model::decode_members_add(e.body);
      co_return as_sent(co_await api_.add_members(ws, id, body));
    }
    case EditOp::members_role: {
      auto body = model::decode_member_role_change(e.body);
      co_return as_sent(co_await api_.set_member_role(ws, id, body));
    }
    case EditOp::members_remove: {
      auto body = model::decode_member_removal(e.body);
      co_return as_sent(co_await api_.remove_member(ws, id, body));
    }
  }
  co_return make_error(Errc::bad_request, "unknown operation");
}

Replayer::Next Replayer::settle_answer(const EditRecord& e, const Sent& answer, ReplayReport& report) {
  if (!answer) return settle_error(e, answer.error(), report);
  const auto now = clock_.now();
  const auto& project = *answer;
  if (e.op == EditOp::create && !project) {
    // Created, but the id is not known: find it before anything else.
    queue_.settle_unknown(e, "the server accepted the create but its answer did not name the new project");
    return Next::go_on;
  }
  std::optional<store::FetchedProject> server;
  if (project) server = store::fetched(*project);
  // A create's answer names the user this key creates as: what tells its
  // own projects from other users' when a later create's answer is lost.
  if (e.op == EditOp::create && project->toggl_user_id)
    queue_.learn_own_user(e.workspace.organization_id, api_.key_id(), *project->toggl_user_id, now);
  auto note = e.op == EditOp::create ? "created as project " + std::to_string(project->id) : std::string("applied");
  queue_.settle_applied(e, server, std::nullopt, note, now);
  ++report.applied;
  spdlog::info("{}: {}", label(e), note);
  return Next::go_on;
}

Replayer::Next Replayer::settle_error(const EditRecord& e, const Error& error, ReplayReport& report) {
  const auto now = clock_.now();
  if (error.is(Errc::outcome_unknown)) {
    queue_.settle_unknown(e, error.message);
    spdlog::warn("{}: {}; it is read back before anything is sent again", label(e), error.message);
    return Next::go_on;
  }
  if (error.is(Errc::not_found) && e.op == EditOp::remove) {
    queue_.settle_applied(e, std::nullopt, std::nullopt, "already deleted on the server", now);
    ++report.applied;
    return Next::go_on;
  }
  if (error.is(Errc::bad_request) || error.is(Errc::forbidden) || error.is(Errc::not_found)) {
    queue_.settle_failed(e, error.message, now);
    ++report.failed;
    return Next::go_on;
  }
  if (error.is(Errc::server_error) || error.is(Errc::bad_payload) || error.is(Errc::bad_response)) {
    auto wait = std::max<std::chrono::milliseconds>(backoff_.delay(static_cast<int>(e.attempts)), std::chrono::seconds(1));
    queue_.settle_retry(e, error.message, now + wait, true);
    ++report.retried;
    spdlog::warn("{}: {}; tried again in {} s", label(e), error.message,
                 std::chrono::duration_cast<std::chrono::seconds>(wait).count());
    return Next::go_on;
  }
  // Quota spent, asked to slow down, refused credentials or no server: the
  // edit was not sent and waits, with everything after it, for better times.
  queue_.settle_retry(e, error.message, now, false);
  report.stopped = error;
  return Next::stop;
}

// ---------------------------------------------------------------------------
// Settling an unknown outcome by reading back

namespace {

// How far the server's clock may be from where its Date puts it, beyond the
// reading's own uncertainty, and how early a create's created_at may be
// stamped before the send we recorded (the in-flight mark comes first).
constexpr auto kClockSlack = std::chrono::seconds(2);
// Without any Date header from this organization yet: the local clock, and
// a wide margin for the clocks' difference.
constexpr auto kUnmeasuredSlack = std::chrono::minutes(10);

std::string id_list(const std::vector<model::Id>& ids) {
  std::string out;
  for (std::size_t i = 0; i < ids.size(); ++i) out += (i ? ", " : "") + std::to_string(ids[i]);
  return out;
}

}  // namespace

// From a little before the send to the longest the exchange could take
// after it, in the server's time.
Replayer::Window Replayer::create_window(const EditRecord& e) const {
  const Timestamp sent = e.sent_at.value_or(e.created_at);
  const auto exchange = std::chrono::duration_cast<std::chrono::microseconds>(api_.exchange_limit());
  auto reading = api_.server_clock().reading(e.workspace.organization_id);
  if (!reading) return {sent - kUnmeasuredSlack, sent + exchange + kUnmeasuredSlack, false};
  const auto slack = std::chrono::duration_cast<std::chrono::microseconds>(kClockSlack) + reading->uncertainty;
  const Timestamp at = reading->to_server(sent);
  return {at - slack, at + exchange + slack, true};
}

// The projects a create may have made: of the same name, created inside the
// window, not already another local create's result, and not made by
// another user when this key's user is known.
Replayer::CreateCandidates Replayer::created_among(const EditRecord& e, const std::vector<model::Project>& projects) {
  const auto window = create_window(e);
  const auto name = e.body.value("name", std::string());
  CreateCandidates found;
  found.own_user = queue_.own_user(e.workspace.organization_id, api_.key_id());
  for (const auto& p : projects) {
    if (p.name != name || !p.created_at || *p.created_at < window.from || *p.created_at > window.to) continue;
    if (queue_.is_claimed(e.workspace, p.id)) continue;
    if (found.own_user && p.toggl_user_id && *p.toggl_user_id != *found.own_user) continue;  // someone else's
    (model::edit_applied_to(EditOp::create, e.body, model::encode_project(p)) ? found.exact : found.edited).push_back(p);
  }
  return found;
}

// One project that carries the create's values, or one made by this key's
// own user, is it; none means it was not applied; anything else is for the
// user to settle: sending again would make a duplicate, and claiming one
// might take another user's project (and send the edits queued after the
// create to it).
Replayer::CreateFinding Replayer::conclude(const EditRecord& e, const CreateCandidates& found, const Window& window) const {
  CreateFinding out;
  if (found.size() == 0) return out;
  if (found.size() == 1) {
    const auto& p = found.exact.empty() ? found.edited.front() : found.exact.front();
    const bool ours = found.own_user && p.toggl_user_id == found.own_user;
    if (!found.exact.empty() || ours) {
      out.made = p;
      return out;
    }
  }
  for (const auto* list : {&found.exact, &found.edited})
    for (const auto& p : *list) out.ambiguous.push_back(p.id);
  std::sort(out.ambiguous.begin(), out.ambiguous.end());
  const std::string who = found.own_user ? "" : "; this key's user is not known yet";
  out.why = "the answer was lost and the server shows " +
            (found.size() == 1 ? "one project of that name, changed since, that it may have made: " + id_list(out.ambiguous)
                               : std::to_string(found.size()) + " projects of that name it may have made: " + id_list(out.ambiguous)) +
            " (created " + format_rfc3339(window.from) + " to " + format_rfc3339(window.to) + " by the server's clock" +
            (window.measured ? "" : ", not measured yet") + who + "); say which with `focusctl edits resolve " +
            std::to_string(e.id) + " --created-as ID`, or `--send-again` if none is it";
  return out;
}

// The mirror is asked first: a listing since the crash may already hold the
// project, and then the question costs no request (only with the server's
// clock measured: an unmeasured window is too wide to trust without asking).
asio::awaitable<Result<Replayer::CreateFinding>> Replayer::find_created(WorkspaceKey ws, const EditRecord& e) {
  const auto window = create_window(e);
  const auto name = e.body.value("name", std::string());
  std::vector<model::Project> known;
  // The window is in the server's time, as the mirror's created_at are.
  for (const auto& body : mirror_.bodies_named(e.workspace, name, window.from))
    known.push_back(model::decode_project(std::string_view(body)));
  if (window.measured) {
    auto in_mirror = conclude(e, created_among(e, known), window);
    if (in_mirror.made) co_return in_mirror;
  }

  upstream::ListParams params;
  params.name = name;
  params.archived = upstream::ArchivedFilter::all;
  params.paging.per_page = 200;
  params.paging.order_by = {"-created_at"};
  auto page = co_await api_.list_projects(ws, params);
  if (!page) co_return page.error();
  // The listing's own Date may have measured the clock for the first time.
  const auto listed_window = create_window(e);
  auto listed = created_among(e, page->data);
  if (spdlog::should_log(spdlog::level::debug)) {
    spdlog::debug("{}: read back: {} project(s) of that name listed, {} in the mirror; sent at {}; window {} to {}{}",
                  label(e), page->data.size(), known.size(),
                  e.sent_at ? format_rfc3339(*e.sent_at) : std::string("(never)"), format_rfc3339(listed_window.from),
                  format_rfc3339(listed_window.to), listed_window.measured ? "" : " (clock not measured)");
    for (const auto& p : page->data)
      spdlog::debug("{}: read back: candidate {} '{}' created {} by {}", label(e), p.id, p.name,
                    p.created_at ? format_rfc3339(*p.created_at) : std::string("(unknown)"),
                    p.toggl_user_id ? std::to_string(*p.toggl_user_id) : std::string("(unknown)"));
  }
  co_return conclude(e, listed, listed_window);
}

asio::awaitable<Replayer::Next> Replayer::read_back(WorkspaceKey ws, const EditRecord& e, ReplayReport& report) {
  const auto key = ws;
  auto not_applied = [&](const std::string& why) {
    queue_.settle_retry(e, "proven not applied (" + why + "); sent again", clock_.now(), false);
    spdlog::info("{}: proven not applied ({}); it is sent again", label(e), why);
    step("settled");
    return Next::go_on;
  };
  auto applied = [&](const std::optional<store::FetchedProject>& server, const std::string& note) {
    queue_.settle_applied(e, server, std::nullopt, note, clock_.now());
    ++report.applied;
    spdlog::info("{}: {}", label(e), note);
    step("settled");
    return Next::go_on;
  };

  if (e.op == EditOp::create) {
    auto found = co_await find_created(ws, e);
    if (!found) co_return read_back_failed(e, found.error(), report);
    if (found->made)
      co_return applied(store::fetched(*found->made), "proven applied: found as project " + std::to_string(found->made->id));
    if (!found->ambiguous.empty()) {
      queue_.settle_ambiguous(e, found->ambiguous, found->why, clock_.now());
      step("settled");
      co_return Next::go_on;
    }
    co_return not_applied("no project of that name was created when it was sent");
  }

  if (model::is_members_op(e.op)) {
    if (e.op == EditOp::members_role) co_return not_applied("a role change cannot be read back, and repeating it is harmless");
    auto members = co_await api_.list_members(ws, e.project_id);
    if (!members) co_return read_back_failed(e, members.error(), report);
    if (members_applied(e.op, e.body, *members).value_or(false)) co_return applied(std::nullopt, "proven applied by reading the members back");
    co_return not_applied("the members do not show it");
  }

  auto current = co_await api_.get_project(ws, e.project_id);
  if (!current) {
    if (current.error().is(Errc::not_found)) {
      if (e.op == EditOp::remove) co_return applied(std::nullopt, "proven applied: the project is gone");
      if (e.op == EditOp::restore) co_return not_applied("the project is still deleted");
      queue_.settle_failed(e, "the project no longer exists on the server", clock_.now());
      ++report.failed;
      step("settled");
      co_return Next::go_on;
    }
    co_return read_back_failed(e, current.error(), report);
  }
  auto server = store::fetched(*current);
  bool done = false;
  if (e.op == EditOp::patch || e.op == EditOp::update) done = model::edit_applied_to(e.op, e.body, json::parse(server.body));
  else if (e.op != EditOp::remove) done = flag_applied(e.op, *current);
  if (done) co_return applied(server, "proven applied by reading the project back");
  // What the server has now is the base the conflict check needs next.
  mirror_.upsert_one(key, server, clock_.now());
  co_return not_applied("the server's project does not show it");
}

Replayer::Next Replayer::read_back_failed(const EditRecord& e, const Error& error, ReplayReport& report) {
  // A refusal no retry can change: the edit cannot be settled here; it fails
  // with the server's words (and only it).
  if (error.is(Errc::bad_request) || error.is(Errc::forbidden)) {
    queue_.settle_failed(e, "it may or may not have been applied, and cannot be read back: " + error.message, clock_.now());
    ++report.failed;
    step("settled");
    return Next::go_on;
  }
  // Otherwise the edit stays unknown_outcome and the pass ends: the reads
  // were retried already, and nothing is sent while the server cannot answer.
  spdlog::warn("{}: could not read it back yet: {}", label(e), error.message);
  report.stopped = error;
  return Next::stop;
}

}  // namespace focus::sync
