"""Desktop notifications (issue 20), on a private session bus: a real
dbus-daemon, with focus-test-notifyd owning org.freedesktop.Notifications
and recording every Notify call, and a real focussyncd with focus-sim
behind it. Each event is checked by the exact call it makes (summary, body,
urgency, replaces_id): a conflict, a burst of failures (one grouped call),
the key refused, the mirror stale while the upstream is unreachable; a
notification still shown is replaced, one closed is not; a restart repeats
nothing; no bus, or no notification server, is logged once and is no
error; [notify] enabled = false says nothing."""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "sim"))
from simproc import KEY, SimProcess  # noqa: E402
from test_socket import BASE, Daemon  # noqa: E402

NOTIFYD = os.environ.get("FOCUS_NOTIFYD", "build/bin/focus-test-notifyd")


class SessionBus:
    """A private dbus-daemon and, unless told otherwise, the stand-in
    notification server on it; stop() ends both."""

    def __init__(self, with_server=True, hang=False):
        if not shutil.which("dbus-daemon"):
            raise AssertionError("dbus-daemon is not installed (scripts/install-deps installs dbus)")
        self.dir = tempfile.TemporaryDirectory(prefix="focus-bus-")
        self.address = f"unix:path={self.dir.name}/bus"
        self.bus = subprocess.Popen(["dbus-daemon", "--session", "--nofork", "--nopidfile", f"--address={self.address}",
                                     "--print-address=1"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.bus.stdout.readline()  # the address: listening
        self.env = {"DBUS_SESSION_BUS_ADDRESS": self.address}
        self.calls_file = os.path.join(self.dir.name, "calls")
        self.server = None
        if with_server:
            self.server = subprocess.Popen([NOTIFYD, self.calls_file, *(["--hang"] if hang else [])],
                                           stdout=subprocess.PIPE, text=True,
                                           env={**os.environ, **self.env})
            assert self.server.stdout.readline().strip() == "ready"

    def calls(self):
        if not os.path.exists(self.calls_file):
            return []
        with open(self.calls_file) as f:
            return [json.loads(line) for line in f if line.strip()]

    def wait_calls(self, n, timeout=40):
        deadline = time.monotonic() + timeout
        while len(self.calls()) < n and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.calls()

    def close_notification(self, id_):
        subprocess.run(["busctl", f"--address={self.address}", "call", "org.freedesktop.Notifications",
                        "/org/freedesktop/Notifications", "org.freedesktop.Notifications", "CloseNotification", "u",
                        str(id_)], check=True, capture_output=True, timeout=10)

    def stop(self):
        for p in (self.server, self.bus):
            if p and p.poll() is None:
                p.terminate()
                p.wait(timeout=10)
            if p:
                p.stdout.close()
        self.dir.cleanup()


class Case(unittest.TestCase):
    SIM_PROJECTS = 30
    DAEMON = {}

    def setUp(self):
        self.bus = SessionBus()
        self.sim = SimProcess("--projects", str(self.SIM_PROJECTS), "--api-key", KEY)
        self.d = Daemon(self.sim, env=self.bus.env, **self.DAEMON)
        self.d.wait_synced()
        self.live = [p for p in self.sim.state()["projects"] if p["deleted_at"] is None and p["archived_at"] is None]

    def tearDown(self):
        self.d.stop()
        self.sim.stop()
        self.bus.stop()

    def conflict(self, project):
        """Another user renames `project` on the server; ours, made against the old name, conflicts."""
        other = self.sim.request("PATCH", self.sim.projects_path(rest=f"/{project['id']}"), body={"name": "Theirs"})
        self.assertEqual(other.status, 201)
        edit = int(self.d.request("PATCH", f"{BASE}/{project['id']}", {"name": "Mine"}).header("X-Focussync-Edit"))
        deadline = time.monotonic() + 20
        while self.d.get(f"/v1/edits/{edit}").json()["state"] != "conflict" and time.monotonic() < deadline:
            time.sleep(0.05)
        return edit

    def restart(self):
        self.d.proc.terminate()
        self.assertEqual(self.d.proc.wait(timeout=20), 0)
        self.d.start()
        deadline = time.monotonic() + 30
        while True:  # the socket file appears a moment before it answers
            try:
                self.d.wait_synced()
                return
            except ConnectionRefusedError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def passes(self, seconds):
        """Lets the engine run a few passes (the notices are decided after each)."""
        time.sleep(seconds)


class EditNotices(Case):
    def test_a_conflict_is_one_call_replaced_while_shown_not_after_closed_and_never_repeated(self):
        first = self.conflict(self.live[0])
        calls = self.bus.wait_calls(1)
        self.assertEqual(calls, [{"app": "focussync", "replaces_id": 0, "urgency": 1, "id": calls[0]["id"],
                                  "summary": f"Your change to '{self.live[0]['name']}' conflicts with a change made "
                                             "on the server",
                                  "body": f"See both with: focusctl edits show {first}"}])
        # Another, while the first is still shown: it replaces it.
        second = self.conflict(self.live[1])
        calls = self.bus.wait_calls(2)
        self.assertEqual(len(calls), 2)
        self.assertEqual(calls[1]["replaces_id"], calls[0]["id"])
        self.assertEqual(calls[1]["body"], f"See both with: focusctl edits show {second}")
        # Dismissed on the desktop: the next one is new, not a replacement.
        self.bus.close_notification(calls[1]["id"])
        time.sleep(0.5)
        self.conflict(self.live[2])
        calls = self.bus.wait_calls(3)
        self.assertEqual(calls[2]["replaces_id"], 0)
        # A restart tells none of them again.
        self.restart()
        self.passes(4)
        self.assertEqual(len(self.bus.calls()), 3, self.bus.calls())

    def test_turned_off_by_a_reload(self):
        self.conflict(self.live[0])
        self.assertEqual(len(self.bus.wait_calls(1)), 1)
        with open(self.d.config, "a") as f:
            f.write("\n[notify]\nenabled = false\n")
        self.d.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while "reloaded" not in self.d.output() and time.monotonic() < deadline:
            time.sleep(0.05)
        self.conflict(self.live[1])
        self.passes(4)
        self.assertEqual(len(self.bus.calls()), 1, self.bus.calls())

    def test_a_burst_of_failures_is_one_grouped_call(self):
        self.sim.control("PUT", "faults", {"offline": True})
        edits = []
        for p in self.live[:5]:
            r = self.d.request("PATCH", f"{BASE}/{p['id']}", {"description": "refused"})
            edits.append(int(r.header("X-Focussync-Edit")))
        self.sim.control("PUT", "faults", {"offline": False, "refuse_writes_rate": 1.0})
        self.d.request("POST", "/v1/sync?wait=1", timeout=60)
        deadline = time.monotonic() + 30
        while self.d.get("/v1/status").json()["edits"]["failed"] < 5 and time.monotonic() < deadline:
            time.sleep(0.05)
        calls = self.bus.wait_calls(1)
        self.passes(4)  # past the group window: nothing more comes
        calls = self.bus.calls()
        self.assertEqual(len(calls), 1, calls)
        self.assertEqual(calls[0]["summary"], "5 edits need you")
        lines = calls[0]["body"].splitlines()
        self.assertEqual(len(lines), 6)
        for edit, project, line in zip(edits, self.live[:5], lines):
            self.assertEqual(line, f"failed: your change to '{project['name']}' (focusctl edits show {edit})")
        self.assertEqual(lines[5], "All of them: focusctl edits list --state conflict,failed")


class DaemonNotices(Case):
    DAEMON = {"extra_socket": 'stale_after = "3s"', "extra": '[notify]\nurgency = "critical"\n'}

    def test_the_key_refused_is_told_once_even_across_a_restart(self):
        key_file = os.path.join(self.d.dir.name, "key")
        with open(key_file, "w") as f:
            f.write("toggl_sk_revoked\n")
        self.d.proc.send_signal(signal.SIGHUP)
        calls = self.bus.wait_calls(1)
        self.assertEqual(len(calls), 1, self.d.output())
        self.assertEqual(calls[0]["summary"], "focussync: the API key was refused")
        self.assertEqual(calls[0]["urgency"], 2)  # [notify] urgency = "critical"
        self.assertIn("systemctl --user reload focussync", calls[0]["body"])
        self.assertNotIn("toggl_sk", json.dumps(calls))
        self.passes(3)
        self.restart()
        self.passes(4)
        self.assertEqual(self.d.get("/v1/status").json()["upstream"], "unauthorized")
        self.assertEqual(len(self.bus.calls()), 1, self.bus.calls())

    def test_stale_while_unreachable_is_told_once(self):
        self.sim.control("PUT", "faults", {"offline": True})
        calls = self.bus.wait_calls(1, timeout=60)
        self.assertEqual(len(calls), 1, self.d.output())
        self.assertEqual(calls[0]["summary"], "focussync: the mirror is stale")
        self.assertIn("Workspace 1/1 has not synced", calls[0]["body"])
        self.passes(5)
        self.assertEqual(len(self.bus.calls()), 1, self.bus.calls())


class NoOneToTell(unittest.TestCase):
    def run_with(self, env, extra=""):
        sim = SimProcess("--projects", "20", "--api-key", KEY)
        d = Daemon(sim, env=env, extra=extra)
        try:
            d.wait_synced()
            live = [p for p in sim.state()["projects"] if p["deleted_at"] is None]
            for p in live[:2]:  # two events, apart: two attempts, one log line
                sim.request("PATCH", sim.projects_path(rest=f"/{p['id']}"), body={"name": "Theirs"})
                d.request("PATCH", f"{BASE}/{p['id']}", {"name": "Mine"})
                time.sleep(3)
            status = d.get("/v1/status").json()
            self.assertEqual(status["edits"]["conflict"], 2)
            self.assertEqual(status["upstream"], "ok")
            return d.output()
        finally:
            self.assertEqual(d.stop(), 0)
            sim.stop()

    def test_no_session_bus_is_logged_once(self):
        with tempfile.TemporaryDirectory() as nowhere:
            log = self.run_with({"DBUS_SESSION_BUS_ADDRESS": f"unix:path={nowhere}/no-bus"})
        self.assertEqual(len(re.findall("desktop notifications are not shown: no session bus", log)), 1, log)
        self.assertNotIn("[error]", log)

    def test_a_bus_without_a_notification_server_is_logged_once(self):
        bus = SessionBus(with_server=False)
        try:
            log = self.run_with(bus.env)
        finally:
            bus.stop()
        self.assertEqual(len(re.findall("the session bus has no notification server", log)), 1, log)

    def test_a_server_that_never_answers_holds_up_nothing(self):
        bus = SessionBus(hang=True)
        sim = SimProcess("--projects", "20", "--api-key", KEY)
        d = Daemon(sim, env=bus.env)
        try:
            d.wait_synced()
            p = [p for p in sim.state()["projects"] if p["deleted_at"] is None][0]
            sim.request("PATCH", sim.projects_path(rest=f"/{p['id']}"), body={"name": "Theirs"})
            d.request("PATCH", f"{BASE}/{p['id']}", {"name": "Mine"})
            self.assertEqual(len(bus.wait_calls(1)), 1)  # the call is out, and unanswered
            slowest = 0.0
            for _ in range(40):  # 4 s of reads and edits while the notifier waits
                started = time.monotonic()
                self.assertEqual(d.get(f"{BASE}/{p['id']}").status, 200)
                slowest = max(slowest, time.monotonic() - started)
                time.sleep(0.1)
            self.assertLess(slowest, 0.5)
            self.assertEqual(d.get("/v1/status").json()["upstream"], "ok")
        finally:
            self.assertEqual(d.stop(), 0)
            sim.stop()
            bus.stop()

    def test_turned_off_says_nothing(self):
        bus = SessionBus()
        try:
            log = self.run_with(bus.env, extra="[notify]\nenabled = false\n")
            self.assertEqual(bus.calls(), [])
        finally:
            bus.stop()
        self.assertNotIn("desktop notification", log)


if __name__ == "__main__":
    unittest.main()
