#include "core/signal.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace focus {

namespace asio = boost::asio;

asio::awaitable<bool> Signal::wait_for(std::chrono::milliseconds limit) {
  asio::steady_timer timer(co_await asio::this_coro::executor, limit);
  bool woken = false;
  auto it = cancels_.insert(cancels_.end(), [&] {
    woken = true;
    timer.cancel();
  });
  co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  cancels_.erase(it);
  co_return woken;
}

void Signal::notify_all() {
  // A woken waiter removes its own entry; walk a copy.
  auto cancels = cancels_;
  for (auto& cancel : cancels) cancel();
}

}  // namespace focus
