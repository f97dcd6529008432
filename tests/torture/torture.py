#!/usr/bin/env python3
"""focussync's reliability harness: random sequences of local edits (through
the socket), other users' changes, faults of every kind focus-sim has, and
daemon restarts (clean, or SIGKILL at a random moment), against a real
focussyncd and focus-sim. After every step the daemon must answer; at the
end of each sequence, with the faults off and a quiet sync, these must hold:

  * every edit accepted by the socket has settled (none pending, in flight or
    unknown), none was lost: each one is done or failed with a reason;
  * no create was applied twice: each locally created name is on the server
    at most once, and exactly once when its edit is done;
  * the local view equals the server: the socket's full listing (archived=)
    is the server's live projects, field for field;
  * the cache passes PRAGMA integrity_check.

    torture.py [--sequences N] [--steps K] [--seed S]

Prints a results table; exits 1 on the first broken invariant, with the
sequence's seed to replay it.
"""
import argparse
import contextlib
import http.client
import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "sim"))
BIN = os.environ.get("FOCUS_BIN", os.path.join(ROOT, "build", "bin"))
os.environ.setdefault("FOCUS_SIM", os.path.join(BIN, "focus-sim"))
from simproc import KEY, SimProcess  # noqa: E402

BASE = "/api/organizations/1/workspaces/1/projects"
FAULTS = [{"error_rate": 0.3}, {"drop_rate": 0.3}, {"truncate_rate": 0.3}, {"garbage_rate": 0.3},
          {"rate_limited_rate": 0.3}, {"offline": True}, {"latency_ms": 200}, {"drift": True}]
CLEAR = {"offline": False, "error_rate": 0, "drop_rate": 0, "truncate_rate": 0, "garbage_rate": 0,
         "rate_limited_rate": 0, "latency_ms": 0, "drift": False}


class Broken(Exception):
    pass


class Unix(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=30)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.path)


