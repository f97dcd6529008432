#pragma once
// Test support: the sync engine's real parts over a real focus-sim and a
// real SQLite file in a temp folder, built as focussyncd builds them (client,
// Focus API, cache, mirror, edit queue, puller, members, replayer), for the
// puller, replayer and scheduler tests to add their own helpers to. The
// folder is removed with the object. Test thread only.

#include "http/client.hpp"
#include "store/database.hpp"
#include "store/edit_queue.hpp"
#include "store/mirror.hpp"
#include "support/sim_process.hpp"
#include "sync/members_sync.hpp"
#include "sync/puller.hpp"
#include "sync/replayer.hpp"

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace focus::test {

struct SyncPartsOptions {
  std::vector<std::string> sim_args;
  config::Sync settings;
  std::optional<std::chrono::milliseconds> total_timeout;  // the HTTP client's; its default otherwise
  std::optional<upstream::RetryPolicy> retry;               // the Focus API's; its default otherwise
  std::string dir_prefix = "focus-sync-";
};

struct SyncParts {
  explicit SyncParts(SyncPartsOptions o)
      : sim(std::move(o.sim_args)), dir(make_temp_dir(o.dir_prefix)), settings(std::move(o.settings)) {
    http::ClientOptions options;
    options.base_url = sim.api_url();
    if (o.total_timeout) options.total_timeout = *o.total_timeout;
    client = std::make_unique<http::Client>(io, options);
    api = std::make_unique<upstream::FocusApi>(*client, upstream::Credentials::api_key("k", "(test)"), quota,
                                               o.retry.value_or(upstream::RetryPolicy{}));
    db = std::make_unique<store::Database>(dir + "/cache.db");
    mirror = std::make_unique<store::Mirror>(*db);
    queue = std::make_unique<store::EditQueue>(*db, *mirror);
    puller = std::make_unique<sync::Puller>(*api, *mirror, settings);
    members = std::make_unique<sync::MembersSync>(*api, *mirror, settings);
    replayer = std::make_unique<sync::Replayer>(*api, *queue, *mirror, settings);
  }
  ~SyncParts() { std::filesystem::remove_all(dir); }
  SyncParts(const SyncParts&) = delete;
  SyncParts& operator=(const SyncParts&) = delete;

  SimProcess sim;
  std::string dir;
  config::Sync settings;  // the parts hold references to it: change it in place
  boost::asio::io_context io;
  upstream::QuotaTracker quota;
  std::unique_ptr<http::Client> client;
  std::unique_ptr<upstream::FocusApi> api;
  std::unique_ptr<store::Database> db;
  std::unique_ptr<store::Mirror> mirror;
  std::unique_ptr<store::EditQueue> queue;
  std::unique_ptr<sync::Puller> puller;
  std::unique_ptr<sync::MembersSync> members;
  std::unique_ptr<sync::Replayer> replayer;
};

}  // namespace focus::test
