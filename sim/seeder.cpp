#include "sim/seeder.hpp"

#include <array>
#include <map>

namespace focus::sim {
namespace {

using model::Id;
using model::Project;
using namespace std::chrono;

const std::vector<std::string> kAreas = {"Website", "Mobile app", "Brand", "Onboarding", "Billing",
                                          "Data platform", "Support portal", "Marketing site",
                                          "Analytics", "Checkout", "Search", "Infrastructure",
                                          "Design system", "Newsletter", "Partner API", "Recruiting"};
const std::vector<std::string> kWork = {"redesign", "launch", "audit", "migration", "maintenance",
                                         "research", "refresh", "rollout", "QA", "discovery",
                                         "localisation", "performance", "retainer", "prototype"};
const std::vector<std::string> kClients = {"Acme Corp", "Globex", "Initech", "Umbrella Health",
                                            "Stark Logistics", "Wayne Foundation", "Tyrell Labs",
                                            "Nakatomi Trading", "Hooli", "Vandelay Imports",
                                            "Soylent Foods", "Cyberdyne", "Monarch Travel",
                                            "Oceanic Air", "Wonka Sweets", "Gringotts Finance"};
const std::vector<std::string> kTags = {"design", "development", "meetings", "billable", "internal",
                                         "urgent", "research", "support", "ops", "content",
                                         "legal", "sales"};
const std::vector<std::string> kColors = {"#06aaf5", "#c56bff", "#ea468d", "#fb8b14", "#c7741c",
                                           "#4dc3ff", "#bc2d07", "#2da608", "#06a893", "#d92b2b",
                                           "#9e5bd9", "#0b83d9", "#465bb3", "#990099", "#525266"};
const std::vector<std::string> kDescriptions = {"Quarterly engagement", "Fixed scope, see contract",
                                                 "Ongoing support", "Internal initiative",
                                                 "Phase 2 of the rollout", "Ünïcødé — café, naïve, 日本"};
// The seeded world is anchored here, not at "now", so one seed gives one world.
const Timestamp kEpoch = sys_days{2024y / January / 1};

}  // namespace

void Seeder::add_reference_data(Workspace& ws) {
  Id base = ws.key.workspace_id * 1000;
  for (std::size_t i = 0; i < kClients.size(); ++i) ws.clients[base + 100 + Id(i)] = kClients[i];
  for (std::size_t i = 0; i < kTags.size(); ++i) {
    Id id = base + 300 + Id(i);
    ws.tags[id] = model::Tag{id, kTags[i], kColors[i % kColors.size()]};
  }
  for (Id u = 0; u < 24; ++u) ws.users.push_back(base + 500 + u);
  for (Id g = 0; g < 4; ++g) ws.groups.push_back(base + 900 + g);
}

std::string Seeder::project_name() {
  return pick(kAreas) + " " + pick(kWork) + " " + std::to_string(++name_counter_);
}

// add_project and the random_* parts it calls draw on rng_ in a fixed order
// (the order of the calls and of the draws within each): that order is what
// makes one seed give one world, so keep it when changing any of them.

// Estimate and tracked time (tracked up to 130 % of the estimate), and a task estimate.
void Seeder::random_effort(Project& p) {
  if (chance(0.6)) {
    p.estimated_mins = between(10, 200) * 60;
    p.total_tracked_time = between(0, *p.estimated_mins * 78);  // up to 130 % of the estimate, in seconds
  } else {
    p.total_tracked_time = between(0, 100) * 1800;
  }
  if (chance(0.2)) p.task_estimated_mins = between(1, 40) * 30;
}

// A fixed fee and an hourly rate, each for some projects.
void Seeder::random_billing(Project& p, Timestamp created) {
  if (chance(0.15)) p.fixed_fee = model::FixedFee{double(between(10, 400) * 50), chance(0.5) ? "EUR" : "USD"};
  if (chance(0.4)) {
    model::Rate rate;
    rate.billable = true;
    rate.currency = chance(0.5) ? "EUR" : "USD";
    rate.hourly_rate = double(between(40, 160));
    rate.project_created_at = created;
    rate.start_at = created;
    rate.project_rate_id = p.id * 10;
    p.rate = rate;
  }
}

// A start date within 300 days of creation, and mostly an end 2 to 52 weeks on.
void Seeder::random_dates(Project& p, Timestamp created) {
  if (chance(0.5)) {
    auto start = floor<days>(created) + days(between(0, 300));
    p.start_date = year_month_day{start};
    if (chance(0.8)) p.end_date = year_month_day{start + days(between(14, 365))};
  }
}

// A parent among the live projects, keeping trees at most four levels deep.
void Seeder::random_parent(const Workspace& ws, Project& p) {
  const auto& known = ids_[ws.key];
  if (known.size() > 4 && chance(0.25)) {
    const Project& candidate = ws.projects.at(pick(known));
    int depth = 0;
    for (auto up = candidate.parent_project_id; up; up = ws.projects.at(*up).parent_project_id) ++depth;
    if (depth < 3 && !candidate.deleted_at) p.parent_project_id = candidate.id;
  }
}

// The creator as manager, up to three other users, and sometimes a group.
model::ProjectMembers Seeder::random_members(const Workspace& ws, const Project& p) {
  model::ProjectMembers members{p.id, {{*p.toggl_user_id, true}}, {}};
  for (int i = between(0, 3); i > 0; --i) {
    Id u = pick(ws.users);
    if (u != *p.toggl_user_id && std::none_of(members.user_ids.begin(), members.user_ids.end(),
                                              [&](auto& m) { return m.user_id == u; }))
      members.user_ids.push_back({u, false});
  }
  if (chance(0.3)) members.group_ids.push_back({pick(ws.groups), std::nullopt});
  return members;
}

Project& Seeder::add_project(SimState& state, Workspace& ws, Timestamp created, bool allow_parent) {
  Project p;
  p.id = state.next_project_id();
  p.workspace_id = ws.key.workspace_id;
  p.name = project_name();
  p.created_at = created;
  p.updated_at = created + seconds(between(0, 200 * 86400));
  p.toggl_user_id = pick(ws.users);
  p.permissions = {"view", "edit"};
  p.billable = chance(0.5);
  p.is_private = chance(0.2);
  p.pinned = chance(0.06);
  p.auto_compute_estimates = chance(0.3);
  p.color = pick(kColors);
  if (chance(0.5)) p.description = pick(kDescriptions);
  if (chance(0.8)) p.client_id = std::next(ws.clients.begin(), between(0, ws.clients.size() - 1))->first;
  for (auto& [id, tag] : ws.tags)
    if (chance(0.15)) p.tag_ids.push_back(id);
  random_effort(p);
  random_billing(p, created);
  random_dates(p, created);
  if (allow_parent) random_parent(ws, p);
  if (chance(0.12)) {
    p.active = false;
    p.archived_at = p.updated_at;
  }
  state.resolve_references(ws, p);
  ws.members[p.id] = random_members(ws, p);
  Id id = p.id;
  ids_[ws.key].push_back(id);
  return ws.projects[id] = std::move(p);
}

void Seeder::populate(SimState& state, Workspace& ws, std::int64_t projects) {
  add_reference_data(ws);
  for (std::int64_t i = 0; i < projects; ++i)
    add_project(state, ws, kEpoch + minutes(i * 7 + between(0, 6)), true);
}

model::ProjectPatch Seeder::random_patch(const Workspace& ws) {
  model::ProjectPatch patch;
  switch (between(0, 4)) {
    case 0: patch.name = model::PatchField<std::string>::of(project_name()); break;
    case 1: patch.color = model::PatchField<std::string>::of(pick(kColors)); break;
    case 2: patch.estimated_mins = model::PatchField<std::int64_t>::of(between(10, 200) * 60); break;
    case 3: patch.description = model::PatchField<std::string>::of(pick(kDescriptions) + " (edited)"); break;
    default:
      patch.client_id = model::PatchField<Id>::of(std::next(ws.clients.begin(), between(0, ws.clients.size() - 1))->first);
      break;
  }
  return patch;
}

}  // namespace focus::sim