class Sequence:
    def __init__(self, seed, steps, counts):
        self.rng = random.Random(seed)
        self.seed, self.steps, self.counts = seed, steps, counts
        self.dir = tempfile.mkdtemp(prefix="focus-torture-")
        self.sim = SimProcess("--projects", "25", "--seed", str(seed % 1000 + 1), "--api-key", KEY)
        self.socket = os.path.join(self.dir, "focussync.sock")
        self.cache = os.path.join(self.dir, "cache.db")
        key = os.path.join(self.dir, "key")
        with open(key, "w") as f:
            f.write(KEY + "\n")
        self.config = os.path.join(self.dir, "focussync.toml")
        with open(self.config, "w") as f:
            f.write(f"""[upstream]
base_url = "http://127.0.0.1:{self.sim.port}/api"
api_key_file = "{key}"
timeout = "3s"
[[workspaces]]
organization_id = 1
workspace_id = 1
[sync]
interval = "1s"
conflicts = "local_wins"
members = "never"
[cache]
path = "{self.cache}"
[socket]
path = "{self.socket}"
""")
        self.daemon = None
        self.created = []  # names of local creates
        self.edits = set()
        self.start()

    # -- processes ----------------------------------------------------------
    def start(self):
        self.log = open(os.path.join(self.dir, "log"), "a")
        self.daemon = subprocess.Popen([os.path.join(BIN, "focussyncd"), "--config", self.config, "--log-level", "warn"],
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
        conn = Unix(self.socket)
        try:
            conn.request(method, path, body=None if body is None else json.dumps(body))
            r = conn.getresponse()
            return r.status, r.read(), {k.lower(): v for k, v in r.getheaders()}
        finally:
            conn.close()

    # -- steps ----------------------------------------------------------------
    def local_ids(self):
        status, body, _ = self.request("GET", BASE + "?archived=&per_page=200")
        return [p["id"] for p in json.loads(body)["data"]]

    def step(self, i):
        kind = self.rng.choices(["edit", "edit", "edit", "other", "fault", "restart"], k=1)[0]
        self.counts[kind] = self.counts.get(kind, 0) + 1
        if kind == "edit":
            self.local_edit(i)
        elif kind == "other":
            change = self.rng.choice([{"updates": 2}, {"creates": 1}, {"archives": 1}, {"deletes": 1}, {"restores": 1}])
            self.sim.control("POST", "mutate", change)
        elif kind == "fault":
            self.sim.control("PUT", "faults", {**CLEAR, **self.rng.choice(FAULTS)})
        else:
            kill = self.rng.random() < 0.6
            if kill:
                time.sleep(self.rng.random() * 0.3)  # somewhere inside whatever it is doing
            self.stop(kill)
            self.counts["sigkill" if kill else "sigterm"] = self.counts.get("sigkill" if kill else "sigterm", 0) + 1
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
            self.counts["edits accepted"] = self.counts.get("edits accepted", 0) + 1
        elif status not in (400, 404):
            raise Broken(f"step {i}: {op} answered {status}")

    # -- the invariants -------------------------------------------------------
    def check(self):
        self.sim.control("PUT", "faults", CLEAR)
        deadline = time.monotonic() + 60
        while True:
            status, body, _ = self.request("POST", "/v1/sync?wait=1")
            edits = json.loads(self.request("GET", "/v1/status")[1])["edits"]
            if edits["pending"] + edits["in_flight"] + edits["unknown_outcome"] == 0 and status == 200 \
                    and json.loads(body).get("error") is None:
                break
            if time.monotonic() > deadline:
                raise Broken(f"edits did not settle: {edits}")
            time.sleep(0.3)
        self.request("POST", "/v1/sync?wait=1")  # a quiet sync after the replay
        listed = json.loads(self.request("GET", "/v1/edits")[1])["edits"]
        by_id = {e["id"]: e for e in listed}
        for e in self.edits:
            if e not in by_id:
                raise Broken(f"edit {e} was accepted and is gone")
            if by_id[e]["state"] not in ("done", "failed"):
                raise Broken(f"edit {e} is {by_id[e]['state']}")
            if by_id[e]["state"] == "failed" and not by_id[e]["last_error"]:
                raise Broken(f"edit {e} failed without a reason")
        server = [p for p in self.sim.state()["projects"] if p["deleted_at"] is None]
        for name in set(self.created):
            made = [p for p in server if p["name"] == name]
            done = [e for e in listed if e["op"] == "create" and e["body"].get("name") == name and e["state"] == "done"]
            if len(made) > 1:
                raise Broken(f"{name!r} was created {len(made)} times")
            if done and not made and not any(e["op"] == "delete" for e in listed):
                raise Broken(f"{name!r}: its create is done but the server does not have it")
        local = {}
        page = 1
        while True:
            data = json.loads(self.request("GET", f"{BASE}?archived=&include_rates=true&per_page=200&page={page}")[1])["data"]
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


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sequences", type=int, default=200)
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--seed", type=int, default=int(time.time()))
    args = parser.parse_args()
    counts = {}
    started = time.monotonic()
    print(f"torture: {args.sequences} sequences of {args.steps} steps, seeds from {args.seed}", flush=True)
    for n in range(args.sequences):
        seed = args.seed + n
        s = None
        try:
            s = Sequence(seed, args.steps, counts)
            for i in range(args.steps):
                s.step(i)
            s.check()
            counts["sequences passed"] = counts.get("sequences passed", 0) + 1
        except Broken as e:
            print(f"BROKEN in sequence seed {seed}: {e}\n(replay: torture.py --sequences 1 --steps {args.steps} "
                  f"--seed {seed}; daemon log in the sequence folder)", flush=True)
            if s:
                with contextlib.suppress(Exception):
                    print(open(os.path.join(s.dir, "log")).read()[-3000:])
            return 1
        finally:
            if s:
                s.close()
    print(f"\n| what | count |\n| --- | --- |")
    for k in sorted(counts):
        print(f"| {k} | {counts[k]} |")
    print(f"\n{counts.get('sequences passed', 0)} sequences, every invariant held, in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
