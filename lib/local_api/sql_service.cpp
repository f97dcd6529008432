#include "local_api/sql_service.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <optional>

namespace focus::local_api {

namespace asio = boost::asio;

// One query's way through the SQL thread. The io thread waits on `done`
// (a timer that never fires by itself, cancelled when the answer is in),
// so that the wait can be cancelled like any other: its client left.
struct SqlService::Job {
  enum State { queued, running, finished, abandoned };
  explicit Job(asio::any_io_executor io) : done(std::move(io), asio::steady_timer::time_point::max()) {}
  std::atomic<int> state{queued};
  std::atomic<bool> client_left{false};  // this query's own stop (SqlReader::run)
  asio::steady_timer done;  // io thread only
  std::optional<store::SqlAnswer> answer;
  std::exception_ptr failure;
};

SqlService::SqlService(const std::string& cache_path, store::SqlLimits limits)
    : reader_(std::make_unique<store::SqlReader>(cache_path, limits)) {}

SqlService::~SqlService() {
  stopping_ = true;  // the queries still queued do not run
  reader_->interrupt();
  thread_.join();
}

void SqlService::run_on_sql_thread(const std::shared_ptr<Job>& job, const std::string& query,
                                   const nlohmann::json& params) {
  int expected = Job::queued;
  if (stopping_ || !job->state.compare_exchange_strong(expected, Job::running)) return;  // abandoned or stopping
  try {
    job->answer = reader_->run(query, params, &job->client_left);
  } catch (...) {
    job->failure = std::current_exception();
  }
  job->state = Job::finished;
}

asio::awaitable<store::SqlAnswer> SqlService::run(std::string query, nlohmann::json params) {
  auto job = std::make_shared<Job>(co_await asio::this_coro::executor);
  asio::post(thread_, [this, job, query = std::move(query), params = std::move(params)] {
    run_on_sql_thread(job, query, params);
    // Back on the io thread, whose timer it is; a stopping daemon may have
    // stopped running it, and then nobody waits.
    asio::post(job->done.get_executor(), [job] { job->done.cancel(); });
  });
  co_await job->done.async_wait(asio::as_tuple(asio::use_awaitable));
  if (job->state == Job::finished) {
    if (job->failure) std::rethrow_exception(job->failure);
    co_return std::move(*job->answer);
  }
  // Cancelled before the answer came (the client left): a query still
  // queued is skipped, one running is stopped by its own flag (never the
  // next one: the flag is this job's).
  job->client_left = true;
  job->state.exchange(Job::abandoned);
  throw boost::system::system_error(asio::error::operation_aborted);
}

}  // namespace focus::local_api
