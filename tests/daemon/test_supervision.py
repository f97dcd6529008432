"""The daemon is never silently broken, tried as a real focussyncd process
with a real focus-sim: a wedged engine stops feeding the systemd watchdog,
says "stalled" in /v1/status and makes `focusctl status` exit 1, and SIGTERM
still stops the process; SIGTERM ends a request hung on a silent upstream
and a long poll at once; POST /v1/sync leaves the quota reserve for edits
unless asked; an event stream that fails mid-way gives its connection slot
back; accept failures (out of file descriptors) back off instead of
spinning; an upstream that stops answering mid-listing is "waiting" within
5 s and "unreachable" once one request timeout has passed, whatever the
retries, and the mirror catches up by itself when it answers again."""
import contextlib
import json
import http.client
import os
import resource
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "sim"))
from daemonconf import UnixConnection  # noqa: E402
from simproc import KEY, SimProcess  # noqa: E402
from test_socket import Daemon, notify_listener  # noqa: E402

CTL = os.environ.get("FOCUS_CTL")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Watchdog(unittest.TestCase):
    def test_a_wedged_engine_stops_feeding_the_watchdog_and_sigterm_still_stops_it(self):
        sim = SimProcess("--projects", "20", "--api-key", KEY)
        with tempfile.TemporaryDirectory() as d:
            listener, env = notify_listener(d, timeout=1)
            # A 1 s upstream timeout: the engine may go 18 s without progress.
            daemon = Daemon(sim, upstream='timeout = "1s"', sync='interval = "300ms"',
                            args=["--wedge-engine-after-passes", "3"], env=env)
            try:
                pings = []
                deadline = time.monotonic() + 40
                last_gap = 0
                while time.monotonic() < deadline:
                    try:
                        m = listener.recv(4096).decode()
                    except socket.timeout:
                        m = ""
                    if "WATCHDOG=1" in m:
                        pings.append(time.monotonic())
                    if pings:
                        last_gap = time.monotonic() - pings[-1]
                    if last_gap > 4:
                        break
                self.assertGreater(len(pings), 5, "the watchdog was fed while the engine ran")
                self.assertGreater(last_gap, 4, "pings went on after the engine wedged:\n" + daemon.output())
                status = daemon.get("/v1/status")
                self.assertEqual(status.status, 200)  # the socket still answers
                engine = status.json()["engine"]
                self.assertEqual(engine["state"], "stalled", engine)
                self.assertIn("no longer fed", daemon.output())
                if CTL:
                    p = subprocess.run([CTL, "--socket", daemon.socket, "status"], capture_output=True, text=True,
                                       timeout=20)
                    self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
                    self.assertIn("sync engine has made no progress", p.stderr)
                # SIGTERM stops it though the engine never returns: the stop deadline.
                started = time.monotonic()
                daemon.proc.send_signal(signal.SIGTERM)
                code = daemon.proc.wait(timeout=15)
                self.assertLess(time.monotonic() - started, 10)
                self.assertEqual(code, 1, "a stop that had to be forced says so")
                self.assertIn("did not stop within", daemon.output())
            finally:
                daemon.stop()
                sim.stop()
                listener.close()


class Stopping(unittest.TestCase):
    def test_sigterm_ends_a_request_hung_on_a_silent_upstream_and_a_long_poll(self):
        sim = SimProcess("--projects", "10", "--api-key", KEY)
        daemon = Daemon(sim, upstream='timeout = "60s"')
        try:
            daemon.wait_synced()
            # The upstream now answers after 50 s: the next probe hangs in flight.
            sim.control("PUT", "faults", {"latency_ms": 50000})
            daemon.request("POST", "/v1/sync")
            poll_result = {}

            def long_poll():
                since = daemon.get("/v1/status").json()["changes"]["last_seq"]
                try:
                    poll_result["reply"] = daemon.get(f"/v1/changes?since={since}&wait=300", timeout=60)
                except (OSError, http.client.HTTPException) as e:  # closed by the stopping daemon
                    poll_result["closed"] = e

            poller = threading.Thread(target=long_poll)
            poller.start()
            time.sleep(1.5)
            started = time.monotonic()
            daemon.proc.send_signal(signal.SIGTERM)
            code = daemon.proc.wait(timeout=15)
            took = time.monotonic() - started
            poller.join(timeout=10)
            self.assertFalse(poller.is_alive(), "the long poll ended with the daemon")
            self.assertEqual(code, 0, daemon.output())
            self.assertLess(took, 3, "stopped at once, not after the upstream's 50 s")
            self.assertNotIn("did not stop within", daemon.output())
        finally:
            daemon.stop()
            sim.stop()


