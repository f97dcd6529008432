#include "daemon/desktop_notifier.hpp"

#include <spdlog/spdlog.h>
#include <systemd/sd-bus.h>

#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <poll.h>
#include <sys/eventfd.h>
#include <thread>
#include <unistd.h>

namespace focus::daemon {

namespace {

constexpr const char* kService = "org.freedesktop.Notifications";
constexpr const char* kPath = "/org/freedesktop/Notifications";
constexpr std::uint64_t kCallTimeoutUs = 5'000'000;

std::string errno_text(int r) { return std::string(std::strerror(-r)); }

}  // namespace

struct DesktopNotifier::Impl {
  std::mutex mutex;
  std::deque<DesktopNotification> queue;  // guarded by mutex
  bool stopping = false;                  // guarded by mutex
  int wake_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  // The thread's own, below.
  sd_bus* bus = nullptr;
  sd_bus_slot* closed_match = nullptr;
  std::map<std::string, std::uint32_t> shown;  // slot -> the id the server gave
  bool told_unavailable = false;
  std::thread thread;  // started at the first notification (guarded by mutex)

  ~Impl() {
    {
      std::lock_guard lock(mutex);
      stopping = true;
    }
    wake();
    if (thread.joinable()) thread.join();
    sd_bus_slot_unref(closed_match);
    sd_bus_flush_close_unref(bus);
    ::close(wake_fd);
  }

  void wake() {
    const std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake_fd, &one, sizeof one);
  }

  void unavailable(const std::string& why) {
    if (!told_unavailable)
      spdlog::info("desktop notifications are not shown: {} (they are tried again at the next event; [notify] enabled = "
                   "false turns them off)", why);
    told_unavailable = true;
  }

  static int on_closed(sd_bus_message* m, void* self, sd_bus_error*) {
    std::uint32_t id = 0, reason = 0;
    if (sd_bus_message_read(m, "uu", &id, &reason) < 0) return 0;
    auto& shown = static_cast<Impl*>(self)->shown;
    std::erase_if(shown, [id](const auto& entry) { return entry.second == id; });
    return 0;
  }

  bool open_bus() {
    if (bus) return true;
    if (int r = sd_bus_open_user(&bus); r < 0) {
      bus = nullptr;
      unavailable("no session bus (" + errno_text(r) + ")");
      return false;
    }
    sd_bus_match_signal(bus, &closed_match, kService, kPath, kService, "NotificationClosed", &Impl::on_closed, this);
    return true;
  }

  void drop_bus() {
    closed_match = sd_bus_slot_unref(closed_match);
    bus = sd_bus_flush_close_unref(bus);
    shown.clear();
  }

  void deliver(const DesktopNotification& n) {
    if (!open_bus()) return;
    sd_bus_message* call = nullptr;
    sd_bus_message* reply = nullptr;
    sd_bus_error error = SD_BUS_ERROR_NULL;
    const auto it = shown.find(n.slot);
    const std::uint32_t replaces = it == shown.end() ? 0 : it->second;
    int r = sd_bus_message_new_method_call(bus, &call, kService, kPath, kService, "Notify");
    if (r >= 0)
      r = sd_bus_message_append(call, "susssasa{sv}i", "focussync", replaces, "", n.summary.c_str(), n.body.c_str(), 0, 1,
                                "urgency", "y", n.urgency, -1);
    if (r >= 0) r = sd_bus_call(bus, call, kCallTimeoutUs, &error, &reply);
    std::uint32_t id = 0;
    if (r >= 0 && sd_bus_message_read(reply, "u", &id) >= 0) {
      shown[n.slot] = id;
      told_unavailable = false;  // a later outage is told again
    } else {
      unavailable(std::string("the session bus has no notification server (") +
                  (error.message ? error.message : errno_text(r)) + ")");
      if (!sd_bus_is_open(bus)) drop_bus();
    }
    sd_bus_error_free(&error);
    sd_bus_message_unref(reply);
    sd_bus_message_unref(call);
  }

  // Waits for queued notifications or bus traffic (NotificationClosed).
  void wait() {
    pollfd fds[2] = {{wake_fd, POLLIN, 0}, {bus ? sd_bus_get_fd(bus) : -1, 0, 0}};
    if (bus) fds[1].events = static_cast<short>(sd_bus_get_events(bus));
    ::poll(fds, bus ? 2 : 1, -1);
    std::uint64_t drained = 0;
    [[maybe_unused]] auto n = ::read(wake_fd, &drained, sizeof drained);
  }

  void run() {
    for (;;) {
      std::deque<DesktopNotification> batch;
      {
        std::lock_guard lock(mutex);
        if (stopping) return;
        batch.swap(queue);
      }
      for (const auto& n : batch) deliver(n);
      while (bus && sd_bus_process(bus, nullptr) > 0) {
      }
      if (bus && !sd_bus_is_open(bus)) drop_bus();
      wait();
    }
  }
};

DesktopNotifier::DesktopNotifier() : impl_(std::make_unique<Impl>()) {}
DesktopNotifier::~DesktopNotifier() = default;

void DesktopNotifier::send(DesktopNotification n) {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->queue.push_back(std::move(n));
    if (!impl_->thread.joinable()) impl_->thread = std::thread([impl = impl_.get()] { impl->run(); });
  }
  impl_->wake();
}

}  // namespace focus::daemon
