#!/usr/bin/env python3
"""focussync's reliability harness: random sequences of local edits (through
the socket), other users' changes, faults of every kind focus-sim has (half
of the fault steps also mix in a hostile upstream's, at small rates: text
not UTF-8, refused writes, garbage on writes, wrong types, huge numbers,
deep nesting, a parent cycle in the answers), and daemon restarts (clean,
or SIGKILL at a random moment), against a real focussyncd and focus-sim. After every step the daemon must answer; at the
end of each sequence, with the faults off and a quiet sync, these must hold:

  * every edit accepted by the socket has settled (none pending, in flight or
    unknown), none was lost: each one is done or failed with a reason;
  * no create was applied twice: each locally created name is on the server
    at most once, and exactly once when its edit is done;
  * the local view equals the server: the socket's full listing (archived=)
    is the server's live projects, field for field (after a sequence whose
    answers were wrong inside, every project is first saved again unchanged
    by another user, so the daemon reads each one once more from a sound
    answer: a server that sent a wrong value without changing updated_at
    leaves no other way to learn the right one);
  * the cache passes PRAGMA integrity_check.

Sequences run --jobs at a time, each with its own focus-sim and focussyncd.
Before them, one abuse round floods a daemon's socket (1,000 connections,
idle and half-sent ones among them, malformed, oversized and other users'
requests): every refusal must be answered (503, 400, 413, 431, 403) and
logged, and the daemon must serve a well-behaved client again as soon as
the stalled connections time out.

    torture.py [--sequences N] [--steps K] [--seed S] [--jobs J] [--no-hostile]

Prints a results table; exits 1 on the first broken invariant, with the
sequence's seed to replay it.
"""
import argparse
import collections
import contextlib
import json
import os
import random
import resource
import selectors
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "sim"))
BIN = os.environ.get("FOCUS_BIN", os.path.join(ROOT, "build", "bin"))
os.environ.setdefault("FOCUS_SIM", os.path.join(BIN, "focus-sim"))
from daemonconf import UnixConnection, write_config  # noqa: E402
from simproc import KEY, SimProcess  # noqa: E402

BASE = "/api/organizations/1/workspaces/1/projects"
FAULTS = [{"error_rate": 0.3}, {"drop_rate": 0.3}, {"truncate_rate": 0.3}, {"garbage_rate": 0.3},
          {"rate_limited_rate": 0.3}, {"offline": True}, {"latency_ms": 200}, {"drift": True}]
# A hostile upstream's faults, mixed into half of the fault steps. Those that
# spoil an answer's content (CONTENT) can leave the mirror holding what the
# server sent rather than what it stored; check() then has every project saved again.
HOSTILE = [{"bad_utf8_rate": 0.1}, {"refuse_writes_rate": 0.15}, {"garbage_writes_rate": 0.2},
           {"wrong_types_rate": 0.1}, {"huge_numbers_rate": 0.1}, {"deep_nesting_rate": 0.1},
           {"cycle": True}, {"hostile_writes_only": True, "bad_utf8_rate": 0.2, "wrong_types_rate": 0.2}]
CONTENT = ("bad_utf8_rate", "wrong_types_rate", "huge_numbers_rate", "deep_nesting_rate", "cycle")
CLEAR = {"offline": False, "error_rate": 0, "drop_rate": 0, "truncate_rate": 0, "garbage_rate": 0,
         "rate_limited_rate": 0, "latency_ms": 0, "drift": False, "bad_utf8_rate": 0, "refuse_writes_rate": 0,
         "garbage_writes_rate": 0, "wrong_types_rate": 0, "huge_numbers_rate": 0, "deep_nesting_rate": 0,
         "cycle": False, "hostile_writes_only": False}


class Broken(Exception):
    pass


