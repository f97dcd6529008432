#pragma once
// Desktop notifications through org.freedesktop.Notifications on the
// user's session bus (sd-bus), sent from a thread of its own so that the
// io thread never waits on the bus. send() queues and returns at once.
//
// Each notification belongs to a slot ("edits", "upstream", "stale"): one
// still shown is replaced (replaces_id), not stacked; the server's
// NotificationClosed signal frees the slot. The bus is opened at the first
// notification, and again at a later one if that failed: with no session
// bus or no notification server, the first failure is logged once at info
// level, nothing retries in a loop, and the daemon is not in error.
// The thread starts at the first notification and sleeps in poll() on an
// eventfd and the bus: no wake-ups while idle. Owned by the daemon; send()
// from any thread.

#include <cstdint>
#include <memory>
#include <string>

namespace focus::daemon {

struct DesktopNotification {
  std::string slot;
  std::string summary;
  std::string body;
  std::uint8_t urgency = 1;  // 0 low, 1 normal, 2 critical (the spec's byte)
};

class DesktopNotifier {
 public:
  DesktopNotifier();
  ~DesktopNotifier();  // stops the thread (a call in progress ends first)
  DesktopNotifier(const DesktopNotifier&) = delete;
  DesktopNotifier& operator=(const DesktopNotifier&) = delete;

  void send(DesktopNotification n);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace focus::daemon
