"""The durability contract under simulated power loss (docs/promises/durability.md).

focussyncd runs with tests/powerloss/powerloss_vfs.cpp LD_PRELOADed: SQLite's
writes stay in the process until SQLite syncs them, so killing the process
loses exactly what a power cut would lose (the kernel's page cache). After
each cut the cache is reopened WITHOUT the shim (its -shm removed, as after a
reboot) and checked.

  * Acknowledgement: with the server offline, each edit of a replay scenario
    is sent to the socket, and the power is cut as soon as its 201/204 with
    X-Focussync-Edit has reached the client. The edit must be in the cache.
  * Replay: from that cache, with the server back, focussyncd --once loses
    power after its k-th durable step (--crash-after-steps: in flight,
    answered, settled, and the listing's steps), for every k, every other
    cut also tearing the unsynced sectors (a random half reaches the disk);
    then at the n-th sync SQLite asks for, for every n (inside a commit: its
    frames written, not yet on disk), torn. After each cut: integrity_check
    ok, every acknowledged edit present, no write at focus-sim twice; then a
    normal run converges to the expected server state with every write sent
    exactly once.
  * The harness can fail: with FOCUSSYNC_UNSAFE_SYNCHRONOUS_NORMAL (the
    behaviour before the contract) the same cuts lose an acknowledged edit
    and send a create twice, and the tests say so.
  * strace: around one queued edit, the cache's -wal is fdatasync'ed after
    the request is read and before the 201 is written (and not, without the
    contract).
"""
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "sim"))
from daemonconf import UnixConnection, write_config  # noqa: E402
from simproc import SimProcess  # noqa: E402

DAEMON = os.environ.get("FOCUS_DAEMON", "build/bin/focussyncd")
VFS = os.environ.get("FOCUS_POWERLOSS_VFS", "build/tests/powerloss/libfocus-powerloss-vfs.so")
KEY = "toggl_sk_powerloss_test_3c9d"
SIM_ARGS = ("--projects", "30", "--seed", "21", "--api-key", KEY)
USER = 1520  # a user of workspace 1 in focus-sim's seed data
BASE = "/api/organizations/1/workspaces/1/projects"
UNSAFE = {"FOCUSSYNC_UNSAFE_SYNCHRONOUS_NORMAL": "1"}
CREATES = ("Crash parent", "Crash child", "Crash solo")
# What the replay must send, once each: 10 edits, a patch folded into its create.
WRITES = {"POST /projects": 3, "PATCH /projects/{id}": 1, "PATCH /projects/{id}/archive": 1,
          "POST /projects/{id}/pinned": 1, "DELETE /projects/{id}": 1, "POST /projects/{id}/members": 1,
          "PUT /projects/{id}": 1}


def scenario(x, y, z, w):
    """The edits, as (label, method, path, body); a path or body may be a
    function of the temporary ids answered so far (by label)."""
    return [
        ("create parent", "POST", BASE, {"name": "Crash parent"}),
        ("create child", "POST", BASE, lambda t: {"name": "Crash child", "parent_project_id": t["create parent"]}),
        ("patch parent", "PATCH", lambda t: f"{BASE}/{t['create parent']}", {"color": "#0a0b0c"}),
        ("archive child", "PATCH", lambda t: f"{BASE}/{t['create child']}/archive", None),
        ("rename", "PATCH", f"{BASE}/{x}", {"name": "Crash renamed"}),
        ("pin", "POST", f"{BASE}/{y}/pinned", None),
        ("delete", "DELETE", f"{BASE}/{z}", None),
        ("members", "POST", f"{BASE}/{x}/members", {"user_ids": [USER], "role_id": 3}),
        ("put", "PUT", f"{BASE}/{w}", {"name": "Crash put", "billable": True}),
        ("create solo", "POST", BASE, {"name": "Crash solo", "description": "no parent"}),
    ]


def socket_request(path, method, target, body):
    conn = UnixConnection(path, timeout=15)
    try:
        conn.request(method, target, body=None if body is None else json.dumps(body).encode())
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def copy_cache(source, target):
    """A consistent copy of a WAL database, by SQLite's backup."""
    with contextlib.closing(sqlite3.connect(source)) as src, contextlib.closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


