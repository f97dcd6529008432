#include "daemon/notices.hpp"

#include "core/time.hpp"

#include <spdlog/spdlog.h>

namespace focus::daemon {

namespace asio = boost::asio;

namespace {

constexpr std::size_t kListedEdits = 5;  // in a grouped notification; the rest are counted

std::string project_words(const store::EditNotice& e) {
  return e.name.empty() ? "project " + std::to_string(e.project) : "'" + e.name + "'";
}

std::string show_command(const store::EditNotice& e) { return "focusctl edits show " + std::to_string(e.edit); }

// One edit alone: what happened to it, and the command that shows it.
std::pair<std::string, std::string> one_edit_words(const store::EditNotice& e) {
  if (e.state == "conflict")
    return {"Your change to " + project_words(e) + " conflicts with a change made on the server",
            "See both with: " + show_command(e)};
  return {"Your change to " + project_words(e) + " failed",
          (e.error.empty() ? std::string() : "The server said: " + e.error + "\n") + "See it with: " + show_command(e)};
}

std::pair<std::string, std::string> grouped_words(const std::vector<store::EditNotice>& edits) {
  std::string body;
  for (std::size_t i = 0; i < edits.size() && i < kListedEdits; ++i)
    body += edits[i].state + ": your change to " + project_words(edits[i]) + " (" + show_command(edits[i]) + ")\n";
  if (edits.size() > kListedEdits) body += "and " + std::to_string(edits.size() - kListedEdits) + " more\n";
  body += "All of them: focusctl edits list --state conflict,failed";
  return {std::to_string(edits.size()) + " edits need you", body};
}

std::uint8_t urgency_byte(config::Urgency u) {
  switch (u) {
    case config::Urgency::low: return 0;
    case config::Urgency::normal: return 1;
    case config::Urgency::critical: return 2;
  }
  return 1;
}

}  // namespace

Notices::Notices(asio::io_context& io, store::Database& db, store::Mirror& mirror, const config::Config& config,
                 std::function<std::string()> upstream_state)
    : log_(db), mirror_(mirror), config_(config), upstream_state_(std::move(upstream_state)), group_timer_(io) {}

void Notices::after_pass() {
  if (!config::notify_enabled(config_)) {
    waiting_.clear();  // turned off: what was found is not told later
    waiting_ids_.clear();
    return;
  }
  collect_edits();
  const std::string state = upstream_state_();
  tell_upstream(state);
  tell_stale(state);
}

// New conflicts and failures wait for the group window to end, so that a
// burst (a replay pass failing five edits) is one notification.
void Notices::collect_edits() {
  for (auto& e : log_.untold_edits()) {
    if (!waiting_ids_.insert(e.edit).second) continue;
    waiting_.push_back(std::move(e));
  }
  if (waiting_.empty() || group_armed_) return;
  group_armed_ = true;
  group_timer_.expires_after(kGroupWindow);
  group_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;  // cancelled: this object may be gone (a reload turned notifications off)
    group_armed_ = false;
    try {
      tell_edits();
    } catch (const std::exception& e) {
      spdlog::warn("telling the desktop about edits failed: {}", e.what());
    }
  });
}

void Notices::tell_edits() {
  if (waiting_.empty()) return;
  auto [summary, body] = waiting_.size() == 1 ? one_edit_words(waiting_.front()) : grouped_words(waiting_);
  std::vector<std::int64_t> ids(waiting_ids_.begin(), waiting_ids_.end());
  log_.mark_told(ids);  // first: a failed write tells nothing now, and all of it at the next pass
  send("edits", std::move(summary), std::move(body));
  waiting_.clear();
  waiting_ids_.clear();
}

void Notices::tell_upstream(const std::string& state) {
  if (state == "ok") log_.clear("unauthorized");
  if (state != "unauthorized" || log_.told_since("unauthorized")) return;
  log_.mark_told("unauthorized", now_utc());
  send("upstream", "focussync: the API key was refused",
       "The mirror is not being updated. Put a valid key where [upstream] api_key_file points (or run focusctl setup), "
       "then: systemctl --user reload focussync");
}

void Notices::tell_stale(const std::string& state) {
  const auto stale = stale_workspaces();
  if (stale.empty()) log_.clear("stale");
  if (stale.empty() || (state != "unreachable" && state != "bad_answers") || log_.told_since("stale")) return;
  log_.mark_told("stale", now_utc());
  std::string which;
  for (const auto& w : stale) which += (which.empty() ? "" : ", ") + w;
  send("stale", "focussync: the mirror is stale",
       "Workspace " + which + " has not synced for longer than [socket] stale_after, and the Focus API " +
           (state == "unreachable" ? "cannot be reached" : "answers what cannot be read (focusctl status says how)") +
           ". Reads still answer from the cache; edits are kept and sent when it is back.");
}

std::vector<std::string> Notices::stale_workspaces() {
  std::vector<std::string> out;
  for (const auto& w : config_.workspaces) {
    const auto synced = mirror_.sync_state({w.organization_id, w.workspace_id}).last_success_at;
    if (config::is_stale(config_.socket, synced, now_utc()))
      out.push_back(std::to_string(w.organization_id) + "/" + std::to_string(w.workspace_id));
  }
  return out;
}

void Notices::send(const std::string& slot, std::string summary, std::string body) {
  spdlog::info("desktop notification: {}", summary);
  notifier_.send({slot, std::move(summary), std::move(body), urgency_byte(config_.notify.urgency)});
}

}  // namespace focus::daemon