class Reserve(unittest.TestCase):
    def test_a_sync_asked_for_leaves_the_reserve_unless_told_to_spend_it(self):
        # 10 requests per window, 20 % (2) kept for edits; a listing needs 10 pages.
        sim = SimProcess("--projects", "1900", "--quota", "10", "--quota-window", "600", "--api-key", KEY)
        daemon = Daemon(sim, sync='interval = "1h"\nper_page = 200')
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:  # the daemon's own listing pauses at the reserve
                quota = daemon.get("/v1/status").json()["quota"]
                if quota["remaining"] is not None and quota["remaining"] <= 2:
                    break
                time.sleep(0.1)
            summary = daemon.request("POST", "/v1/sync?wait=1", timeout=60).json()
            self.assertTrue(summary["stopped_at_reserve"], summary)
            self.assertIn("reserve", summary["note"])
            self.assertEqual(daemon.get("/v1/status").json()["quota"]["remaining"], 2, "the reserve is intact")
            if CTL:
                p = subprocess.run([CTL, "--socket", daemon.socket, "sync", "--wait"], capture_output=True, text=True,
                                   timeout=60)
                self.assertIn("stopped at the quota reserve", p.stderr)
            spent = daemon.request("POST", "/v1/sync?wait=1&spend_reserve=1", timeout=60).json()
            self.assertEqual(spent["requests"], 2, f"{spent}\n{daemon.output()}")
            self.assertIsNone(spent["error"])
            status = daemon.get("/v1/status").json()
            self.assertEqual(status["quota"]["remaining"], 0)
            self.assertEqual(status["workspaces"][0]["projects"], 1900, "the listing completed on the reserve")
        finally:
            daemon.stop()
            sim.stop()


class Connections(unittest.TestCase):
    def test_an_event_stream_that_fails_gives_its_slot_back(self):
        sim = SimProcess("--projects", "5", "--api-key", KEY)
        daemon = Daemon(sim, extra_socket="max_connections = 2")
        try:
            daemon.wait_synced()
            # A change row whose fields are not JSON (a cache changed by hand):
            # the event stream fails when it reaches it.
            with contextlib.closing(sqlite3.connect(daemon.cache, timeout=10)) as db:
                db.execute("INSERT INTO changes (organization_id, workspace_id, project_id, kind, fields, at) "
                           "VALUES (1, 1, 1, 'update', 'not json', 0)")
                db.commit()
            # Another process's commit reaches socket reads that begin once
            # the daemon's kept read snapshot is 10 ms old (docs/socket.md).
            time.sleep(0.05)
            for _ in range(5):
                conn = UnixConnection(daemon.socket, 10)
                conn.request("GET", "/v1/changes?since=0", headers={"Accept": "text/event-stream"})
                resp = conn.getresponse()
                self.assertEqual(resp.status, 200)
                resp.read()  # the stream ends: the server closed it
                conn.close()
            time.sleep(0.2)
            self.assertEqual(daemon.get("/v1/status").status, 200, "slots were given back")
            self.assertIn("ended on an error", daemon.output())
        finally:
            daemon.stop()
            sim.stop()

    def test_accept_failures_back_off_instead_of_spinning(self):
        sim = SimProcess("--projects", "5", "--api-key", KEY)

        def few_descriptors():
            resource.setrlimit(resource.RLIMIT_NOFILE, (48, 48))

        daemon = Daemon(sim, preexec_fn=few_descriptors)
        held = []
        try:
            daemon.wait_synced()
            for _ in range(80):  # more than the daemon has descriptors: accept fails with EMFILE
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.settimeout(5)
                s.connect(daemon.socket)
                held.append(s)
            time.sleep(0.5)
            before = cpu_seconds(daemon.proc.pid)
            time.sleep(3)
            used = cpu_seconds(daemon.proc.pid) - before
            self.assertLess(used, 0.5, f"the accept loop spun: {used:.2f} CPU-s in 3 s")
            self.assertLessEqual(daemon.output().count("accepting a connection failed"), 2)
            for s in held:
                s.close()
            held.clear()
            deadline = time.monotonic() + 10
            served = False
            while time.monotonic() < deadline and not served:
                with contextlib.suppress(OSError):
                    served = daemon.get("/v1/status", timeout=3).status == 200
                time.sleep(0.2)
            self.assertTrue(served, "served again once descriptors were free")
        finally:
            for s in held:
                s.close()
            daemon.stop()
            sim.stop()


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Bounded(unittest.TestCase):
    def test_the_edit_list_is_paged_by_size_and_memory_stays_bounded(self):
        sim = SimProcess("--projects", "40", "--api-key", KEY)
        daemon = Daemon(sim)
        try:
            daemon.wait_synced()
            sim.control("PUT", "faults", {"offline": True})
            big = "d" * 700_000
            ids = []
            for pid in range(1000, 1030):  # 30 edits of 700 kB: 21 MB of bodies
                r = daemon.request("PATCH", f"/api/organizations/1/workspaces/1/projects/{pid}", {"description": big})
                self.assertEqual(r.status, 201, r.body[:200])
                ids.append(int(r.header("X-Focussync-Edit")))
            seen, after, pages, peak = [], 0, 0, 0
            while True:
                r = daemon.get(f"/v1/edits?after={after}")
                self.assertEqual(r.status, 200)
                self.assertLess(len(r.body), 6 * 1024 * 1024, "a page stays within a few MB")
                body = r.json()
                seen += [e["id"] for e in body["edits"]]
                pages += 1
                peak = max(peak, rss_kb(daemon.proc.pid))
                if body["next_after"] is None:
                    break
                after = body["next_after"]
            self.assertEqual(seen, ids, "every edit once, in order")
            self.assertGreater(pages, 3)
            self.assertLess(peak, 64 * 1024, f"RSS {peak} kB")
            if CTL:
                p = subprocess.run([CTL, "--socket", daemon.socket, "--format", "json", "edits", "list"],
                                   capture_output=True, text=True, timeout=60)
                self.assertEqual(p.returncode, 0, p.stderr)
                self.assertEqual(len(json.loads(p.stdout)), 30)
        finally:
            daemon.stop()
            sim.stop()


