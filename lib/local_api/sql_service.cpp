#include "local_api/sql_service.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace focus::local_api {

namespace asio = boost::asio;

namespace {

// A free coroutine, its parameters by value (see daemon_routes.cpp): it runs
// on the SQL thread, after the caller's frame has moved on to awaiting it.
asio::awaitable<store::SqlAnswer> query_on_sql_thread(store::SqlReader& reader, std::string query,
                                                      nlohmann::json params) {
  co_return reader.run(query, params);
}

}  // namespace

SqlService::SqlService(const std::string& cache_path, store::SqlLimits limits)
    : reader_(std::make_unique<store::SqlReader>(cache_path, limits)) {}

SqlService::~SqlService() {
  reader_->interrupt();
  thread_.join();
}

asio::awaitable<store::SqlAnswer> SqlService::run(std::string query, nlohmann::json params) {
  co_return co_await asio::co_spawn(
      thread_.get_executor(),
      query_on_sql_thread(*reader_, std::move(query), std::move(params)), asio::use_awaitable);
}

}  // namespace focus::local_api
