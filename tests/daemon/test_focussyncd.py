"""focussyncd as a process: --once against a real focus-sim, its JSON line
and exit codes, configuration errors, two daemons on one cache, secrets kept
out of its output, and SIGKILL at random moments of a sync and after every
durable step of one (the cache stays intact, equal to an earlier complete
state, and the next run converges, logging each change exactly once)."""
import contextlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "sim"))
from daemonconf import write_config  # noqa: E402
from simproc import SimProcess  # noqa: E402

DAEMON = os.environ.get("FOCUS_DAEMON", "build/bin/focussyncd")
KEY = "toggl_sk_daemon_test_5e1f"


class Setup:
    """A temp folder with a key file and a config pointing at `sim`."""

    def __init__(self, sim, extra=""):
        self.dir = tempfile.TemporaryDirectory(prefix="focussyncd-test-")
        paths = write_config(self.dir.name, sim.port, KEY, extra=extra)
        self.key, self.cache, self.socket, self.config = paths["key"], paths["cache"], paths["socket"], paths["config"]

    def once(self, *args, timeout=120):
        p = subprocess.run([DAEMON, "--config", self.config, "--once", "--log-level", "warn", *args],
                           capture_output=True, text=True, timeout=timeout)
        return p

    def live_ids(self):
        with contextlib.closing(sqlite3.connect(self.cache)) as db:
            return {r[0] for r in db.execute("SELECT id FROM projects WHERE deleted = 0")}

    def close(self):
        self.dir.cleanup()


