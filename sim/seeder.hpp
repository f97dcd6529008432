#pragma once
// Fills a SimState with deterministic, realistic data: for each workspace,
// clients, tags, users and groups, then `projects` projects with names,
// clients, tags, rates, fixed fees, estimates, date ranges, parent/child trees
// (up to four levels), archived, pinned and private ones, and members. The
// same seed always gives the same world. Single-threaded, at start-up.

#include "sim/sim_state.hpp"

#include <cstdint>
#include <map>
#include <random>
#include <vector>

namespace focus::sim {

class Seeder {
 public:
  explicit Seeder(std::uint64_t seed) : rng_(seed) {}

  void populate(SimState& state, Workspace& ws, std::int64_t projects);
  // One more project as another user would create it (also used by mutate and drift).
  model::Project& add_project(SimState& state, Workspace& ws, Timestamp created, bool allow_parent);
  // A random edit another user might make: rename, recolour, re-estimate...
  model::ProjectPatch random_patch(const Workspace& ws);
  std::mt19937_64& rng() { return rng_; }

 private:
  void add_reference_data(Workspace& ws);
  // The parts of add_project, in the order it calls them (see seeder.cpp).
  void random_effort(model::Project& p);
  void random_billing(model::Project& p, Timestamp created);
  void random_dates(model::Project& p, Timestamp created);
  void random_parent(const Workspace& ws, model::Project& p);
  model::ProjectMembers random_members(const Workspace& ws, const model::Project& p);
  std::string project_name();
  template <class T>
  const T& pick(const std::vector<T>& items) {
    return items[std::uniform_int_distribution<std::size_t>(0, items.size() - 1)(rng_)];
  }
  bool chance(double p) { return std::bernoulli_distribution(p)(rng_); }
  std::int64_t between(std::int64_t lo, std::int64_t hi) {
    return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng_);
  }

  std::mt19937_64 rng_;
  std::int64_t name_counter_ = 0;
  // Every project id added per workspace, for O(1) random picks (a std::map
  // has no random access, and walking it made seeding quadratic).
  std::map<WorkspaceKey, std::vector<model::Id>> ids_;
};

}  // namespace focus::sim
