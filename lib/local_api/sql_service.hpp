#pragma once
// The socket's SQL thread: /v1/sql queries run here, one at a time, on the
// SqlReader's read-only connection, so a slow query (up to [sql] timeout)
// never holds the io thread, where every other request and the sync run.
// run() is awaited on the io thread and resumes there with the answer (or
// rethrows the reader's SqlRefused). The constructor opens the reader
// (throwing its SqlRefused); destruction interrupts a running query, skips
// the queued ones and joins the thread. Owned by LocalApi; run() from the io
// thread only.

#include "store/sql_reader.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>

#include <atomic>
#include <memory>
#include <string>

namespace focus::local_api {

class SqlService {
 public:
  SqlService(const std::string& cache_path, store::SqlLimits limits);
  ~SqlService();
  SqlService(const SqlService&) = delete;
  SqlService& operator=(const SqlService&) = delete;

  // Throws SqlRefused as the reader does. Cancelled (its client left: the
  // route is abandoned with its client), it throws operation_aborted at
  // once: the query is skipped if still queued, else stopped.
  boost::asio::awaitable<store::SqlAnswer> run(std::string query, nlohmann::json params);

 private:
  struct Job;
  void run_on_sql_thread(const std::shared_ptr<Job>& job, const std::string& query, const nlohmann::json& params);

  std::unique_ptr<store::SqlReader> reader_;  // used on the SQL thread only (interrupt(): any)
  std::atomic<bool> stopping_{false};
  boost::asio::thread_pool thread_{1};
};

}  // namespace focus::local_api