@contextlib.contextmanager
def running_daemon(setup):
    """focussyncd in service mode for the `with` block; afterwards it must
    stop cleanly on SIGTERM (killed if the block failed first)."""
    daemon = subprocess.Popen([DAEMON, "--config", setup.config, "--log-level", "warn"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield daemon
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(timeout=20) == 0, "focussyncd did not exit cleanly on SIGTERM"
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait()


def server_live_ids(sim):
    return {p["id"] for p in sim.state()["projects"] if p["deleted_at"] is None}


class Once(unittest.TestCase):
    def test_once_prints_one_json_line_and_exits_0(self):
        sim = SimProcess("--projects", "700", "--api-key", KEY)
        s = Setup(sim)
        try:
            p = s.once()
            self.assertEqual(p.returncode, 0, p.stderr)
            lines = p.stdout.strip().splitlines()
            self.assertEqual(len(lines), 1)
            out = json.loads(lines[0])
            self.assertIsNone(out["error"])
            w = out["workspaces"][0]
            self.assertEqual((w["organization_id"], w["workspace_id"], w["projects"], w["inserted"], w["updated"],
                              w["deleted"], w["requests"]), (1, 1, 700, 700, 0, 0, 4))
            self.assertEqual(s.live_ids(), server_live_ids(sim))
            again = json.loads(s.once().stdout)
            self.assertEqual((again["workspaces"][0]["inserted"], again["workspaces"][0]["updated"]), (0, 0))
        finally:
            s.close()
            sim.stop()

    def test_a_failed_sync_exits_1_with_the_error_and_no_secret(self):
        sim = SimProcess("--projects", "5", "--api-key", "toggl_sk_some_other_key")
        s = Setup(sim)
        try:
            p = s.once()
            self.assertEqual(p.returncode, 1)
            out = json.loads(p.stdout)
            self.assertIn("401", out["error"])
            self.assertIn("401", out["workspaces"][0]["error"])
            self.assertNotIn(KEY, p.stdout + p.stderr)
        finally:
            s.close()
            sim.stop()

    def test_upstream_unreachable_exits_1(self):
        sim = SimProcess("--projects", "5", "--offline")
        s = Setup(sim)
        try:
            p = s.once()
            self.assertEqual(p.returncode, 1)
            self.assertIn("connection closed", json.loads(p.stdout)["error"])
        finally:
            s.close()
            sim.stop()


class Config(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.path = os.path.join(self.dir.name, "c.toml")

    def tearDown(self):
        self.dir.cleanup()

    def check(self, text):
        with open(self.path, "w") as f:
            f.write(text)
        # --check-config reads the secret: K must hold one.
        return subprocess.run([DAEMON, "--config", self.path, "--check-config"], capture_output=True, text=True, timeout=20,
                              env={**os.environ, "K": "toggl_sk_check"})

    def test_check_config_accepts_a_good_file(self):
        p = self.check('[upstream]\napi_key_env = "K"\n[[workspaces]]\norganization_id = 1\nworkspace_id = 2\n')
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("is valid", p.stdout)

    def test_errors_name_the_line_and_key_and_exit_2(self):
        p = self.check('[upstream]\napi_key_env = "K"\n[[workspaces]]\norganization_id = 1\nworkspace_id = 2\n'
                       '[sync]\ninterval = 5\n')
        self.assertEqual(p.returncode, 2)
        self.assertIn(f"{self.path}:7: [sync] interval: expected a string", p.stderr)
        # No --config and no file where it looks by default (an empty home here).
        empty_home = {**os.environ, "HOME": self.dir.name, "XDG_CONFIG_HOME": ""}
        self.assertEqual(subprocess.run([DAEMON], capture_output=True, timeout=20, env=empty_home).returncode, 2)
        # A log level on the command line is held to [log] level's rule, in
        # every mode: --check-config called it valid, --once exited 1.
        self.check('[upstream]\napi_key_env = "K"\n[[workspaces]]\norganization_id = 1\nworkspace_id = 2\n')
        for mode in ("--check-config", "--once"):
            p = subprocess.run([DAEMON, "--config", self.path, mode, "--log-level", "loud"], capture_output=True,
                               text=True, timeout=20, env={**os.environ, "K": "toggl_sk_check"})
            self.assertEqual(p.returncode, 2, (mode, p.stdout, p.stderr))
            self.assertIn("unknown log level 'loud'", p.stderr)

    def test_a_missing_key_file_is_a_clear_start_up_error(self):
        with open(self.path, "w") as f:
            f.write(f'[upstream]\nbase_url = "http://127.0.0.1:9/api"\napi_key_file = "/nonexistent/key"\n'
                    f'[[workspaces]]\norganization_id = 1\nworkspace_id = 2\n[cache]\npath = "{self.dir.name}/c.db"\n')
        p = subprocess.run([DAEMON, "--config", self.path, "--once"], capture_output=True, text=True, timeout=20)
        self.assertEqual(p.returncode, 1)
        self.assertIn("cannot read secret file '/nonexistent/key'", p.stderr)


class TwoDaemons(unittest.TestCase):
    def test_the_second_daemon_on_one_cache_refuses(self):
        sim = SimProcess("--projects", "20", "--api-key", KEY)
        s = Setup(sim, "[sync]\ninterval = \"1h\"\n")
        first = subprocess.Popen([DAEMON, "--config", s.config, "--log-level", "warn"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 20
            while not os.path.exists(s.cache + ".lock") and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(0.3)
            p = s.once()
            self.assertEqual(p.returncode, 1)
            self.assertIn(f"in use by another focussyncd (pid {first.pid})", p.stderr)
            first.send_signal(signal.SIGTERM)
            self.assertEqual(first.wait(timeout=20), 0)
            self.assertEqual(s.once().returncode, 0, "the cache is free once the first one stopped")
        finally:
            if first.poll() is None:
                first.kill()
            s.close()
            sim.stop()


def most_used_in_a_window(sim):
    """The most requests focus-sim counts in any one quota window so far."""
    return max((w["used"] for w in sim.control("GET", "quota")["windows"]), default=0)


class Scheduler(unittest.TestCase):
    def test_each_organization_plans_its_own_quota(self):
        # Two organizations, one workspace each, each with its own 30 requests
        # per 8-second window (24 after the reserve). Each one's probes are
        # spread over its window for its own workspace. Planned for both
        # configured workspaces, each probed half as often as it could, and
        # crowded the rest into the window's last seconds.
        sim = SimProcess("--projects", "50", "--api-key", KEY, "--quota", "30", "--quota-window", "8",
                         "--workspaces", "1:1,2:2")
        s = Setup(sim, '[sync]\ninterval = "200ms"\nreserve_share = 0.2\nmembers = "never"\n'
                       '[[workspaces]]\norganization_id = 2\nworkspace_id = 2\n')
        try:
            most_used = {1: 0, 2: 0}  # in any one window: focus-sim shows the current ones
            by_half = {1: 0, 2: 0}    # in a window's first half (4 or more seconds to its reset)
            with running_daemon(s):
                start = time.monotonic()
                while time.monotonic() - start < 20:
                    for w in sim.control("GET", "quota")["windows"]:
                        org = w["organization_id"]
                        most_used[org] = max(most_used[org], w["used"])
                        if w["resets_in"] >= 4:
                            by_half[org] = max(by_half[org], w["used"])
                    time.sleep(0.05)
                stats = sim.control("GET", "stats")
            for org in (1, 2):
                self.assertGreaterEqual(most_used[org], 20, (org, most_used))
                self.assertLessEqual(most_used[org], 24, "the reserve for edits was spent")
                self.assertGreaterEqual(by_half[org], 14, (org, by_half))
            self.assertEqual(stats["by_status"].get("402", 0), 0, stats)
        finally:
            s.close()
            sim.stop()

    def test_the_quota_is_spent_without_402s_and_the_reserve_is_kept(self):
        # A free-plan quota scaled down: 30 requests per 8-second window; 20 %
        # reserve leaves 24 for sync. 900 projects: a full listing is 5 pages.
        sim = SimProcess("--projects", "900", "--api-key", KEY, "--quota", "30", "--quota-window", "8")
        s = Setup(sim, '[sync]\ninterval = "200ms"\nreserve_share = 0.2\n')
        try:
            with running_daemon(s):
                most_used, changed, arrived_after = 0, None, None

                def arrived():
                    if not os.path.exists(s.cache):
                        return False
                    with sqlite3.connect(s.cache) as db:
                        logged = {r[0] for r in db.execute("SELECT project_id FROM changes WHERE seq > 900")}
                    return set(changed["created"]) <= logged and set(changed["updated"]) <= logged

                start = time.monotonic()
                while time.monotonic() - start < 20 or (arrived_after is None and time.monotonic() - start < 45):
                    most_used = max(most_used, most_used_in_a_window(sim))
                    if changed is None and time.monotonic() - start > 6:
                        changed, changed_at = sim.control("POST", "mutate", {"updates": 1, "creates": 1}), time.monotonic()
                    if changed is not None and arrived_after is None and arrived():
                        arrived_after = time.monotonic() - changed_at
                    time.sleep(0.1)
                stats = sim.control("GET", "stats")
                self.assertEqual(stats["by_status"].get("402", 0), 0, stats)
                self.assertLessEqual(most_used, 24, "the reserve for edits was spent")
                self.assertGreater(stats["requests"], 24, "more than one window was used")
                self.assertIsNotNone(arrived_after, "another user's change never reached the mirror")
                self.assertLess(arrived_after, 2 * 8 + 2, "a change should arrive within two quota windows")
                print(f"\nscheduler: {stats['requests']} requests at 30 per 8 s, at most {most_used} in one window, "
                      f"{stats['by_status'].get('402', 0)} answered 402, a change arrived after {arrived_after:.1f} s")
        finally:
            s.close()
            sim.stop()


    def test_members_leave_the_probes_their_interval(self):
        # The free plan with its hour scaled to 24 s: 30 requests a window, 6
        # kept for edits, the 5-minute interval scaled to 2 s, members wanted
        # for all 1,000 projects (the default, "changed"). Members may take
        # only what a probe every interval leaves; before, they took the
        # window (18 of its 24) and the mirror went blind until the reset.
        sim = SimProcess("--projects", "1000", "--api-key", KEY, "--quota", "30", "--quota-window", "24")
        s = Setup(sim, '[sync]\ninterval = "2s"\nmin_interval = "200ms"\n')
        try:
            with running_daemon(s):
                deadline = time.monotonic() + 30
                while not os.path.exists(s.cache) or len(s.live_ids()) < 1000:
                    self.assertLess(time.monotonic(), deadline, "the first listing did not complete")
                    time.sleep(0.1)
                time.sleep(3)  # members' turn, in the window the listing opened
                changed = sim.control("POST", "mutate", {"updates": 1})["updated"]
                changed_at = time.monotonic()

                def arrived():
                    with contextlib.closing(sqlite3.connect(s.cache)) as db:
                        logged = {r[0] for r in db.execute("SELECT project_id FROM changes WHERE kind = 'update'")}
                    return set(changed) <= logged

                while not arrived() and time.monotonic() - changed_at < 30:
                    time.sleep(0.1)
                arrived_after = time.monotonic() - changed_at
                stats = sim.control("GET", "stats")
                members = sum(n for route, n in stats["by_route"].items() if "members" in route)
                print(f"\nmembers and probes: {members} members requests, a change arrived after {arrived_after:.1f} s, "
                      f"at most {most_used_in_a_window(sim)} requests in one window")
                self.assertTrue(arrived(), "another user's change never reached the mirror")
                # 0.7 s here on an idle machine, 8.9 s before the members' budget kept the probes'.
                self.assertLess(arrived_after, 3 * 2 + 0.5, "probes should keep their 2 s interval inside the window")
                self.assertGreater(members, 0, "members were not fetched at all")
                self.assertEqual(stats["by_status"].get("402", 0), 0, stats)
                self.assertLessEqual(most_used_in_a_window(sim), 24, "the reserve for edits was spent")
        finally:
            s.close()
            sim.stop()


class LargeWorkspaceSmallQuota(unittest.TestCase):
    def test_a_listing_longer_than_a_window_completes_across_windows(self):
        # 15 pages, but only 8 requests per 3 s window are sync's (10 less the reserve).
        sim = SimProcess("--projects", "3000", "--api-key", KEY, "--quota", "10", "--quota-window", "3")
        s = Setup(sim, '[sync]\ninterval = "200ms"\nmembers = "never"\n')
        try:
            with running_daemon(s):
                start, done_after, most_used = time.monotonic(), None, 0
                while time.monotonic() - start < 40 and done_after is None:
                    most_used = max(most_used, most_used_in_a_window(sim))
                    try:
                        if os.path.exists(s.cache) and s.live_ids() == server_live_ids(sim):
                            done_after = time.monotonic() - start
                    except sqlite3.OperationalError:
                        pass  # the file exists before its schema does
                    time.sleep(0.2)
                stats = sim.control("GET", "stats")
                self.assertIsNotNone(done_after, "the listing never completed")
                self.assertEqual(stats["by_status"].get("402", 0), 0)
                self.assertLessEqual(most_used, 8, "the reserve was spent")
                print(f"\n3000 projects under 10 requests per 3 s: mirrored after {done_after:.1f} s, "
                      f"{stats['requests']} requests, no 402")
        finally:
            s.close()
            sim.stop()


class Crashes(unittest.TestCase):
    ROUNDS = int(os.environ.get("FOCUS_KILL_ROUNDS", "24"))

    def test_sigkill_during_sync_leaves_an_intact_earlier_state(self):
        rng = random.Random(1234)
        sim = SimProcess("--projects", "3000", "--api-key", KEY, "--latency-ms", "4", "--seed", "17")
        s = Setup(sim, "[sync]\nper_page = 50\n")
        try:
            everything = server_live_ids(sim)
            # How long one whole run takes here (sanitizers and load change it):
            # kills are spread over 1.4 times that, so some land mid-listing,
            # some during reconcile, and some after the run has finished.
            calibration = Setup(sim, "[sync]\nper_page = 50\n")
            started = time.monotonic()
            self.assertEqual(calibration.once().returncode, 0)
            run_time = time.monotonic() - started
            calibration.close()
            states_seen = set()
            killed = 0
            for round_no in range(self.ROUNDS):
                if round_no == self.ROUNDS // 2:  # the server moves on; both states are "complete" ones
                    sim.control("POST", "mutate", {"creates": 7, "updates": 9, "deletes": 3})
                    everything_after = server_live_ids(sim)
                proc = subprocess.Popen([DAEMON, "--config", s.config, "--once", "--log-level", "warn"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                time.sleep(rng.uniform(0.05, 1.4 * run_time))
                if proc.poll() is None:
                    killed += 1
                proc.kill()
                proc.wait()
                if not os.path.exists(s.cache):
                    states_seen.add("none")
                    continue
                with sqlite3.connect(s.cache) as db:
                    self.assertEqual(db.execute("PRAGMA integrity_check").fetchone()[0], "ok")
                    if not db.execute("SELECT 1 FROM sqlite_master WHERE name = 'changes'").fetchone():
                        states_seen.add("none")  # killed before the first migration committed
                        continue
                    seqs = [r[0] for r in db.execute("SELECT seq FROM changes ORDER BY seq")]
                    self.assertEqual(len(seqs), len(set(seqs)))
                ids = s.live_ids()
                if not ids:
                    states_seen.add("empty")
                elif ids == everything:
                    states_seen.add("first")
                else:
                    self.assertGreaterEqual(round_no, self.ROUNDS // 2, "only the mutated server can explain this")
                    # Deletions are confirmed one by one after the listing: a kill
                    # between them leaves a state with the listing applied and
                    # some deletions still to confirm, never a half listing.
                    self.assertTrue(everything_after <= ids <= everything_after | everything,
                                    f"round {round_no}: neither an earlier nor a later complete state")
                    states_seen.add("second")
            p = s.once()
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(s.live_ids(), server_live_ids(sim), "converges on the next run")
            print(f"\n{self.ROUNDS} rounds (a run takes {run_time:.2f} s), {killed} killed mid-run; "
                  f"states seen: {sorted(states_seen)}")
            self.assertGreaterEqual(killed, self.ROUNDS // 3, "too few kills landed during a run to mean anything")
            self.assertIn("first", states_seen, "no round saw a completed sync survive later kills")
        finally:
            s.close()
            sim.stop()

    def test_sigkill_after_every_step_of_a_sync_loses_and_repeats_nothing(self):
        """The mbsync technique on a sync: a cache synced once, a server that
        moved on (creates, updates, archives, deletes), and focussyncd
        SIGKILLed by itself after step k of the next sync, for every k. The
        run after the kill must reach the server's state and leave the same
        change log as an uninterrupted sync: each change once, none lost."""
        sim = SimProcess("--projects", "240", "--api-key", KEY, "--seed", "29")
        base = Setup(sim, "[sync]\nper_page = 50\nmembers = \"never\"\n")
        try:
            self.assertEqual(base.once().returncode, 0)
            sim.control("POST", "mutate", {"creates": 7, "updates": 9, "archives": 2, "deletes": 3})
            server = server_live_ids(sim)

            def run(crash_after=None):
                s = Setup(sim, "[sync]\nper_page = 50\nmembers = \"never\"\n")
                with contextlib.closing(sqlite3.connect(base.cache)) as src, \
                        contextlib.closing(sqlite3.connect(s.cache)) as dst:
                    src.backup(dst)
                with contextlib.closing(sqlite3.connect(s.cache)) as db:
                    first_seq = db.execute("SELECT coalesce(max(seq), 0) FROM changes").fetchone()[0]
                crashed = s.once(*(["--crash-after-steps", str(crash_after)] if crash_after else []))
                return s, first_seq, crashed

            def changes(s, first_seq):
                with contextlib.closing(sqlite3.connect(s.cache)) as db:
                    return sorted(db.execute("SELECT project_id, kind FROM changes WHERE seq > ? AND kind != 'edit'",
                                             (first_seq,)).fetchall())

            reference, first_seq, p = run()
            self.assertEqual(p.returncode, 0, p.stderr)
            expected = changes(reference, first_seq)
            self.assertEqual(reference.live_ids(), server)
            self.assertGreaterEqual(len(expected), 7 + 3, expected)
            reference.close()
            k = 0
            while True:
                k += 1
                self.assertLess(k, 300, "the sync never finished: the step count does not converge")
                s, first_seq, crashed = run(k)
                try:
                    if crashed.returncode == 0:
                        self.assertEqual(changes(s, first_seq), expected, f"k={k} (no crash)")
                        break
                    self.assertEqual(crashed.returncode, -signal.SIGKILL, f"k={k}: {crashed.stderr}")
                    with contextlib.closing(sqlite3.connect(s.cache)) as db:
                        self.assertEqual(db.execute("PRAGMA integrity_check").fetchone()[0], "ok", f"k={k}")
                    again = s.once()
                    self.assertEqual(again.returncode, 0, f"k={k}: {again.stderr}")
                    self.assertEqual(s.live_ids(), server, f"k={k}: the mirror did not converge")
                    self.assertEqual(changes(s, first_seq), expected, f"k={k}: the change log differs")
                finally:
                    s.close()
            self.assertGreater(k, 10, "a sync of five pages with deletions should have more than 10 steps")
            print(f"\nsync crash test: {k - 1} abort points, each converged with every change logged once",
                  file=sys.stderr)
        finally:
            base.close()
            sim.stop()


if __name__ == "__main__":
    unittest.main()
