"""A hostile upstream: focussyncd (service mode, a real process) against a
focus-sim whose answers are wrong inside, one kind of fault per case: error
texts and string fields that are not UTF-8, writes refused 400 in broken
UTF-8, 2xx garbage on writes, fields of the wrong JSON type, huge numbers,
deep nesting, a parent cycle in the answers and one in the server's state.

The kinds that spoil an answer's content (bad UTF-8, wrong types, huge
numbers, deep nesting) strike twice per case: first every answer, reads
included, while the daemon syncs (at least two listings are served hostile);
then, with focus-sim's hostile_writes_only, the answers of the writes alone,
so the listing succeeds and the queued edit is sent and meets the fault.

For each case, what a user would notice:
  * the daemon goes on syncing: once the fault is off, a project another
    user creates (through /_sim/mutate) reaches the mirror, read through the
    socket;
  * the edit the fault struck ends in a named state (failed, unknown_outcome,
    pending with an error, done), never stuck in_flight, and its error, if
    any, is readable valid UTF-8; once the fault is off, an edit the server
    applied is done and the mirror shows it;
  * /v1/status answers 200 with valid UTF-8 JSON throughout (polled every
    quarter second by a watcher thread);
  * SIGTERM stops the process within 10 s, exit code 0.
"""
import json
import os
import signal
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "sim"))
from simproc import KEY, SimProcess  # noqa: E402
from test_socket import BASE, Daemon  # noqa: E402

SETTLED_WITH_FAULT_S = 15   # for the struck edit to reach a named state while the fault is on
AFTER_FAULT_S = 20          # for the daemon to recover once it is off
STOP_S = 10
READ_TIMEOUT_S = 5          # any socket request; a wedged daemon fails the test instead of hanging it
CLEAR = {"offline": False, "bad_utf8_rate": 0, "refuse_writes_rate": 0, "garbage_writes_rate": 0,
         "wrong_types_rate": 0, "huge_numbers_rate": 0, "deep_nesting_rate": 0, "cycle": False,
         "hostile_writes_only": False}
WRITES_ONLY = {"hostile_writes_only": True}