def parse(body, what):
    """A socket answer as JSON: strict UTF-8, nested no deeper than a standard reader takes."""
    try:
        return json.loads(body.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise Broken(f"{what}: the answer is not UTF-8 ({e})") from None
    except RecursionError:
        raise Broken(f"{what}: the answer is nested too deep for a JSON reader") from None
    except json.JSONDecodeError as e:
        raise Broken(f"{what}: the answer is not JSON ({e}): {body[:200]!r}") from None


class Counts:
    """What happened, summed over every thread."""

    def __init__(self):
        self.lock = threading.Lock()
        self.values = collections.Counter()

    def add(self, key, n=1):
        with self.lock:
            self.values[key] += n


class Sequence:
    def __init__(self, seed, steps, counts, socket_extra="", shared_folder=False, hostile=True):
        self.rng = random.Random(seed)
        self.hostile = hostile
        self.spoilt = False  # a content fault was on: the mirror may hold what the server only said
        self.history = []  # the steps taken, for the report of a failure
        self.seed, self.steps, self.counts = seed, steps, counts
        self.dir = tempfile.mkdtemp(prefix="focus-torture-")
        self.sim = SimProcess("--projects", "25", "--seed", str(seed % 1000 + 1), "--api-key", KEY)
        self.socket = os.path.join(self.dir, "focussync.sock")
        state = self.dir
        if shared_folder:  # other users may reach the socket; its mode and SO_PEERCRED decide
            os.chmod(self.dir, 0o755)
            os.mkdir(os.path.join(self.dir, "run"), 0o755)
            self.socket = os.path.join(self.dir, "run", "focussync.sock")
            state = os.path.join(self.dir, "state")  # the cache's folder stays private
            os.mkdir(state, 0o700)
        paths = write_config(state, self.sim.port, KEY, upstream='timeout = "3s"', socket_path=self.socket,
                             sync='interval = "1s"\nconflicts = "local_wins"\nmembers = "never"',
                             socket_extra=socket_extra)
        self.cache, self.config = paths["cache"], paths["config"]
        self.daemon = None
        self.created = []  # names of local creates
        self.deleted_by_others = set()  # ids other users deleted (some may be restored since)
        self.edits = set()
        self.start()

    # -- processes ----------------------------------------------------------
    def start(self):
        self.log = open(os.path.join(self.dir, "log"), "a")
        self.daemon = subprocess.Popen([os.path.join(BIN, "focussyncd"), "--config", self.config, "--log-level", os.environ.get("FOCUS_TORTURE_LOG_LEVEL", "warn")],
                                       stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if self.request("GET", "/v1/status")[0] == 200:
                    return
            except OSError:
                time.sleep(0.02)
        raise Broken("focussyncd did not come up")

    def stop(self, kill):
        if kill:
            self.daemon.kill()
        else:
            self.daemon.send_signal(signal.SIGTERM)
        code = self.daemon.wait(timeout=30)
        if not kill and code != 0:
            raise Broken(f"focussyncd exited {code} on SIGTERM")
        self.log.close()

    def close(self):
        with contextlib.suppress(Exception):
            if self.daemon and self.daemon.poll() is None:
                self.stop(kill=True)
        with contextlib.suppress(Exception):
            self.sim.stop()
        subprocess.run(["rm", "-rf", self.dir])

    def request(self, method, path, body=None):
        conn = UnixConnection(self.socket)
        try:
            conn.request(method, path, body=None if body is None else json.dumps(body))
            r = conn.getresponse()
            return r.status, r.read(), {k.lower(): v for k, v in r.getheaders()}
        except TimeoutError:
            raise Broken(f"{method} {path}: no answer within {conn.timeout} s") from None
        finally:
            conn.close()

    # -- steps ----------------------------------------------------------------
    def local_ids(self):
        status, body, _ = self.request("GET", BASE + "?archived=&per_page=200")
        return [p["id"] for p in parse(body, "the local listing")["data"]]

    def step(self, i):
        kind = self.rng.choices(["edit", "edit", "edit", "other", "fault", "restart"], k=1)[0]
        self.counts.add(kind)
        self.history.append(kind)
        if kind == "edit":
            self.local_edit(i)
        elif kind == "other":
            change = self.rng.choice([{"updates": 2}, {"creates": 1}, {"archives": 1}, {"deletes": 1}, {"restores": 1}])
            self.deleted_by_others.update(self.sim.control("POST", "mutate", change)["deleted"])
        elif kind == "fault":
            fault = {**CLEAR, **self.rng.choice(FAULTS)}
            if self.hostile and self.rng.random() < 0.5:
                extra = self.rng.choice(HOSTILE)
                fault.update(extra)
                self.counts.add("hostile: " + ", ".join(f"{k}={v}" for k, v in sorted(extra.items())))
                self.spoilt |= any(k in extra for k in CONTENT)
            self.sim.control("PUT", "faults", fault)
            self.history[-1] = "fault " + json.dumps({k: v for k, v in fault.items() if CLEAR.get(k) != v})
        else:
            kill = self.rng.random() < 0.6
            if kill:
                time.sleep(self.rng.random() * 0.3)  # somewhere inside whatever it is doing
            self.stop(kill)
            self.counts.add("sigkill" if kill else "sigterm")
            self.start()
        status, _, _ = self.request("GET", "/v1/status")
        if status != 200:
            raise Broken(f"step {i}: /v1/status answered {status}")

    def local_edit(self, i):
        ids = self.local_ids()
        op = self.rng.choice(["create", "patch", "patch", "archive", "unarchive", "pin", "unpin", "delete"])
        target = self.rng.choice(ids) if ids else None
        if op == "create" or target is None:
            name = f"torture {self.seed} {i}"
            status, body, headers = self.request("POST", BASE, {"name": name})
            if status == 201:
                self.created.append(name)
        else:
            path = f"{BASE}/{target}"
            method, suffix, body = {
                "patch": ("PATCH", "", {"description": f"step {i}", "billable": self.rng.random() < 0.5}),
                "archive": ("PATCH", "/archive", None), "unarchive": ("PATCH", "/unarchive", None),
                "pin": ("POST", "/pinned", None), "unpin": ("DELETE", "/pinned", None), "delete": ("DELETE", "", None),
            }[op]
            status, _, headers = self.request(method, path + suffix, body)
        if status in (201, 204):
            self.edits.add(int(headers["x-focussync-edit"]))
            self.counts.add("edits accepted")
        elif status not in (400, 404):
            raise Broken(f"step {i}: {op} answered {status}")

    def settle_ambiguous_creates(self):
        """Answers as the user would a create the daemon cannot settle alone:
        its answer was lost, the key's user is not known yet, and the one
        project of its name on the server was changed since (another user's
        random update hit it), so the daemon names it as a candidate and
        waits (docs/running.md, "Exactly once"). The harness's create names
        are its own, so a candidate of that name is the create's project."""
        listed = parse(self.request("GET", "/v1/edits")[1], "/v1/edits")["edits"]
        server = {p["id"]: p for p in self.sim.state()["projects"]}
        for e in listed:
            if e["state"] != "unknown_outcome" or not e.get("candidates"):
                continue
            ours = [c for c in e["candidates"] if server.get(c, {}).get("name") == e["body"].get("name")]
            if len(ours) != 1:
                raise Broken(f"edit {e['id']}: candidates {e['candidates']}, none or several of them of its name")
            status, body, _ = self.request("POST", f"/v1/edits/{e['id']}/resolve", {"created_as": ours[0]})
            if status != 200:
                # The daemon may have settled it between the two requests.
                now = parse(self.request("GET", f"/v1/edits/{e['id']}")[1], "/v1/edits/ID")
                if now.get("state") == "unknown_outcome":
                    raise Broken(f"edit {e['id']}: resolve answered {status}: {body!r}")
                continue
            self.counts.add("creates settled by the user: the read-back could not tell")

    # -- the invariants -------------------------------------------------------
    def check(self):
        self.sim.control("PUT", "faults", CLEAR)
        if self.spoilt:
            self.sim.control("POST", "mutate", {"touch_all": True})
        deadline = time.monotonic() + 60
        while True:
            status, body, _ = self.request("POST", "/v1/sync?wait=1")
            edits = parse(self.request("GET", "/v1/status")[1], "/v1/status")["edits"]
            if edits["pending"] + edits["in_flight"] + edits["unknown_outcome"] == 0 and status == 200 \
                    and parse(body, "POST /v1/sync?wait=1").get("error") is None:
                break
            if edits["unknown_outcome"]:
                self.settle_ambiguous_creates()
            if time.monotonic() > deadline:
                raise Broken(f"edits did not settle: {edits}")
            time.sleep(0.05)
        self.request("POST", "/v1/sync?wait=1")  # a quiet sync after the replay
        listed = parse(self.request("GET", "/v1/edits")[1], "/v1/edits")["edits"]
        by_id = {e["id"]: e for e in listed}
        for e in self.edits:
            if e not in by_id:
                raise Broken(f"edit {e} was accepted and is gone")
            if by_id[e]["state"] not in ("done", "failed"):
                raise Broken(f"edit {e} is {by_id[e]['state']}")
            if by_id[e]["state"] == "failed" and not by_id[e]["last_error"]:
                raise Broken(f"edit {e} failed without a reason")
        everything = self.sim.state()["projects"]  # deleted ones too: another user may have deleted ours
        server = [p for p in everything if p["deleted_at"] is None]
        for name in set(self.created):
            made = sorted((p for p in everything if p["name"] == name), key=lambda p: p["id"])
            if len(made) > 1:
                # The one case the API leaves open: the create's answer was lost
                # and another user deleted the new project before it could be
                # read back (listings never show deleted projects), so it was
                # sent again; that user may even have restored it since.
                # Counted; any other second copy is a duplicate.
                if len(made) > 2 or made[0]["id"] not in self.deleted_by_others:
                    raise Broken(f"{name!r} was created {len(made)} times")
                self.counts.add("creates sent again: the first copy deleted by another user before the read-back")
        ever = {p["id"] for p in everything}
        for e in listed:
            if e["op"] != "create" or e["state"] != "done":
                continue
            if e["result_id"] is None:  # cancelled out by a later delete before it was sent: never made
                if any(p["name"] == e["body"].get("name") for p in everything):
                    raise Broken(f"edit {e['id']}: a create settled without being sent ({e['note']}) is on the server")
            elif e["result_id"] not in ever:
                raise Broken(f"edit {e['id']}: its create is done as {e['result_id']}, which the server never had")
        local = {}
        page = 1
        while True:
            data = parse(self.request("GET", f"{BASE}?archived=&include_rates=true&per_page=200&page={page}")[1],
                         "the local listing")["data"]
            local.update({p["id"]: p for p in data})
            if len(data) < 200:
                break
            page += 1
        remote = {p["id"]: p for p in server}
        if local != remote:
            only_local = sorted(set(local) - set(remote))
            only_remote = sorted(set(remote) - set(local))
            differ = [i for i in set(local) & set(remote) if local[i] != remote[i]][:3]
            raise Broken(f"local view != server: only local {only_local}, only remote {only_remote}, differ {differ}")
        self.stop(kill=False)
        with contextlib.closing(sqlite3.connect(self.cache)) as db:
            if db.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                raise Broken("integrity_check failed")


# -- socket abuse ------------------------------------------------------------
FLOOD = 1000
IDLE_TIMEOUT_S = 2


def read_status_lines(conns, wait):
    """The first line each connection answers within `wait` seconds (b"" if closed, None if silent)."""
    sel = selectors.DefaultSelector()
    got = {}
    for i, c in enumerate(conns):
        c.setblocking(False)
        sel.register(c, selectors.EVENT_READ, i)
    deadline = time.monotonic() + wait
    while len(got) < len(conns) and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=0.1):
            try:
                data = key.fileobj.recv(4096)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                data = b""
            got[key.data] = data.split(b"\r\n", 1)[0]
            sel.unregister(key.fileobj)
    sel.close()
    return [got.get(i) for i in range(len(conns))]


def abuse(counts):
    """One daemon, its socket flooded; raises Broken unless every refusal is answered and logged."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, FLOOD + 500)), hard))
    flood = min(FLOOD, resource.getrlimit(resource.RLIMIT_NOFILE)[0] - 200)
    s = Sequence(0, 0, counts, f'mode = "0666"\nmax_connections = 512\nidle_timeout = "{IDLE_TIMEOUT_S}s"',
                 shared_folder=True)
    try:
        # 1. A flood: idle connections, half-sent requests and whole ones, interleaved.
        conns = []
        for i in range(flood):
            c = socket.socket(socket.AF_UNIX)
            c.connect(s.socket)
            if i % 3 == 1:
                c.sendall(b"GET /v1/status HTTP/1.1\r\nHo")  # slowloris
            elif i % 3 == 2:
                c.sendall(b"GET /v1/status HTTP/1.1\r\nHost: l\r\n\r\n")
            conns.append(c)
        firsts = read_status_lines(conns, 1.0)
        refused = sum(1 for f in firsts if f and f.startswith(b"HTTP/1.1 503"))
        served = sum(1 for f in firsts if f and f.startswith(b"HTTP/1.1 200"))
        if refused != flood - 512:
            raise Broken(f"abuse: {flood} connections against a limit of 512: {refused} refused with 503, "
                         f"{served} served, {sum(1 for f in firsts if f is None)} silent")
        # 2. The stalled ones time out; then a well-behaved client is served at once.
        time.sleep(IDLE_TIMEOUT_S + 0.5)
        started = time.monotonic()
        status = s.request("GET", "/v1/status")[0]
        if status != 200 or time.monotonic() - started > 1:
            raise Broken(f"abuse: after the flood timed out, /v1/status answered {status} "
                         f"in {time.monotonic() - started:.2f} s")
        for c in conns:
            c.close()
        # 3. Malformed and oversized requests, each answered with its own status.
        bad = [(b"NOT HTTP AT ALL\r\n\r\n", b"400"),
               (b"GET /v1/status HTTP/1.1\r\nHost: l\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", b"400"),
               (b"PATCH " + BASE.encode() + b"/1 HTTP/1.1\r\nHost: l\r\nContent-Length: 3000000\r\n\r\n"
                + b"x" * 3000000, b"413"),
               (b"GET / HTTP/1.1\r\nHost: l\r\nX-Big: " + b"y" * 40000 + b"\r\n\r\n", b"431")] * 25
        for wire, want in bad:
            c = socket.socket(socket.AF_UNIX)
            c.settimeout(10)
            c.connect(s.socket)
            with contextlib.suppress(OSError):
                c.sendall(wire)
            line = read_status_lines([c], 10)[0] or b""
            c.close()
            if not line.startswith(b"HTTP/1.1 " + want):
                raise Broken(f"abuse: {wire[:40]!r}... answered {line!r}, not {want.decode()}")
        # 4. Another user (root only: it takes setuid).
        others = 0
        if os.geteuid() == 0:
            code = ("import socket,sys\n"
                    "s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])\n"
                    "s.sendall(b'GET /v1/status HTTP/1.1\\r\\nHost: l\\r\\nConnection: close\\r\\n\\r\\n')\n"
                    "print(s.recv(200).decode().splitlines()[0])\n")
            for _ in range(5):
                p = subprocess.run(["/usr/bin/python3", "-c", code, s.socket], capture_output=True, text=True,
                                   timeout=20, preexec_fn=lambda: (os.setgid(65534), os.setuid(65534)))
                if p.stdout.strip() != "HTTP/1.1 403 Forbidden":
                    raise Broken(f"abuse: another uid was answered {p.stdout.strip()!r} {p.stderr}")
                others += 1
        if s.request("GET", "/v1/status")[0] != 200:
            raise Broken("abuse: the daemon stopped answering")
        s.stop(kill=False)
        # 5. Each refusal is in the log.
        with open(os.path.join(s.dir, "log")) as f:
            log = f.read()
        logged = {"connections": log.count("refused a connection from pid"),
                  "requests": log.count("refused a request from pid"),
                  "stalled": log.count("stalled mid-request"),
                  "other uid": log.count("refused a request from uid")}
        slowloris = sum(1 for i in range(flood) if i % 3 == 1 and (firsts[i] is None))
        if logged["connections"] != refused or logged["requests"] != len(bad) or logged["other uid"] != others \
                or logged["stalled"] != slowloris:
            raise Broken(f"abuse: refusals logged {logged}; expected {refused} connections, {len(bad)} requests, "
                         f"{slowloris} stalled, {others} other uid")
        counts.add("abuse: connections opened at once", flood)
        counts.add("abuse: refused with 503 and logged", refused)
        counts.add("abuse: stalled mid-request, dropped and logged", slowloris)
        counts.add("abuse: malformed or oversized, refused and logged", len(bad))
        counts.add("abuse: another uid, refused and logged", others)
    finally:
        s.close()


def run_sequences(args, counts):
    """Runs the sequences --jobs at a time; answers the first failure's report, or None."""
    seeds = iter(range(args.seed, args.seed + args.sequences))
    lock = threading.Lock()
    failures = []

    def worker():
        while True:
            with lock:
                if failures:
                    return
                seed = next(seeds, None)
            if seed is None:
                return
            s = None
            try:
                s = Sequence(seed, args.steps, counts, hostile=not args.no_hostile)
                for i in range(args.steps):
                    s.step(i)
                s.check()
                counts.add("sequences passed")
            except Exception as e:  # noqa: BLE001 - any failure ends the run with its seed
                report = (f"BROKEN in sequence seed {seed}: {type(e).__name__}: {e}\n(replay: torture.py --sequences 1 "
                          f"--steps {args.steps} --seed {seed} --jobs 1; daemon log below)")
                if s:
                    report += "\nsteps: " + "; ".join(s.history)
                if s:
                    with contextlib.suppress(Exception):
                        report += "\n" + open(os.path.join(s.dir, "log")).read()[-3000:]
                with lock:
                    failures.append(report)
            finally:
                if s:
                    s.close()

    threads = [threading.Thread(target=worker) for _ in range(args.jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return failures[0] if failures else None


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sequences", type=int, default=200)
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--seed", type=int, default=int(time.time()))
    parser.add_argument("--jobs", type=int, default=6, help="sequences at a time (each its own sim and daemon)")
    parser.add_argument("--no-abuse", action="store_true", help="skip the socket abuse round")
    parser.add_argument("--no-hostile", action="store_true", help="leave the hostile upstream's faults out")
    args = parser.parse_args()
    counts = Counts()
    started = time.monotonic()
    if not args.no_abuse:
        try:
            abuse(counts)
        except Broken as e:
            print(f"BROKEN: {e}", flush=True)
            return 1
        print(f"abuse round passed in {time.monotonic() - started:.0f} s", flush=True)
    print(f"torture: {args.sequences} sequences of {args.steps} steps, seeds from {args.seed}, {args.jobs} at a time",
          flush=True)
    failure = run_sequences(args, counts)
    if failure:
        print(failure, flush=True)
        return 1
    print("\n| what | count |\n| --- | --- |")
    for k in sorted(counts.values):
        print(f"| {k} | {counts.values[k]} |")
    print(f"\n{counts.values['sequences passed']} sequences, every invariant held, in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
