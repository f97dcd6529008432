#pragma once
// A FocusApi wired to a real focus-sim process, for the upstream tests.

#include "model/workspace.hpp"
#include "support/sim_process.hpp"
#include "upstream/focus_api.hpp"

#include <boost/asio/io_context.hpp>

#include <memory>

namespace focus::test {

inline const std::string kKey = "toggl_sk_secret_7f3a9c1e5b";

struct Upstream {
  explicit Upstream(SimProcess& sim, http::ClientOptions options = {}, upstream::RetryPolicy retry = fast_retry(),
                    upstream::Credentials credentials = upstream::Credentials::api_key(kKey, "(test)"), bool tls = false) {
    if (options.base_url.empty()) options.base_url = sim.api_url(tls);
    client = std::make_unique<http::Client>(io, options);
    api = std::make_unique<upstream::FocusApi>(*client, credentials, quota, retry);
  }
  static upstream::RetryPolicy fast_retry() {
    upstream::RetryPolicy p;
    p.base = std::chrono::milliseconds(5);
    p.cap = std::chrono::milliseconds(20);
    return p;
  }
  template <class T>
  T operator()(boost::asio::awaitable<T> call) {
    return run(io, std::move(call));
  }

  boost::asio::io_context io;
  upstream::QuotaTracker quota;
  std::unique_ptr<http::Client> client;
  std::unique_ptr<upstream::FocusApi> api;
  WorkspaceKey ws{1, 1};
};

}  // namespace focus::test