def readable(text):
    """Why `text` (bytes or str) is not a readable error, or None."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as e:
            return f"not UTF-8: {e}"
    if not isinstance(text, str) or not text.strip():
        return f"empty or not a string: {text!r}"
    if any(ord(c) < 0x20 and c not in "\n\t" for c in text):
        return f"control characters: {text!r}"
    return None


def strict_json(body):
    """The body parsed as UTF-8 JSON; raises on anything else."""
    return json.loads(body.decode("utf-8"))


class StatusWatcher(threading.Thread):
    """Polls /v1/status until stopped; every answer must be 200 and valid UTF-8 JSON."""

    def __init__(self, daemon):
        super().__init__(daemon=True)
        self.d, self.problems, self.polls = daemon, [], 0
        self.halt = threading.Event()

    def run(self):
        while not self.halt.is_set():
            started = time.monotonic()
            try:
                r = self.d.request("GET", "/v1/status", timeout=READ_TIMEOUT_S)
                if r.status != 200:
                    self.problems.append(f"/v1/status answered {r.status}")
                else:
                    status = strict_json(r.body)
                    for w in status["workspaces"]:
                        if w["last_error"] is not None and readable(w["last_error"]):
                            self.problems.append(f"last_error {readable(w['last_error'])}")
            except Exception as e:  # noqa: BLE001 - a hang, a closed socket, bad bytes: all count
                if self.d.proc.poll() is not None:
                    self.problems.append(f"focussyncd exited with {self.d.proc.returncode}")
                    return
                self.problems.append(f"/v1/status: {type(e).__name__}: {e}"[:300])
            self.polls += 1
            self.halt.wait(max(0.0, 0.25 - (time.monotonic() - started)))

    def stop(self):
        self.halt.set()
        self.join(READ_TIMEOUT_S + 1)


class HostileUpstream(unittest.TestCase):
    seed = 40

    def setUp(self):
        HostileUpstream.seed += 1
        self.sim = self.d = self.watcher = None
        # Checks that fail without ending the case, so that one case tells all it can
        # (the edit stuck, and yet does the daemon go on syncing? stop in time?).
        self.problems = []

    def start(self, *sim_flags):
        self.sim = SimProcess("--projects", "12", "--seed", str(self.seed), "--api-key", KEY, *sim_flags)
        self.d = Daemon(self.sim)
        self.d.wait_synced()
        self.watcher = StatusWatcher(self.d)
        self.watcher.start()

    def tearDown(self):
        if self.watcher:
            self.watcher.stop()
        if self.d and self.d.proc.poll() is None:
            self.d.proc.kill()
            self.d.proc.wait()
        if self.d:
            self.d.log.close()
            self.d.dir.cleanup()
        if self.sim:
            self.sim.stop()

    # -- helpers ----------------------------------------------------------------
    def log_tail(self):
        return "\n--- focussyncd log (tail) ---\n" + self.d.output()[-2500:]

    def get(self, path):
        return self.d.request("GET", path, timeout=READ_TIMEOUT_S)

    def plain_projects(self):
        return sorted(p["id"] for p in self.sim.state()["projects"]
                      if p["deleted_at"] is None and p["archived_at"] is None)

    def queue_offline(self, fault, edits):
        """Queues `edits` [(method, path, body)] while the server is unreachable, then
        turns the fault on and the server back on; answers the edits' ids."""
        self.sim.control("PUT", "faults", {"offline": True})
        ids = []
        for method, path, body in edits:
            r = self.d.request(method, path, body, timeout=READ_TIMEOUT_S)
            self.assertIn(r.status, (201, 204), r.body)
            ids.append(int(r.header("X-Focussync-Edit")))
        self.sim.control("PUT", "faults", {**CLEAR, **fault})
        self.d.request("POST", "/v1/sync", timeout=READ_TIMEOUT_S)  # now, not after the offline backoff
        return ids

    def soft(self, ok, message):
        if not ok:
            self.problems.append(message)

    def hostile_reads(self, fault, listings=2, timeout=20):
        """Turns `fault` on for every answer until the daemon has read `listings` listings."""
        self.sim.control("DELETE", "stats")
        self.sim.control("PUT", "faults", {**CLEAR, **fault})
        self.sim.control("POST", "mutate", {"touch_all": True})  # every project is news: all are read hostile
        deadline = time.monotonic() + timeout
        while self.sim.control("GET", "stats")["by_route"].get("GET /projects", 0) < listings:
            if time.monotonic() > deadline:
                self.fail(f"the daemon read fewer than {listings} listings in {timeout} s" + self.log_tail())
            time.sleep(0.1)
        self.assertIsNone(self.d.proc.poll(), "focussyncd died on a hostile listing" + self.log_tail())
        self.assertEqual(self.get("/v1/status").status, 200)
        self.local_listing_readable()

    def local_listing_readable(self):
        """What the mirror holds is served as UTF-8 JSON a standard reader takes (Python's
        json: nested under ~1,000 levels), whatever the server sent."""
        r = self.get(f"{BASE}?archived=&per_page=200")
        self.assertEqual(r.status, 200, r.body[:300])
        try:
            strict_json(r.body)
        except (UnicodeDecodeError, RecursionError, json.JSONDecodeError) as e:
            self.problems.append(f"the socket's listing is unreadable: {type(e).__name__}: {str(e)[:200]}")

    def edit(self, edit_id):
        r = self.get(f"/v1/edits/{edit_id}")
        self.assertEqual(r.status, 200, r.body)
        return strict_json(r.body)

    def wait_named_state(self, edit_id, states, timeout=SETTLED_WITH_FAULT_S):
        """Waits for the edit to reach one of `states` ("pending" counts only with an
        error); checks its error is readable. Answers the edit."""
        deadline = time.monotonic() + timeout
        seen = []
        while True:
            e = self.edit(edit_id)
            if not seen or seen[-1] != e["state"]:
                seen.append(e["state"])
            named = e["state"] in states and (e["state"] != "pending" or e["last_error"])
            if named:
                if e["last_error"] is not None:
                    self.assertIsNone(readable(e["last_error"]), e)
                return e
            if time.monotonic() > deadline:
                self.problems.append(f"edit {edit_id} did not reach {sorted(states)} in {timeout} s: states seen "
                                     f"{seen}, last_error {e['last_error']!r}")
                return e
            time.sleep(0.1)

    def fault_off_and_check_syncing(self):
        """Turns every fault off; another user's new project must reach the mirror."""
        self.sim.control("PUT", "faults", CLEAR)
        created = self.sim.control("POST", "mutate", {"creates": 1})["created"][0]
        theirs = self.sim.request("GET", self.sim.projects_path(rest=f"/{created}")).json()
        deadline = time.monotonic() + AFTER_FAULT_S
        unanswered = 0
        while True:
            try:
                r = self.get(f"{BASE}/{created}")
                if r.status == 200 and strict_json(r.body)["name"] == theirs["name"]:
                    return
            except OSError as e:
                r = e
                unanswered += 1
            if time.monotonic() > deadline or unanswered == 2:  # twice no answer in 5 s: wedged
                self.problems.append(f"another user's project {created} did not reach the mirror within "
                                     f"{AFTER_FAULT_S} s after the fault was off (last read: {getattr(r, 'status', r)})")
                return
            time.sleep(0.2)

    def local_equals_server(self, project_id, fields):
        deadline = time.monotonic() + AFTER_FAULT_S
        server = self.sim.request("GET", self.sim.projects_path(rest=f"/{project_id}")).json()
        while True:
            r = self.get(f"{BASE}/{project_id}")
            local = strict_json(r.body) if r.status == 200 else {}
            if all(local.get(f) == server[f] for f in fields):
                return
            if time.monotonic() > deadline:
                self.problems.append(f"project {project_id}: local {[local.get(f) for f in fields]} != server "
                                     f"{[server[f] for f in fields]}")
                return
            time.sleep(0.2)

    def finish(self):
        """The watcher saw nothing wrong; SIGTERM stops the process in time, exit 0."""
        # A case can be over before the watcher has polled a few times (the
        # daemon settles a read-back in milliseconds): give it the chance,
        # so that "answered only N polls" means a status that did not answer.
        deadline = time.monotonic() + 5
        while self.watcher.polls <= 3 and time.monotonic() < deadline and self.watcher.is_alive():
            time.sleep(0.05)
        self.watcher.stop()
        self.problems += self.watcher.problems[:5]
        if os.environ.get("FOCUS_HOSTILE_LOG"):  # to see what the daemon made of each fault
            print(f"\n--- {self.id()} ---\n" + self.d.output(), file=sys.stderr)
        if self.watcher.polls <= 3:
            self.problems.append(f"/v1/status answered only {self.watcher.polls} polls")
        if self.d.proc.poll() is not None:
            self.problems.append(f"focussyncd died (exit {self.d.proc.returncode})")
        else:
            self.d.proc.send_signal(signal.SIGTERM)
            try:
                code = self.d.proc.wait(timeout=STOP_S)
                if code != 0:
                    self.problems.append(f"SIGTERM: exit {code}")
            except subprocess.TimeoutExpired:
                self.problems.append(f"SIGTERM did not stop focussyncd within {STOP_S} s")
        self.assertEqual(self.problems, [], self.log_tail())

    def applied_edit_case(self, fault, while_on):
        """`fault` on every answer for two listings; then an offline rename, replayed
        while `fault` strikes the writes' answers: it reaches a state of `while_on`;
        once the fault is off it is done and the mirror shows it."""
        self.start()
        self.hostile_reads(fault)
        target = self.plain_projects()[0]
        [edit] = self.queue_offline({**fault, **WRITES_ONLY},
                                    [("PATCH", f"{BASE}/{target}", {"name": "Hostile rename"})])
        self.wait_named_state(edit, while_on)
        self.fault_off_and_check_syncing()
        self.wait_named_state(edit, {"done"}, timeout=AFTER_FAULT_S)
        self.soft(self.sim.request("GET", self.sim.projects_path(rest=f"/{target}")).json()["name"] == "Hostile rename",
                  "the rename is not on the server")
        self.local_equals_server(target, ["name", "updated_at"])
        self.local_listing_readable()
        self.finish()

    # -- the cases ------------------------------------------------------------
    def test_refused_write_in_broken_utf8(self):
        """The issue's first case: 400 whose text is cut mid-character or not UTF-8."""
        self.start()
        target = self.plain_projects()[0]
        before = self.sim.request("GET", self.sim.projects_path(rest=f"/{target}")).json()["name"]
        [edit] = self.queue_offline({"refuse_writes_rate": 1},
                                    [("PATCH", f"{BASE}/{target}", {"name": "Refused rename"})])
        failed = self.wait_named_state(edit, {"failed"})
        self.soft("400" in (failed["last_error"] or ""), f"the error does not name the 400: {failed['last_error']!r}")
        self.fault_off_and_check_syncing()
        self.soft(self.edit(edit)["state"] == "failed", "a refused edit stays failed until retried")
        self.soft(self.sim.request("GET", self.sim.projects_path(rest=f"/{target}")).json()["name"] == before,
                  "a refused edit changed the server")
        self.finish()

    def test_bad_utf8_in_error_texts_and_string_fields(self):
        self.start()
        self.hostile_reads({"bad_utf8_rate": 1})
        a, b = self.plain_projects()[:2]
        rename, bad_client = self.queue_offline({"bad_utf8_rate": 1, **WRITES_ONLY}, [
            ("PATCH", f"{BASE}/{a}", {"name": "Hostile rename"}),
            ("PATCH", f"{BASE}/{b}", {"client_id": 424242}),  # refused by the server, the text then broken
        ])
        refused = self.wait_named_state(bad_client, {"failed"})
        self.soft("424242" in (refused["last_error"] or ""), f"the error does not name 424242: {refused['last_error']!r}")
        self.wait_named_state(rename, {"unknown_outcome", "pending", "failed", "done"})
        self.fault_off_and_check_syncing()
        self.wait_named_state(rename, {"done"}, timeout=AFTER_FAULT_S)
        self.local_equals_server(a, ["name", "updated_at"])
        self.finish()

    def test_garbage_answer_to_a_write(self):
        self.start()
        target = self.plain_projects()[0]
        [edit] = self.queue_offline({"garbage_writes_rate": 1},
                                    [("PATCH", f"{BASE}/{target}", {"description": "answered with garbage"})])
        # Applied, its answer unreadable: unknown until read back (reads are not struck, so it may settle).
        self.wait_named_state(edit, {"unknown_outcome", "done"})
        self.fault_off_and_check_syncing()
        done = self.wait_named_state(edit, {"done"}, timeout=AFTER_FAULT_S)
        # Not taken as applied on the strength of an answer nobody could read: it was
        # proven by reading the project back, as when an answer is lost.
        self.soft("read" in (done["note"] or "").lower(),
                  f"done on the strength of an unreadable answer (note {done['note']!r}), not proven by reading back")
        self.local_equals_server(target, ["description", "updated_at"])
        self.finish()

    def test_wrong_json_types(self):
        self.applied_edit_case({"wrong_types_rate": 1}, {"unknown_outcome", "pending", "failed", "done"})

    def test_huge_numbers(self):
        self.applied_edit_case({"huge_numbers_rate": 1}, {"unknown_outcome", "pending", "failed", "done"})

    def test_deep_nesting(self):
        self.applied_edit_case({"deep_nesting_rate": 1, "nesting_depth": 40000},
                               {"unknown_outcome", "pending", "failed", "done"})

    def check_trees_bounded(self, a, b):
        for tree in ("children", "parents"):
            started = time.monotonic()
            try:
                r = self.get(f"{BASE}/{a}/{tree}")
            except OSError as e:
                self.problems.append(f"GET {tree} of a project in a cycle: {type(e).__name__} {e}")
                continue
            self.assertLess(time.monotonic() - started, 2, tree)
            self.assertEqual(r.status, 200, r.body[:300])
            ids = [p["id"] for p in strict_json(r.body)["data"]]
            self.assertEqual(len(ids), len(set(ids)), f"{tree}: a project listed twice: {ids}")
            self.assertIn(b, ids, tree)

    def test_parent_cycle_in_the_listing(self):
        self.start("--cycle")
        a, b = sorted(p["id"] for p in self.sim.state()["projects"] if p["deleted_at"] is None)[:2]
        r = self.get(f"{BASE}/{a}")
        self.assertEqual(strict_json(r.body)["parent_project_id"], b, "the mirror holds what the server sent")
        self.check_trees_bounded(a, b)
        self.fault_off_and_check_syncing()
        self.finish()

    def test_parent_cycle_in_the_server_state(self):
        self.start()
        a, b = self.sim.control("POST", "mutate", {"cycle": True})["cycled"]
        deadline = time.monotonic() + AFTER_FAULT_S
        while strict_json(self.get(f"{BASE}/{a}").body).get("parent_project_id") != b:
            self.assertLess(time.monotonic(), deadline, "the cycle did not reach the mirror" + self.log_tail())
            time.sleep(0.2)
        self.check_trees_bounded(a, b)
        self.fault_off_and_check_syncing()
        self.finish()


if __name__ == "__main__":
    unittest.main()
