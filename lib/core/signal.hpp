#pragma once
// A broadcast wake-up for coroutines: any number of them wait (each with its
// own time limit) until notify_all() is called. Nothing is remembered: a
// notify with no waiter is lost, so a waiter checks its condition, then
// waits, then checks again (the change feed and long polls work this way).
// io_context thread only; the Signal must outlive its waiters.

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <functional>
#include <list>

namespace focus {

class Signal {
 public:
  // True when woken by notify_all(), false when the time ran out.
  boost::asio::awaitable<bool> wait_for(std::chrono::milliseconds limit);
  void notify_all();

 private:
  std::list<std::function<void()>> cancels_;
};

}  // namespace focus
