#pragma once
// Starting a coroutine that nobody awaits, without losing what it throws.
// Asio's `detached` token drops an exception on the floor (the coroutine simply
// vanishes); spawn_logged completes into a handler that logs it with `what`,
// so a connection or a background sync that failed says so. For .cpp files
// that use Asio already (it pulls in co_spawn). io_context thread only.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <spdlog/spdlog.h>

#include <exception>
#include <string>
#include <utility>

namespace focus {

// The text of an exception_ptr, for a log line ("unknown exception" when it
// is not a std::exception).
inline std::string exception_text(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    return x.what();
  } catch (...) {
    return "unknown exception";
  }
}

template <class Executor, class T>
void spawn_logged(Executor executor, boost::asio::awaitable<T> work, std::string what) {
  boost::asio::co_spawn(std::move(executor), std::move(work), [what = std::move(what)](std::exception_ptr e, auto&&...) {
    if (e) spdlog::error("{} failed: {}", what, exception_text(e));
  });
}

}  // namespace focus