def writes_seen(sim):
    """focus-sim's count of every request that is not a read, by route."""
    return {route: n for route, n in sim.control("GET", "stats")["by_route"].items() if not route.startswith("GET ")}


class Cache:
    """A folder with a key file, a configuration pointing at `sim`, the cache."""

    def __init__(self, sim, sync='interval = "1s"'):
        self.dir = tempfile.mkdtemp(prefix="focus-powerloss-")
        paths = write_config(self.dir, sim.port, KEY, upstream='timeout = "5s"', sync=sync)
        self.cache, self.socket, self.config = paths["cache"], paths["socket"], paths["config"]
        self.report = os.path.join(self.dir, "powerloss-report")

    def env(self, shim, tear=None, extra=None):
        env = dict(os.environ)
        if shim:
            env["LD_PRELOAD"] = VFS
            env["FOCUS_POWERLOSS_REPORT"] = self.report
            # Under AddressSanitizer the shim is preloaded ahead of its runtime.
            env["ASAN_OPTIONS"] = (env.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0").lstrip(":")
            if tear is not None:
                env["FOCUS_POWERLOSS_TEAR"] = str(tear)
        env.update(extra or {})
        return env

    def once(self, *args, shim=False, tear=None, extra=None):
        return subprocess.run([DAEMON, "--config", self.config, "--once", "--log-level", "warn", *args],
                              capture_output=True, text=True, timeout=120, env=self.env(shim, tear, extra))

    def once_cut_at_sync(self, n, tear):
        """--once, with the power cut at the shim's n-th sync (inside a commit)."""
        return self.once(shim=True, tear=tear, extra={"FOCUS_POWERLOSS_CRASH_AT_SYNC": str(n)})

    def start(self, shim=True, extra=None, wrapper=()):
        """focussyncd in service mode; answers once its socket accepts."""
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.socket)  # left by the last power cut
        log = open(os.path.join(self.dir, "daemon.log"), "a")
        proc = subprocess.Popen([*wrapper, DAEMON, "--config", self.config, "--log-level", "warn"], stdout=log,
                                stderr=subprocess.STDOUT, env=self.env(shim, extra=extra))
        log.close()
        deadline = time.monotonic() + 30
        while not self.accepts():
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                proc.wait()
                raise AssertionError("focussyncd did not start: " + self.log())
            time.sleep(0.01)
        return proc

    def accepts(self):
        with contextlib.closing(socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)) as s:
            try:
                s.connect(self.socket)
                return True
            except OSError:
                return False

    def daemon_pid(self):
        """The pid focussyncd writes into its cache's lock file."""
        with open(self.cache + ".lock") as f:
            return int(f.read().strip())

    def log(self):
        with open(os.path.join(self.dir, "daemon.log")) as f:
            return f.read()[-4000:]

    def shim_loads(self):
        """How many processes the shim was active in (one line each)."""
        if not os.path.exists(self.report):
            return 0
        with open(self.report) as f:
            return sum(line.startswith("loaded ") for line in f)

    def cut_report(self):
        """The shim's crash lines so far (it writes one when focussyncd raises SIGKILL)."""
        if not os.path.exists(self.report):
            return []
        with open(self.report) as f:
            return [line for line in f.read().splitlines() if line.startswith("crash ")]

    def reboot(self):
        """After a power cut: the -shm is memory, meaningless after a reboot."""
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.cache + "-shm")

    def integrity(self):
        with contextlib.closing(sqlite3.connect(self.cache)) as db:
            return db.execute("PRAGMA integrity_check").fetchone()[0]

    def edits(self):
        with contextlib.closing(sqlite3.connect(self.cache)) as db:
            return {row[0]: (row[1], row[2]) for row in db.execute("SELECT id, state, last_error FROM edits")}

    def live_mirror(self):
        with contextlib.closing(sqlite3.connect(self.cache)) as db:
            return {row[0]: json.loads(row[1]) for row in db.execute("SELECT id, body FROM projects WHERE deleted = 0")}

    def close(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def acknowledge_and_cut(cache, steps, temporary, extra=None):
    """Sends each edit of `steps` to a fresh focussyncd (under the shim) and
    cuts the power right after the answer reached us. Answers the edit ids
    acknowledged, by label, and what was wrong after each cut."""
    acked, problems = {}, []
    for label, method, path, body in steps:
        proc = cache.start(shim=True, extra=extra)
        try:
            target = path(temporary) if callable(path) else path
            payload = body(temporary) if callable(body) else body
            status, headers, answer = socket_request(cache.socket, method, target, payload)
            proc.send_signal(signal.SIGKILL)  # the power goes the moment the answer is in
            proc.wait()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        if status not in (201, 204) or not re.fullmatch(r"\d+", headers.get("x-focussync-edit", "")):
            raise AssertionError(f"{label}: {method} {target} answered {status} {answer!r}")
        acked[label] = int(headers["x-focussync-edit"])
        if method == "POST" and target == BASE:
            temporary[label] = json.loads(answer)["id"]
        if cache.shim_loads() != len(acked):
            raise AssertionError(f"{label}: the power-loss shim was not active in focussyncd")
        cache.reboot()
        check = cache.integrity()
        if check != "ok":
            problems.append(f"after the cut following '{label}': integrity_check says {check}")
        stored = cache.edits()
        lost = [name for name, edit in acked.items() if edit not in stored]
        if lost:
            problems.append(f"after the cut following '{label}': acknowledged edit(s) lost: {lost}")
    return acked, problems


class PowerLoss(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sim = SimProcess(*SIM_ARGS)
        cls.source = Cache(cls.sim)
        p = cls.source.once()
        assert p.returncode == 0, p.stderr
        plain = [p for p in sorted(cls.source.live_mirror().values(), key=lambda p: p["id"])
                 if p["archived_at"] is None and not p["pinned"]]
        cls.x, cls.y, cls.z, cls.w = (p["id"] for p in plain[:4])
        # A copy of the synced cache for the tests that start from before the edits.
        cls.synced = os.path.join(cls.source.dir, "synced.db")
        copy_cache(cls.source.cache, cls.synced)
        cls.sim.control("PUT", "faults", {"offline": True})
        cls.temporary = {}
        cls.acked, cls.ack_problems = acknowledge_and_cut(cls.source, scenario(cls.x, cls.y, cls.z, cls.w),
                                                          cls.temporary)
        cls.prepared = os.path.join(cls.source.dir, "prepared.db")
        copy_cache(cls.source.cache, cls.prepared)

    @classmethod
    def tearDownClass(cls):
        cls.source.close()
        cls.sim.stop()

    def fresh(self, start_from):
        """A server in the scenario's starting state, and a copy of a cache."""
        sim = SimProcess(*SIM_ARGS)
        c = Cache(sim)
        copy_cache(start_from, c.cache)
        return sim, c

    # --- what a cut may and may not do --------------------------------------

    def after_cut_problems(self, sim, c):
        problems = []
        check = c.integrity()
        if check != "ok":
            problems.append(f"integrity_check: {check}")
        stored = c.edits()
        lost = [label for label, edit in self.acked.items() if edit not in stored]
        if lost:
            problems.append(f"acknowledged edits lost: {lost}")
        twice = {route: n for route, n in writes_seen(sim).items() if n > WRITES.get(route, 0)}
        if twice:
            problems.append(f"writes sent more often than the scenario makes them: {twice}")
        return problems

    def outcome_problems(self, sim, c):
        """What differs from the scenario done exactly once."""
        problems = []
        state = sim.state()
        live = [p for p in state["projects"] if p["deleted_at"] is None]
        by_name = {}
        for p in live:
            by_name.setdefault(p["name"], []).append(p)
        for name in CREATES:
            if len(by_name.get(name, [])) != 1:
                problems.append(f"'{name}' exists {len(by_name.get(name, []))} times on the server")
        if problems:
            return problems
        parent, child = by_name["Crash parent"][0], by_name["Crash child"][0]
        projects = {p["id"]: p for p in state["projects"]}
        expect = [
            (parent["color"] == "#0a0b0c", "the parent's colour"),
            (child["parent_project_id"] == parent["id"], "the child's parent"),
            (child["archived_at"] is not None, "the child archived"),
            (projects[self.x]["name"] == "Crash renamed", "the rename"),
            (projects[self.y]["pinned"], "the pin"),
            (projects[self.z]["deleted_at"] is not None, "the delete"),
            (projects[self.w]["name"] == "Crash put" and projects[self.w]["billable"], "the PUT"),
            ([m["user_id"] for m in state["members"][str(self.x)]["user_ids"]].count(USER) == 1, "the member"),
        ]
        problems += [f"{what} is not on the server" for ok, what in expect if not ok]
        sent = writes_seen(sim)
        if sent != WRITES:
            problems.append(f"writes sent {sent}, expected each once: {WRITES}")
        edits = c.edits()
        not_done = {e: s for e, s in edits.items() if s[0] != "done"}
        if not_done:
            problems.append(f"edits not done: {not_done}")
        lost = [label for label, edit in self.acked.items() if edit not in edits]
        if lost:
            problems.append(f"acknowledged edits lost: {lost}")
        check = c.integrity()
        if check != "ok":
            problems.append(f"integrity_check: {check}")
        return problems

    # --- the tests -----------------------------------------------------------

    def test_an_acknowledged_edit_survives_a_power_cut_right_after_its_answer(self):
        self.assertEqual(len(self.acked), 10)
        self.assertEqual(self.ack_problems, [])
        self.assertEqual({s for s, _ in self.source.edits().values()}, {"pending"})

    def cut_and_recover(self, label, run):
        """One power cut during the replay, checked; then the next run.
        Answers None when `run` finished without being cut, else the cut's
        line from the shim."""
        sim, c = self.fresh(self.prepared)
        try:
            crashed = run(c)
            if crashed.returncode == 0:
                self.assertEqual(self.outcome_problems(sim, c), [], f"{label} (no cut)")
                return None
            self.assertEqual(crashed.returncode, -signal.SIGKILL, f"{label}: {crashed.stderr}")
            report = c.cut_report()
            self.assertEqual(len(report), 1, f"{label}: the shim did not cut the power ({report})")
            c.reboot()
            self.assertEqual(self.after_cut_problems(sim, c), [], f"{label}: after the cut ({report[0]})")
            again = c.once()
            self.assertEqual(again.returncode, 0, f"{label}: {again.stderr}")
            self.assertEqual(self.outcome_problems(sim, c), [], f"{label}: after the next run ({report[0]})")
            return report[0]
        finally:
            c.close()
            sim.stop()

    def test_power_cut_after_every_durable_step_and_inside_every_commit_of_the_replay(self):
        cuts = []
        # After each durable step (between transactions); every other cut
        # also writes a random half of what is not synced.
        for k in range(1, 200):
            cut = self.cut_and_recover(f"after step {k}",
                                       lambda c: c.once("--crash-after-steps", str(k), shim=True,
                                                        tear=k if k % 2 == 0 else None))
            if cut is None:
                break
            cuts.append(cut)
        else:
            self.fail("the replay never finished: the step count does not converge")
        steps = len(cuts)
        # At each sync SQLite asks for (inside a commit, its frames written
        # but not on disk), tearing what is held.
        for n in range(1, 200):
            cut = self.cut_and_recover(f"at sync {n}", lambda c: c.once_cut_at_sync(n, tear=1000 + n))
            if cut is None:
                break
            cuts.append(cut)
        else:
            self.fail("the replay never finished: the sync count does not converge")
        torn = sum(int(re.search(r"torn_in=(\d+)", cut).group(1)) > 0 for cut in cuts)
        self.assertGreater(torn, 5, "tearing never wrote a partial commit: the shim held nothing at the cuts")
        self.assertGreaterEqual(len(cuts) + len(self.acked), 30, "at least 30 power cuts")
        print(f"\npower loss: {len(self.acked)} cuts right after an acknowledgement, {steps} after a durable step "
              f"of the replay, {len(cuts) - steps} inside a commit; {torn} with torn sectors written; "
              "nothing lost, nothing sent twice", file=sys.stderr)

    def test_without_the_contract_the_harness_sees_a_lost_edit_and_a_duplicate(self):
        # An acknowledgement not synced: the cut takes the edit.
        sim = SimProcess(*SIM_ARGS)
        c = Cache(sim)
        try:
            copy_cache(self.synced, c.cache)
            sim.control("PUT", "faults", {"offline": True})
            acked, problems = acknowledge_and_cut(c, scenario(self.x, self.y, self.z, self.w)[:1], {}, extra=UNSAFE)
            self.assertEqual(len(acked), 1)
            self.assertTrue(any("lost" in p for p in problems), problems)
        finally:
            c.close()
            sim.stop()
        # An in-flight mark not synced: the create is sent again after the cut.
        for k in range(1, 40):
            sim, c = self.fresh(self.prepared)
            try:
                crashed = c.once("--crash-after-steps", str(k), shim=True, extra=UNSAFE)
                if crashed.returncode == 0:
                    break
                c.reboot()
                again = c.once()
                self.assertEqual(again.returncode, 0, f"k={k}: {again.stderr}")
                problems = self.outcome_problems(sim, c)
                if problems:
                    self.assertTrue(any("exists 2 times" in p or "writes sent" in p for p in problems), problems)
                    print(f"\nwithout the contract, a cut after step {k} gives: {problems}", file=sys.stderr)
                    return
            finally:
                c.close()
                sim.stop()
        self.fail("with synchronous = NORMAL no power cut did any harm: the shim is not simulating power loss")


class SyncBeforeAcknowledgement(unittest.TestCase):
    """strace around one queued edit: the -wal is synced before the 201."""

    TRACED = "fsync,fdatasync,read,readv,recvfrom,recvmsg,write,writev,sendto,sendmsg"

    def trace_one_edit(self, extra=None):
        sim = SimProcess(*SIM_ARGS)
        c = Cache(sim)
        try:
            self.assertEqual(c.once().returncode, 0)
            target = min(c.live_mirror())
            sim.control("PUT", "faults", {"offline": True})
            trace = os.path.join(c.dir, "trace")
            strace = ["strace", "-f", "-qq", "-y", "-s", "48", "-e", "trace=" + self.TRACED, "-o", trace]
            proc = c.start(shim=False, extra=extra, wrapper=strace)
            try:
                time.sleep(0.5)  # the start-up listing fails (offline) and the daemon goes quiet
                # A first edit makes the -wal exist (SQLite syncs a new -wal's
                # header whatever the level); the second one is the traced one.
                warm_up = socket_request(c.socket, "PATCH", f"{BASE}/{target}", {"description": "first"})
                self.assertEqual(warm_up[0], 201, warm_up[2])
                status, headers, body = socket_request(c.socket, "PATCH", f"{BASE}/{target}", {"name": "Traced"})
                self.assertEqual(status, 201, body)
                self.assertRegex(headers.get("x-focussync-edit", ""), r"^\d+$")
            finally:
                os.kill(c.daemon_pid(), signal.SIGTERM)  # strace ends with its tracee
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
                    raise
            with open(trace) as f:
                lines = f.read().splitlines()
        finally:
            c.close()
            sim.stop()
        start = max(i for i, line in enumerate(lines) if '"PATCH /api/' in line)
        answer = next(i for i, line in enumerate(lines[start:], start) if '"HTTP/1.1 201' in line)
        synced = [line for line in lines[start:answer] if re.search(r"\b(fsync|fdatasync)\(\d+<[^>]*cache\.db(-wal)?>", line)]
        return synced, lines[start:answer + 1]

    @unittest.skipUnless(shutil.which("strace"), "strace is not installed (scripts/install-deps installs it)")
    def test_the_wal_is_synced_after_the_request_and_before_the_201(self):
        synced, window = self.trace_one_edit()
        self.assertTrue(synced, "no fsync/fdatasync of the cache between the request and the 201:\n" + "\n".join(window))
        # Without the contract the same trace shows none: the check can fail.
        unsynced, window = self.trace_one_edit(extra=UNSAFE)
        self.assertEqual(unsynced, [], "\n".join(window))


if __name__ == "__main__":
    unittest.main()
