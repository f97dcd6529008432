"""Offline edits through focussyncd as a process: the crash test the way
mbsync does it. A fixed scenario of edits is queued in a cache; focussyncd
then replays it and is SIGKILLed (by itself, at its --crash-after-steps
point) after step k of the replay, for every k; a restarted focussyncd must
finish the job. Every run must end with the server exactly as expected: no
edit lost, no create duplicated, every edit done, the cache intact."""
import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "sim"))
from simproc import SimProcess  # noqa: E402
from test_focussyncd import KEY, Setup  # noqa: E402

EDITS = os.environ.get("FOCUS_EDITS", "build/bin/focus-test-edits")
SIM_ARGS = ("--projects", "30", "--seed", "21", "--api-key", KEY)
USER = 1520  # a user of workspace 1 in focus-sim's seed data


def queue_edits(cache, lines):
    text = "\n".join(json.dumps(line) for line in lines) + "\n"
    p = subprocess.run([EDITS, cache, "submit"], input=text, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return [json.loads(line) for line in p.stdout.splitlines()]


def list_edits(cache):
    p = subprocess.run([EDITS, cache, "list"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def integrity(cache):
    p = subprocess.run([EDITS, cache, "check"], capture_output=True, text=True, timeout=60)
    return p.stdout.strip()


def live_mirror(cache):
    with contextlib.closing(sqlite3.connect(cache)) as db:
        return {row[0]: json.loads(row[1]) for row in db.execute("SELECT id, body FROM projects WHERE deleted = 0")}


def copy_cache(source, target):
    """A consistent copy of a WAL database (its -wal file included), by SQLite's backup."""
    with contextlib.closing(sqlite3.connect(source)) as src, contextlib.closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


class CrashDuringReplay(unittest.TestCase):
    """The scenario touches every kind of step: creates (one under another,
    by temporary id), a patch compacted into a create, an archive waiting for
    a real id, a patch, a pin, a delete, a members add and a PUT."""

    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.TemporaryDirectory(prefix="focus-crash-")
        sim = SimProcess(*SIM_ARGS)
        try:
            s = Setup(sim)
            p = s.once()
            assert p.returncode == 0, p.stderr
            projects = sorted(live_mirror(s.cache).values(), key=lambda p: p["id"])
            plain = [p for p in projects if p["archived_at"] is None and not p["pinned"]]
            cls.x, cls.y, cls.z, cls.w = (p["id"] for p in plain[:4])
            answers = queue_edits(s.cache, [
                {"op": "create", "body": {"name": "Crash parent"}},
                {"op": "create", "body": {"name": "Crash child"}, "parent_ref": 1},
                {"op": "patch", "project_ref": 1, "body": {"color": "#0a0b0c"}},
                {"op": "archive", "project_ref": 2},
                {"op": "patch", "project_id": cls.x, "body": {"name": "Crash renamed"}},
                {"op": "pin", "project_id": cls.y},
                {"op": "delete", "project_id": cls.z},
                {"op": "members_add", "project_id": cls.x, "body": {"user_ids": [USER], "role_id": 3}},
                {"op": "update", "project_id": cls.w, "body": {"name": "Crash put", "billable": True}},
                {"op": "create", "body": {"name": "Crash solo", "description": "no parent"}},
            ])
            assert all("edit" in a for a in answers), answers
            cls.prepared = os.path.join(cls.work.name, "prepared.db")
            copy_cache(s.cache, cls.prepared)
            s.close()
        finally:
            sim.stop()

    @classmethod
    def tearDownClass(cls):
        cls.work.cleanup()

    def fresh(self):
        """A new server in the scenario's starting state, and a copy of the prepared cache."""
        sim = SimProcess(*SIM_ARGS)
        s = Setup(sim)
        copy_cache(self.prepared, s.cache)
        return sim, s

    def check_outcome(self, sim, s, label):
        state = sim.state()
        live = [p for p in state["projects"] if p["deleted_at"] is None]
        by_name = {}
        for p in live:
            by_name.setdefault(p["name"], []).append(p)
        for name in ("Crash parent", "Crash child", "Crash solo"):
            self.assertEqual(len(by_name.get(name, [])), 1, f"{label}: {name} made {len(by_name.get(name, []))} times")
        parent, child = by_name["Crash parent"][0], by_name["Crash child"][0]
        self.assertEqual(parent["color"], "#0a0b0c", label)
        self.assertEqual(child["parent_project_id"], parent["id"], label)
        self.assertIsNotNone(child["archived_at"], label)
        projects = {p["id"]: p for p in state["projects"]}
        self.assertEqual(projects[self.x]["name"], "Crash renamed", label)
        self.assertTrue(projects[self.y]["pinned"], label)
        self.assertIsNotNone(projects[self.z]["deleted_at"], label)
        self.assertEqual(projects[self.w]["name"], "Crash put", label)
        self.assertTrue(projects[self.w]["billable"], label)
        members = [m["user_id"] for m in state["members"][str(self.x)]["user_ids"]]
        self.assertEqual(members.count(USER), 1, label)
        edits = list_edits(s.cache)
        self.assertEqual({e["state"] for e in edits}, {"done"}, f"{label}: {[(e['id'], e['state'], e['last_error']) for e in edits]}")
        stats = sim.control("GET", "stats")["by_route"]
        self.assertEqual(stats.get("POST /projects", 0), 3, f"{label}: creates sent {stats.get('POST /projects', 0)} times")
        self.assertEqual(integrity(s.cache), "ok", label)
        # The local view agrees with the server once the overlay has dissolved.
        self.assertEqual(live_mirror(s.cache)[parent["id"]]["parent_project_id"], None, label)
        self.assertEqual(live_mirror(s.cache)[child["id"]]["parent_project_id"], parent["id"], label)

    def test_uninterrupted_replay_reaches_the_expected_state(self):
        sim, s = self.fresh()
        try:
            p = s.once()
            self.assertEqual(p.returncode, 0, p.stderr)
            edits = json.loads(p.stdout)["workspaces"][0]["edits"]
            self.assertEqual(edits["compacted"], 1)
            self.assertEqual(edits["failed"] + edits["conflicts"], 0)
            self.check_outcome(sim, s, "no crash")
        finally:
            s.close()
            sim.stop()

    def test_sigkill_after_every_step_loses_and_duplicates_nothing(self):
        k = 0
        while True:
            k += 1
            self.assertLess(k, 200, "the replay never finished: the step count does not converge")
            sim, s = self.fresh()
            try:
                crashed = s.once("--crash-after-steps", str(k))
                if crashed.returncode == 0:
                    # Fewer than k steps: this run replayed everything; it is the last k.
                    self.check_outcome(sim, s, f"k={k} (no crash)")
                    break
                self.assertEqual(crashed.returncode, -signal.SIGKILL, f"k={k}: {crashed.stderr}")
                self.assertEqual(integrity(s.cache), "ok", f"k={k}: after the kill")
                again = s.once()
                self.assertEqual(again.returncode, 0, f"k={k}: {again.stderr}")
                self.check_outcome(sim, s, f"k={k}")
            finally:
                s.close()
                sim.stop()
        self.assertGreater(k, 20, "the scenario should have more than 20 abort points")
        print(f"\ncrash test: {k - 1} abort points, each recovered with nothing lost or duplicated", file=sys.stderr)


if __name__ == "__main__":
    unittest.main()


class ServiceReplays(unittest.TestCase):
    def test_edits_queued_while_offline_reach_the_server_when_it_returns(self):
        from test_focussyncd import running_daemon
        sim = SimProcess("--projects", "20", "--seed", "3", "--api-key", KEY)
        s = Setup(sim, extra='[sync]\ninterval = "1s"\n')
        try:
            self.assertEqual(s.once().returncode, 0)
            target = min(live_mirror(s.cache))
            queue_edits(s.cache, [
                {"op": "create", "body": {"name": "Made while offline"}},
                {"op": "patch", "project_id": target, "body": {"description": "edited while offline"}},
            ])
            sim.control("PUT", "faults", {"offline": True})
            with running_daemon(s):
                time.sleep(2)
                self.assertEqual([p for p in sim.state()["projects"] if p["name"] == "Made while offline"], [])
                sim.control("PUT", "faults", {"offline": False})
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline:
                    state = {p["id"]: p for p in sim.state()["projects"]}
                    made = [p for p in state.values() if p["name"] == "Made while offline"]
                    if made and state[target]["description"] == "edited while offline":
                        break
                    time.sleep(0.2)
                self.assertEqual(len(made), 1)
                self.assertEqual(state[target]["description"], "edited while offline")
            self.assertEqual({e["state"] for e in list_edits(s.cache)}, {"done"})
        finally:
            s.close()
            sim.stop()
