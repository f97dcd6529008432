// focus-test-notifyd: a stand-in desktop notification server for tests, on
// whatever session bus DBUS_SESSION_BUS_ADDRESS names (a private
// dbus-daemon). It owns org.freedesktop.Notifications and records every
// Notify call as one JSON line in the file given as its argument (app,
// replaces_id, summary, body, urgency, and the id it answered), flushed at
// once. CloseNotification(id) emits NotificationClosed(id, 3), as a
// server does when a notification is dismissed. With --hang, Notify calls
// are recorded and never answered (a server stuck mid-call). Runs until
// SIGTERM.
//   focus-test-notifyd CALLS_FILE [--hang]
#include <nlohmann/json.hpp>
#include <systemd/sd-bus.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

namespace {

std::ofstream calls;
std::uint32_t last_id = 0;
volatile std::sig_atomic_t stop = 0;
bool hang = false;

// Reads the hints dictionary (a{sv}), keeping the urgency byte (-1: none).
int read_urgency(sd_bus_message* m) {
  int urgency = -1;
  if (sd_bus_message_enter_container(m, 'a', "{sv}") < 0) return urgency;
  while (sd_bus_message_enter_container(m, 'e', "sv") > 0) {
    const char* key = nullptr;
    sd_bus_message_read(m, "s", &key);
    std::uint8_t byte = 0;
    if (key && std::strcmp(key, "urgency") == 0 && sd_bus_message_enter_container(m, 'v', "y") > 0) {
      sd_bus_message_read(m, "y", &byte);
      urgency = byte;
      sd_bus_message_exit_container(m);
    } else {
      sd_bus_message_skip(m, "v");
    }
    sd_bus_message_exit_container(m);
  }
  sd_bus_message_exit_container(m);
  return urgency;
}

int notify(sd_bus_message* m, void*, sd_bus_error*) {
  const char *app = nullptr, *icon = nullptr, *summary = nullptr, *body = nullptr;
  std::uint32_t replaces = 0;
  sd_bus_message_read(m, "susss", &app, &replaces, &icon, &summary, &body);
  sd_bus_message_skip(m, "as");
  const int urgency = read_urgency(m);
  const std::uint32_t id = replaces ? replaces : ++last_id;
  nlohmann::json line = {{"app", app}, {"replaces_id", replaces}, {"summary", summary}, {"body", body},
                         {"urgency", urgency}, {"id", id}};
  calls << line.dump() << std::endl;
  if (hang) return 1;  // no answer: the caller waits for its own timeout
  return sd_bus_reply_method_return(m, "u", id);
}

int close_notification(sd_bus_message* m, void*, sd_bus_error*) {
  std::uint32_t id = 0;
  sd_bus_message_read(m, "u", &id);
  sd_bus_emit_signal(sd_bus_message_get_bus(m), "/org/freedesktop/Notifications", "org.freedesktop.Notifications",
                     "NotificationClosed", "uu", id, 3u);
  return sd_bus_reply_method_return(m, "");
}

int capabilities(sd_bus_message* m, void*, sd_bus_error*) { return sd_bus_reply_method_return(m, "as", 1, "body"); }

int information(sd_bus_message* m, void*, sd_bus_error*) {
  return sd_bus_reply_method_return(m, "ssss", "focus-test-notifyd", "focussync", "1", "1.2");
}

const sd_bus_vtable kVtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_METHOD("Notify", "susssasa{sv}i", "u", notify, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD("CloseNotification", "u", "", close_notification, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD("GetCapabilities", "", "as", capabilities, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD("GetServerInformation", "", "ssss", information, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_SIGNAL("NotificationClosed", "uu", 0),
    SD_BUS_VTABLE_END};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3 || (argc == 3 && std::strcmp(argv[2], "--hang") != 0)) {
    std::fprintf(stderr, "usage: focus-test-notifyd CALLS_FILE [--hang]\n");
    return 2;
  }
  hang = argc == 3;
  calls.open(argv[1], std::ios::app);
  std::signal(SIGTERM, [](int) { stop = 1; });
  sd_bus* bus = nullptr;
  if (int r = sd_bus_open_user(&bus); r < 0) {
    std::fprintf(stderr, "focus-test-notifyd: no session bus: %s\n", std::strerror(-r));
    return 1;
  }
  sd_bus_add_object_vtable(bus, nullptr, "/org/freedesktop/Notifications", "org.freedesktop.Notifications", kVtable,
                           nullptr);
  if (int r = sd_bus_request_name(bus, "org.freedesktop.Notifications", 0); r < 0) {
    std::fprintf(stderr, "focus-test-notifyd: cannot own the name: %s\n", std::strerror(-r));
    return 1;
  }
  std::printf("ready\n");
  std::fflush(stdout);
  while (!stop) {
    int r = sd_bus_process(bus, nullptr);
    if (r < 0) break;
    if (r == 0) sd_bus_wait(bus, 200'000);  // wakes to see SIGTERM
  }
  sd_bus_flush_close_unref(bus);
  return 0;
}