class SilentUpstream(unittest.TestCase):
    """focus-sim stopped with SIGSTOP: connections open, nothing answered."""

    def test_waiting_then_unreachable_then_back_by_itself(self):
        sim = SimProcess("--projects", "3000", "--api-key", KEY)
        d = Daemon(sim)  # [upstream] timeout = "5s"
        try:
            first = d.wait_synced()["workspaces"][0]["last_success_at"]
            d.request("POST", "/v1/sync")  # a full listing, 15 pages
            time.sleep(0.05)
            sim.proc.send_signal(signal.SIGSTOP)
            stopped = time.monotonic()
            seen = {}
            while time.monotonic() - stopped < 14:
                s = d.get("/v1/status").json()
                seen.setdefault(s["upstream"], (time.monotonic() - stopped, s.get("waiting_since")))
                if "unreachable" in seen:
                    self.assertNotEqual(s["upstream"], "ok", "unreachable, then ok with no answer")
                    self.assertNotEqual(s["upstream"], "waiting", "retries postponed unreachable")
                time.sleep(0.1)
            self.assertIn("waiting", seen, seen)
            self.assertLess(seen["waiting"][0], 5.0, seen)
            self.assertIsNotNone(seen["waiting"][1])
            self.assertIn("unreachable", seen, seen)
            self.assertLess(seen["unreachable"][0], 5.0 + 3.0, seen)  # one request timeout, and the poll's slack
            if CTL:
                out = subprocess.run([CTL, "--socket", d.socket, "status"], capture_output=True, text=True).stdout
                self.assertIn("upstream unreachable (no answer since", out)
            sim.proc.send_signal(signal.SIGCONT)
            deadline = time.monotonic() + 30
            s = d.get("/v1/status").json()
            while (s["upstream"] != "ok" or s["workspaces"][0]["last_success_at"] == first) and \
                    time.monotonic() < deadline:
                time.sleep(0.1)
                s = d.get("/v1/status").json()
            self.assertEqual(s["upstream"], "ok", d.output())
            self.assertIsNone(s["waiting_since"])
            self.assertNotEqual(s["workspaces"][0]["last_success_at"], first, "the mirror did not catch up")
        finally:
            sim.proc.send_signal(signal.SIGCONT)
            d.stop()
            sim.stop()


if __name__ == "__main__":
    unittest.main()
