#!/usr/bin/env python3
"""focussync's benchmarks: each figure against a floor or a baseline
measured in the same run, as a markdown table (stdout) and JSON (--out).

    bench/run.py [--quick] [--out FILE] [--ingest-only | --waits-only] [--runs N]

  * ingest: focussyncd --once mirroring N projects from focus-sim (wall,
    CPU, peak RSS, projects per CPU-second), reruns with no change, a rerun
    with 1 % changed; baseline: bench/baseline_sync.py, the standard-library
    script a user would write, paging the same listing into SQLite; and a
    floor: sqlite3 alone inserting the rows focussyncd stored into the same
    schema (its table and indexes), which no ingest into it can beat;
  * the common size: first sync and no-change resync of 1,000 projects;
  * socket latency, keep-alive, one client: GET a project by id, a filtered
    list page of 50; floor: focus-bench-echo answering the same sizes;
  * throughput with 16 keep-alive clients, against the echo floor: clients
    blocking in read (the target's row), and clients waiting in poll as
    curl, libuv and Python with a timeout do (bench/socket_load.cpp says
    why the two differ);
  * one aggregate SQL query over the N projects (/v1/sql: hours by client),
    against a baseline: the same figures from paging every project out of
    the socket in Python, as a tool without SQL would;
  * the daemon's RSS idle with N projects cached, and its wake-ups per
    second while idle;
  * how long a GET by id waits while a daemon lists N projects (one client
    asking every 2 ms): during its first sync, a listing with nothing
    changed and one with 1 % changed; the longest wait, the p99, the p50;
  * the quota economy (bench/quota_economy.py): delay until another user's
    change is in the mirror under 30 requests per 60-second window, with
    the default interval scaled to that window and with a 1 s interval.
  * the cost of the durability contract (docs/promises/durability.md): the
    first sync of 20,000 and 100,000 projects, a resync with no change, and
    edits acknowledged per second on the socket (one keep-alive client, the
    server offline so they queue), each with the contract and "before" it
    (the same build under FOCUSSYNC_UNSAFE_SYNCHRONOUS_NORMAL=1, i.e.
    synchronous = NORMAL for every commit), interleaved in the same run.
Full mode: N = 100,000 and medians of 3 runs, 3 windows of quota economy;
quick mode (in scripts/test): N = 10,000, one run, no quota economy (CTest
runs a short one of its own), the durability cost at 20,000 only. In every
run, the N-project no-change resync is measured 4 times, each beside one
of the Python script's reruns, and the one-client and 16-client socket
figures in 6 rounds each beside their echo floor, each side going first in
half of them; such a figure is the median of its measurements (the SQL
aggregate is a median of 3, the 1,000-project rows one measurement a run).
Every process is stopped at the end.
"""
import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "sim"))
BIN = os.environ.get("FOCUS_BIN", os.path.join(ROOT, "build", "bin"))
os.environ.setdefault("FOCUS_SIM", os.path.join(BIN, "focus-sim"))
from daemonconf import UnixConnection, write_config  # noqa: E402
from simproc import KEY, SimProcess  # noqa: E402
import quota_economy  # noqa: E402

WS = "/api/organizations/1/workspaces/1/projects"


def bench_sim(projects, seed=5):
    """focus-sim as every bench measures against it: `projects` projects of
    one seed, answers not gzipped (the Python script asks for none)."""
    return SimProcess("--projects", str(projects), "--seed", str(seed), "--no-gzip", "--api-key", KEY)


def run_measured(argv, **kw):
    """Runs a process to its end: (wall s, CPU s, peak RSS MB, stdout, page faults).

    Through focus-bench-rusage, so that the peak RSS is the process's own
    (bench/rusage.cpp says why). Page faults are the minor ones (memory
    first touched, no disk read): on this project's VMs each costs about
    12 µs, so they are a part of the CPU time worth seeing on its own."""
    with tempfile.NamedTemporaryFile(prefix="focus-rusage-", suffix=".json") as report:
        started = time.monotonic()
        p = subprocess.run([os.path.join(BIN, "focus-bench-rusage"), report.name, *argv],
                           capture_output=True, text=True, **kw)
        wall = time.monotonic() - started
        if p.returncode != 0:
            raise RuntimeError(f"{argv[0]} failed ({p.returncode}): {p.stderr[-2000:]}")
        used = json.load(report)
    return (wall, used["user_s"] + used["system_s"], used["max_rss_kib"] / 1024, p.stdout, used["minor_faults"])


class Workdir:
    def __init__(self, sim, extra=""):
        self.dir = tempfile.mkdtemp(prefix="focus-bench-")
        paths = write_config(self.dir, sim.port, KEY, sync='members = "never"\ninterval = "1h"', extra=extra)
        self.key, self.cache, self.socket, self.config = paths["key"], paths["cache"], paths["socket"], paths["config"]

    def close(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def once(w, env=None):
    return run_measured([os.path.join(BIN, "focussyncd"), "--config", w.config, "--once", "--log-level", "warn"],
                        env=env)


# "Before" the durability contract: the same build, every commit at
# synchronous = NORMAL (a hidden knob for this comparison only).
BEFORE_CONTRACT = {**os.environ, "FOCUSSYNC_UNSAFE_SYNCHRONOUS_NORMAL": "1"}
CONTRACT_MODES = (("before", BEFORE_CONTRACT), ("contract", None))
# The syncs themselves are counted with strace where it is installed (only
# fsync and fdatasync are stopped on, through seccomp: no measurable cost).
STRACE = shutil.which("strace")


def counting_syncs(argv, out):
    if not STRACE:
        return argv
    return [STRACE, "-f", "--seccomp-bpf", "-qq", "-c", "-o", out, "-e", "trace=fsync,fdatasync", *argv]


def sync_calls(out):
    """fsync + fdatasync calls from strace -c's summary (None without strace)."""
    if not os.path.exists(out):
        return None
    calls = 0
    with open(out) as f:
        for line in f:
            cols = line.split()
            if cols and cols[-1] in ("fsync", "fdatasync"):
                calls += int(cols[3])
    return calls


def durable_once(w, env):
    out = os.path.join(w.dir, "syncs")
    with contextlib.suppress(FileNotFoundError):
        os.unlink(out)
    wall, cpu, *_ = run_measured(counting_syncs([os.path.join(BIN, "focussyncd"), "--config", w.config, "--once",
                                                 "--log-level", "warn"], out), env=env)
    return wall, cpu, sync_calls(out)


def bench_durability_ingest(sizes, runs):
    """First sync and no-change resync, with the contract and before it,
    the two interleaved run by run."""
    out = {}
    for n in sizes:
        rows = {mode: {"first": [], "again": []} for mode, _ in CONTRACT_MODES}
        for _ in range(runs):
            for mode, env in CONTRACT_MODES:
                sim = bench_sim(n)
                w = Workdir(sim)
                try:
                    rows[mode]["first"].append(durable_once(w, env))
                    rows[mode]["again"].append(durable_once(w, env))
                finally:
                    w.close()
                    sim.stop()
        out[str(n)] = {}
        for mode, measured in rows.items():
            figures = {}
            for run, triples in measured.items():  # "first" / "again": (wall, CPU, syncs) per run
                figures[f"{run}_wall_s"] = statistics.median(t[0] for t in triples)
                figures[f"{run}_cpu_s"] = statistics.median(t[1] for t in triples)
                figures[f"{run}_syncs"] = triples[0][2]
            out[str(n)][mode] = figures
    return out


def post_edits(socket_path, ids):
    """PATCHes each project once on one keep-alive connection: edits per second."""
    conn = UnixConnection(socket_path, timeout=30)
    try:
        started = time.monotonic()
        for i, pid in enumerate(ids):
            conn.request("PATCH", f"{WS}/{pid}", body=json.dumps({"description": f"bench edit {i}"}).encode(),
                         headers={"Content-Type": "application/json"})
            resp = conn.getresponse()
            resp.read()
            if resp.status != 201 or not resp.getheader("X-Focussync-Edit"):
                raise RuntimeError(f"edit {i} answered {resp.status}")
        return len(ids) / (time.monotonic() - started)
    finally:
        conn.close()


def bench_durability_edits(count, runs):
    """Edits acknowledged per second on the socket (the server offline, so
    they queue and none is sent), with the contract and before it,
    interleaved; and the syncs the daemon made, per edit."""
    rates = {mode: [] for mode, _ in CONTRACT_MODES}
    syncs = {}
    for _ in range(runs):
        for mode, env in CONTRACT_MODES:
            sim = bench_sim(count)
            w = Workdir(sim)
            daemon = None
            out = os.path.join(w.dir, "syncs")
            try:
                once(w)
                with contextlib.closing(sqlite3.connect(w.cache)) as db:
                    ids = [r[0] for r in db.execute("SELECT id FROM projects WHERE deleted = 0 ORDER BY id")]
                sim.control("PUT", "faults", {"offline": True})
                daemon = subprocess.Popen(counting_syncs([os.path.join(BIN, "focussyncd"), "--config", w.config,
                                                          "--log-level", "warn"], out),
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
                deadline = time.monotonic() + 60
                while not os.path.exists(w.socket) and time.monotonic() < deadline:
                    time.sleep(0.02)
                time.sleep(0.5)  # its start-up listing fails at once (offline)
                rates[mode].append(post_edits(w.socket, ids[:count]))
            finally:
                if daemon:
                    with open(w.cache + ".lock") as f:  # focussyncd's pid (strace may stand between)
                        os.kill(int(f.read().strip()), signal.SIGTERM)
                    daemon.wait(timeout=30)
                    calls = sync_calls(out)
                    syncs.setdefault(mode, None if calls is None else calls / count)
                w.close()
                sim.stop()
    return {"edits": count, **{f"{mode}_per_s": statistics.median(v) for mode, v in rates.items()},
            **{f"{mode}_syncs_per_edit": v for mode, v in syncs.items()}}


def apply_page_cache_kib():
    """store::Database::kBulkPageCacheKib, read from where it is defined."""
    with open(os.path.join(ROOT, "lib", "store", "database.hpp")) as f:
        return int(re.search(r"kBulkPageCacheKib = (\d+);", f.read()).group(1))


def projects_schema_and_rows(cache):
    """The projects table's CREATE statement, its indexes' (by name; the
    UNIQUE's own index has none), and every row, from a cache."""
    src = sqlite3.connect(cache)
    table = src.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'projects'").fetchone()[0]
    indexes = dict(src.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'projects' "
                               "AND sql IS NOT NULL"))
    rows = src.execute("SELECT * FROM projects").fetchall()
    src.close()
    return table, indexes, rows


def insert_cpu(path, table, index_sqls, rows):
    """CPU seconds sqlite3 takes to insert `rows` into a new file at `path`
    holding `table` and `index_sqls`, in one transaction, with the page
    cache focussyncd gives a listing's apply (store::Database::
    kBulkPageCacheKib). The file is removed after."""
    def remove():
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path + suffix)
    remove()
    dst = sqlite3.connect(path)
    dst.execute("PRAGMA journal_mode = WAL")
    dst.execute(f"PRAGMA cache_size = -{apply_page_cache_kib()}")
    dst.execute(table)
    for sql in index_sqls:
        dst.execute(sql)
    started = time.process_time()
    with dst:
        dst.executemany(f"INSERT INTO projects VALUES ({', '.join('?' * len(rows[0]))})", rows)
    cpu = time.process_time() - started
    dst.close()
    remove()
    return cpu


def sqlite_floor(cache):
    """CPU seconds sqlite3 alone takes to insert the rows focussyncd stored,
    into the same schema (its table and every index), in one transaction:
    what any ingest into this schema costs before a byte is decoded, with
    the apply's page cache, so that the floor stays one."""
    table, indexes, rows = projects_schema_and_rows(cache)
    return insert_cpu(cache + ".floor", table, list(indexes.values()), rows)


def bench_small(n, runs):
    """The common size: a first sync and a no-change resync of n projects."""
    first, again = [], []
    for _ in range(runs):
        sim = bench_sim(n, seed=6)
        w = Workdir(sim)
        try:
            first.append(once(w))
            again.append(once(w))
        finally:
            w.close()
            sim.stop()
    return {"projects": n, "first_sync_wall_s": statistics.median(r[0] for r in first),
            "first_sync_cpu_s": statistics.median(r[1] for r in first),
            "no_change_wall_s": statistics.median(r[0] for r in again),
            "no_change_cpu_s": statistics.median(r[1] for r in again),
            "no_change_page_faults": statistics.median(r[4] for r in again)}


# No-change resyncs measured in each run, each beside one of the Python
# script's reruns, which it is set against: one of each moved the ratio by
# half between runs (the script's rerun alone took 0.45 s and 0.75 s). Even,
# so that each side goes first as often as the other.
RESYNC_PAIRS = 4


def bench_ingest(n, runs):
    first, again, changed, base, base_again, floor = [], [], [], [], [], []
    for r in range(runs):
        sim = bench_sim(n)
        w = Workdir(sim)
        try:
            first.append(once(w))
            floor.append(sqlite_floor(w.cache))
            db = os.path.join(w.dir, "baseline.db")
            script = [sys.executable, os.path.join(ROOT, "bench", "baseline_sync.py"),
                      f"http://127.0.0.1:{sim.port}/api", w.key, "1", "1", db]
            base.append(run_measured(script))
            # The script's rerun rewrites every row.
            ours, theirs = alternating(lambda: once(w), lambda: run_measured(script), RESYNC_PAIRS)
            again += ours
            base_again += theirs
            # Other users change 1 %; the simulator takes a while to pick them at this size.
            r = sim.request("POST", "/_sim/mutate", body={"updates": max(1, n // 100)}, auth=None, timeout=600)
            assert r.status == 200, r.body
            changed.append(once(w))
        finally:
            w.close()
            sim.stop()

    def med(rows, i):
        return statistics.median(r[i] for r in rows)

    ours = n / med(first, 1)
    theirs = n / med(base, 1)
    return {
        "projects": n,
        "first_sync_wall_s": med(first, 0), "first_sync_cpu_s": med(first, 1), "first_sync_peak_rss_mb": med(first, 2),
        "projects_per_cpu_s": ours,
        "no_change_wall_s": med(again, 0), "no_change_cpu_s": med(again, 1), "no_change_page_faults": med(again, 4),
        "one_percent_wall_s": med(changed, 0), "one_percent_cpu_s": med(changed, 1),
        "baseline_wall_s": med(base, 0), "baseline_cpu_s": med(base, 1), "baseline_peak_rss_mb": med(base, 2),
        "baseline_projects_per_cpu_s": theirs,
        "baseline_rerun_cpu_s": med(base_again, 1), "baseline_rerun_page_faults": med(base_again, 4),
        "no_change_vs_baseline_rerun": med(again, 1) / med(base_again, 1),
        "ratio_vs_baseline": ours / theirs,
        "sqlite_floor_cpu_s": statistics.median(floor),
        "sqlite_floor_projects_per_cpu_s": n / statistics.median(floor),
    }


def load(socket_path, target, clients, per_client, wait="block"):
    """focus-bench-load's figures; `wait` is how each client waits for its
    answer: "block" in read(), "poll" in poll() (bench/socket_load.cpp)."""
    out = subprocess.run([os.path.join(BIN, "focus-bench-load"), socket_path, target, str(clients), str(per_client),
                          wait], capture_output=True, text=True, timeout=600, check=True).stdout
    return json.loads(out)


class EchoServer:
    """focus-bench-echo answering `size` body bytes, on a socket of its own
    folder, until the `with` block ends."""

    def __init__(self, size):
        self.dir = tempfile.mkdtemp(prefix="focus-echo-")
        self.path = os.path.join(self.dir, "echo.sock")
        self.process = None
        try:
            self.process = subprocess.Popen([os.path.join(BIN, "focus-bench-echo"), self.path, str(size)])
            deadline = time.monotonic() + 10
            while not os.path.exists(self.path):
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError("focus-bench-echo did not make its socket")
                time.sleep(0.01)
        except BaseException:
            self.close()
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        if self.process:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


# Rounds of the socket figures: in each, focussyncd and its echo floor are
# loaded one after the other, each first in every other round (the count is
# even), and each side's figure is the median of its rounds. Measured one
# after the other once, the ratios moved by a third between runs (the
# machine's slow minutes, and the side measured first being the fast one
# most often).
SOCKET_ROUNDS = 6
LOAD_FIGURES = ("p50_us", "p99_us", "rps")


def alternating(first, second, rounds):
    """Calls the two functions once in each of `rounds` rounds (an odd count
    made even), each going first in half of them, so that a slow minute of
    the machine falls on both; answers the two lists of what they returned."""
    results = ([], [])
    for r in range(rounds + rounds % 2):
        for side in ((0, 1) if r % 2 == 0 else (1, 0)):
            results[side].append((first, second)[side]())
    return results


def interleaved(ours, floor, rounds):
    """Runs the two loads alternating (above); answers each side's medians
    (and its answer size)."""
    results = alternating(ours, floor, rounds)

    def medians(runs):
        m = {k: statistics.median(x[k] for x in runs) for k in LOAD_FIGURES}
        m["answer_bytes"] = runs[0]["answer_bytes"]
        m["rounds"] = len(runs)
        return m

    return medians(results[0]), medians(results[1])


def wait_for_startup_listing(path, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        conn = UnixConnection(path, timeout=10)
        try:
            conn.request("GET", "/metrics")
            text = conn.getresponse().read().decode()
            if 'focussync_sync_runs_total{result="listing"}' in text:
                return
        except OSError:
            pass
        finally:
            conn.close()
        time.sleep(0.2)
    raise RuntimeError("focussyncd did not finish its start-up listing")


def proc_status(pid):
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            fields[k] = v.strip()
    return fields


AGGREGATE = ("SELECT coalesce(client, '(no client)') AS client, count(*) AS projects, "
             "total(total_tracked_time) AS seconds FROM projects GROUP BY 1")


def sql_aggregate(path):
    conn = UnixConnection(path, timeout=120)
    try:
        conn.request("POST", "/v1/sql", body=json.dumps({"q": AGGREGATE}), headers={"Content-Type": "application/json"})
        answer = json.loads(conn.getresponse().read())
    finally:
        conn.close()
    return {row[0]: (row[1], row[2]) for row in answer["rows"]}


def paged_aggregate(path):
    """What a tool without SQL does: every page of the list, summed here."""
    groups, page = {}, 1
    conn = UnixConnection(path, timeout=120)
    try:
        while True:
            conn.request("GET", f"{WS}?archived=&per_page=200&page={page}")
            data = json.loads(conn.getresponse().read())["data"]
            for p in data:
                key = p["client"]["name"] if p["client"] else "(no client)"
                n, t = groups.get(key, (0, 0.0))
                groups[key] = (n + 1, t + p["total_tracked_time"])
            if len(data) < 200:
                return groups
            page += 1
    finally:
        conn.close()


def timed_median(fn, runs):
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def socket_loads(socket_path, by_id_target, list_target, many_target, requests):
    """GET by id and a filtered list page (one client), and GET by id from
    16 clients blocking in read and from 16 waiting in poll, each
    interleaved with an echo floor answering the same size, its clients
    waiting the same way: (by id, list, 16 blocking, 16 polling), then
    their four floors."""
    # The answers' sizes first, for the echo servers (their head is about
    # 140 bytes shorter than focussyncd's).
    size_id = load(socket_path, by_id_target, 1, 10)["answer_bytes"] - 140
    size_list = load(socket_path, list_target, 1, 10)["answer_bytes"] - 140
    with EchoServer(size_id) as echo_id, EchoServer(size_list) as echo_list:
        by_id, floor_id = interleaved(lambda: load(socket_path, by_id_target, 1, requests),
                                      lambda: load(echo_id.path, "/", 1, requests), SOCKET_ROUNDS)
        listed, floor_list = interleaved(lambda: load(socket_path, list_target, 1, requests // 4),
                                         lambda: load(echo_list.path, "/", 1, requests // 4), SOCKET_ROUNDS)
        many, floor_many = interleaved(lambda: load(socket_path, many_target, 16, requests // 4),
                                       lambda: load(echo_id.path, "/", 16, requests // 4), SOCKET_ROUNDS)
        polled, floor_polled = interleaved(lambda: load(socket_path, many_target, 16, requests // 4, "poll"),
                                           lambda: load(echo_id.path, "/", 16, requests // 4, "poll"), SOCKET_ROUNDS)
    return by_id, listed, many, polled, floor_id, floor_list, floor_many, floor_polled


def filter_client(sim, n):
    """The client whose projects the filtered-page rows list."""
    return sim.state()["projects"][n // 2]["client_id"] or 1100


def stop_all(daemon, w, sim):
    """The end of a bench with a daemon of its own: the daemon (if it was
    started) on SIGTERM, its folder, the simulator."""
    if daemon:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=30)
    w.close()
    sim.stop()


def bench_socket(n, quick):
    sim = bench_sim(n)
    w = Workdir(sim)
    daemon = None
    try:
        once(w)
        daemon = subprocess.Popen([os.path.join(BIN, "focussyncd"), "--config", w.config, "--log-level", "warn"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while not os.path.exists(w.socket) and time.monotonic() < deadline:
            time.sleep(0.02)
        # A daemon lists every workspace once as it starts: measure after that.
        wait_for_startup_listing(w.socket, timeout=300)
        time.sleep(1.0)
        client = filter_client(sim, n)
        requests = 2000 if quick else 10000
        by_id, listed, many, polled, floor_id, floor_list, floor_many, floor_polled = socket_loads(
            w.socket, f"{WS}/{1000 + n // 2}", f"{WS}?client_id={client}&per_page=50", f"{WS}/{1000 + n // 3}",
            requests)
        sql_s, by_sql = timed_median(lambda: sql_aggregate(w.socket), 3)
        paged_s, by_paging = timed_median(lambda: paged_aggregate(w.socket), 3)
        if by_sql != by_paging:
            raise RuntimeError(f"the SQL aggregate and the paged one differ: {by_sql} != {by_paging}")
        # Idle: the resident set, and how often the process wakes (context
        # switches counted by the kernel) over a quiet stretch.
        time.sleep(2)
        before = proc_status(daemon.pid)
        quiet = 5 if quick else 10
        time.sleep(quiet)
        after = proc_status(daemon.pid)
        switches = sum(int(after[k]) - int(before[k]) for k in ("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches"))
        return {
            "get_by_id": by_id, "get_by_id_floor": floor_id,
            "filtered_list": listed, "filtered_list_floor": floor_list,
            "throughput_16": many, "throughput_16_floor": floor_many,
            "throughput_16_poll": polled, "throughput_16_poll_floor": floor_polled,
            "sql_aggregate_s": sql_s, "paged_aggregate_s": paged_s,
            "idle_rss_mb": int(after["VmRSS"].split()[0]) / 1024,
            "peak_rss_mb": int(after["VmHWM"].split()[0]) / 1024,
            "idle_wakeups_per_s": switches / quiet,
        }
    finally:
        stop_all(daemon, w, sim)


class Asker:
    """One keep-alive client asking focussyncd for a project every 2 ms, on
    a thread, keeping how long each answer took, while a `with` block runs.
    Before the socket is there it tries again; a connection lost once
    answers came is raised at the block's end, not left out of the waits."""

    def __init__(self, socket_path, target):
        self.socket_path, self.target = socket_path, target
        self.waits, self.failed, self.done = [], [], threading.Event()
        self.thread = threading.Thread(target=self.ask)

    def ask(self):
        conn = None
        while not self.done.is_set():
            try:
                conn = conn or UnixConnection(self.socket_path, timeout=120)
                started = time.monotonic()
                conn.request("GET", self.target)
                conn.getresponse().read()  # 404 until the project is in: a wait all the same
                self.waits.append(time.monotonic() - started)
            except OSError as e:
                if self.waits:
                    self.failed.append(e)
                    return
                conn = None
            time.sleep(0.002)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.done.set()
        self.thread.join()
        if self.failed and not exc[0]:
            raise RuntimeError(f"a GET failed while a listing ran: {self.failed[0]}")

    def figures(self):
        waits = sorted(self.waits)
        if not waits:
            raise RuntimeError(f"no GET of {self.target} was answered while the listing ran: the socket never came up")
        return {"gets": len(waits), "longest_wait_ms": waits[-1] * 1000,
                "p99_wait_ms": waits[int(len(waits) * 0.99)] * 1000, "p50_wait_ms": waits[len(waits) // 2] * 1000}


def waits_during_listings(n):
    """How long the socket keeps a reader waiting while focussyncd lists n
    projects: its first sync (from the moment its socket opens until the
    listing is in), then a full listing with nothing changed, then one after
    other users changed 1 % (POST /v1/sync?wait=1), each with an Asker. A
    listing is applied in one transaction on the io thread, which also
    serves the socket (docs/benchmarks.md, "The socket while a listing is
    applied"): the longest wait is that apply."""
    sim = bench_sim(n)
    w = Workdir(sim)
    daemon = None
    target = f"{WS}/{1000 + n // 2}"
    out = {"projects": n}

    def listing():
        conn = UnixConnection(w.socket, timeout=600)
        try:
            conn.request("POST", "/v1/sync?wait=1")
            r = conn.getresponse()
            body = r.read()
            if r.status != 200:
                raise RuntimeError(f"POST /v1/sync?wait=1 answered {r.status}: {body[:200]!r}")
        finally:
            conn.close()

    try:
        daemon = subprocess.Popen([os.path.join(BIN, "focussyncd"), "--config", w.config, "--log-level", "warn"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with Asker(w.socket, target) as first:
            wait_for_startup_listing(w.socket, timeout=600)
        out["first_sync"] = first.figures()
        with Asker(w.socket, target) as again:
            listing()
        out["no_change"] = again.figures()
        r = sim.request("POST", "/_sim/mutate", body={"updates": max(1, n // 100)}, auth=None, timeout=600)
        assert r.status == 200, r.body
        with Asker(w.socket, target) as changed:
            listing()
        out["one_percent"] = changed.figures()
    finally:
        stop_all(daemon, w, sim)
    return out


def durability_rows(d):
    """The contract's cost: each figure with it, before it, and the ratio."""
    if not d:
        return []

    def syncs(figures, key):
        n = figures.get(key)
        if n is None:
            return ""
        return f", {n:.2f} syncs" if isinstance(n, float) else f", {n} syncs"

    rows = []
    for n, by in d["ingest"].items():
        c, b = by["contract"], by["before"]
        for key, name in (("first", f"durability: first sync of {int(n):,}"),
                          ("again", f"durability: resync of {int(n):,}, nothing changed")):
            rows.append((name, f"{c[f'{key}_wall_s']:.2f} s wall, {c[f'{key}_cpu_s']:.2f} s CPU{syncs(c, f'{key}_syncs')}",
                         f"before: {b[f'{key}_wall_s']:.2f} s wall, {b[f'{key}_cpu_s']:.2f} s CPU{syncs(b, f'{key}_syncs')}",
                         c[f"{key}_wall_s"] / b[f"{key}_wall_s"], "", None))
    e = d["edits"]
    rows.append(("durability: edits acknowledged per second (1 client)",
                 f"{e['contract_per_s']:,.0f} /s{syncs(e, 'contract_syncs_per_edit')} per edit",
                 f"before: {e['before_per_s']:,.0f} /s{syncs(e, 'before_syncs_per_edit')} per edit",
                 e["contract_per_s"] / e["before_per_s"], "", None))
    return rows


def table(results):
    if "ingest" not in results:  # --durability-only
        return render(durability_rows(results.get("durability")))
    i, s = results["ingest"], results["socket"]
    rows = [
        ("GET project by id, p50 (1 client)", f"{s['get_by_id']['p50_us']:.0f} µs",
         f"echo {s['get_by_id_floor']['p50_us']:.0f} µs", s["get_by_id"]["p50_us"] / s["get_by_id_floor"]["p50_us"],
         "≤ 1.5× echo", s["get_by_id"]["p50_us"] <= 1.5 * s["get_by_id_floor"]["p50_us"]),
        ("GET project by id, p99", f"{s['get_by_id']['p99_us']:.0f} µs", f"echo {s['get_by_id_floor']['p99_us']:.0f} µs",
         s["get_by_id"]["p99_us"] / s["get_by_id_floor"]["p99_us"], "", None),
        ("filtered list page of 50, p50", f"{s['filtered_list']['p50_us']:.0f} µs",
         f"echo {s['filtered_list_floor']['p50_us']:.0f} µs",
         s["filtered_list"]["p50_us"] / s["filtered_list_floor"]["p50_us"], "", None),
        ("filtered list page of 50, p99", f"{s['filtered_list']['p99_us']:.0f} µs",
         f"echo {s['filtered_list_floor']['p99_us']:.0f} µs",
         s["filtered_list"]["p99_us"] / s["filtered_list_floor"]["p99_us"], "≤ 1 ms", s["filtered_list"]["p99_us"] <= 1000),
        ("GET by id, 16 keep-alive clients (blocking in read)", f"{s['throughput_16']['rps']:.0f} req/s",
         f"echo {s['throughput_16_floor']['rps']:.0f} req/s", s["throughput_16"]["rps"] / s["throughput_16_floor"]["rps"],
         "≥ 0.5× echo", s["throughput_16"]["rps"] >= 0.5 * s["throughput_16_floor"]["rps"]),
        ("GET by id, 16 keep-alive clients (waiting in poll, as curl)", f"{s['throughput_16_poll']['rps']:.0f} req/s",
         f"echo {s['throughput_16_poll_floor']['rps']:.0f} req/s",
         s["throughput_16_poll"]["rps"] / s["throughput_16_poll_floor"]["rps"], "", None),
        (f"SQL: hours by client over {i['projects']:,} projects (/v1/sql)", f"{s['sql_aggregate_s'] * 1000:.0f} ms",
         f"paging the list in Python {s['paged_aggregate_s'] * 1000:.0f} ms", s["sql_aggregate_s"] / s["paged_aggregate_s"],
         "", None),
        *ingest_rows(i),
        *small_rows(results.get("small")),
        ("peak RSS during the first sync", f"{i['first_sync_peak_rss_mb']:.1f} MB",
         f"Python {i['baseline_peak_rss_mb']:.1f} MB", None, "≤ 64 MB", i["first_sync_peak_rss_mb"] <= 64),
        *waits_rows(results.get("waits")),
        (f"RSS idle, {i['projects']:,} cached", f"{s['idle_rss_mb']:.1f} MB", "", None, "≤ 20 MB", s["idle_rss_mb"] <= 20),
        ("wake-ups per second, idle", f"{s['idle_wakeups_per_s']:.1f}", "", None, "", None),
    ]
    for q in results.get("quota", []):
        rows.extend(quota_economy.rows(q))
    rows.extend(durability_rows(results.get("durability")))
    return render(rows)


def ingest_rows(i):
    return [
        (f"first sync of {i['projects']:,} projects", f"{i['first_sync_wall_s']:.1f} s wall, {i['first_sync_cpu_s']:.1f} s CPU",
         f"Python {i['baseline_wall_s']:.1f} s wall, {i['baseline_cpu_s']:.1f} s CPU", None, "", None),
        ("ingest, projects per CPU-second", f"{i['projects_per_cpu_s']:,.0f}",
         f"Python {i['baseline_projects_per_cpu_s']:,.0f}", i["ratio_vs_baseline"], "≥ 3× Python", i["ratio_vs_baseline"] >= 3),
        ("ingest floor: sqlite3 inserting the same rows into the same schema", f"{i['sqlite_floor_projects_per_cpu_s']:,.0f} per CPU-s",
         f"Python {i['baseline_projects_per_cpu_s']:,.0f}", i["sqlite_floor_projects_per_cpu_s"] / i["baseline_projects_per_cpu_s"],
         "", None),
        ("resync, nothing changed", f"{i['no_change_wall_s']:.2f} s wall, {i['no_change_cpu_s']:.2f} s CPU, "
         f"{i['no_change_page_faults']:,.0f} page faults",
         f"Python rerun {i['baseline_rerun_cpu_s']:.2f} s CPU, {i['baseline_rerun_page_faults']:,.0f} page faults",
         i["no_change_vs_baseline_rerun"], "≤ 0.1× Python's rerun", i["no_change_vs_baseline_rerun"] <= 0.1),
        ("resync, 1 % changed", f"{i['one_percent_wall_s']:.1f} s wall, {i['one_percent_cpu_s']:.1f} s CPU", "", None, "", None),
    ]


def waits_rows(waits):
    if not waits:
        return []
    n = f"{waits['projects']:,}"
    rows = []
    for key, name in (("first_sync", f"GET by id during the first sync of {n}: longest wait"),
                      ("no_change", f"GET by id during a listing of {n}, nothing changed: longest wait"),
                      ("one_percent", f"GET by id during a listing of {n}, 1 % changed: longest wait")):
        f = waits[key]
        value = (f"{f['longest_wait_ms']:,.0f} ms (p99 {f['p99_wait_ms']:.1f} ms, p50 {f['p50_wait_ms']:.2f} ms, "
                 f"{f['gets']:,} GETs)")
        rows.append((name, value, "", None, "", None))
    return rows


def small_rows(small):
    if not small:
        return []
    n = f"{small['projects']:,}"
    return [(f"first sync, {n}-project workspace", f"{small['first_sync_wall_s']:.2f} s wall, "
             f"{small['first_sync_cpu_s']:.2f} s CPU", "", None, "", None),
            (f"resync, {n}-project workspace, nothing changed", f"{small['no_change_wall_s']:.2f} s wall, "
             f"{small['no_change_cpu_s']:.3f} s CPU, {small['no_change_page_faults']:,.0f} page faults",
             "", None, "", None)]


def render(rows):
    out = ["| figure | focussync | floor / baseline | ratio | target | met |", "| --- | --- | --- | --- | --- | --- |"]
    for name, value, other, ratio, target, met in rows:
        out.append(f"| {name} | {value} | {other} | {'' if ratio is None else f'{ratio:.2f}×'} | {target} | "
                   f"{'' if met is None else ('yes' if met else 'NO')} |")
    return "\n".join(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="10,000 projects, one run (what scripts/test runs)")
    parser.add_argument("--out", help="write the figures as JSON here")
    parser.add_argument("--table", help="write the table (markdown) here too")
    parser.add_argument("--durability-only", action="store_true", help="only the cost of the durability contract")
    parser.add_argument("--ingest-only", action="store_true",
                        help="only the ingest rows (first sync, resyncs, the Python baseline and the sqlite3 floor)")
    parser.add_argument("--waits-only", action="store_true",
                        help="only how long a GET waits while listings run (first sync, no change, 1 %% changed)")
    parser.add_argument("--runs", type=int, help="runs of each ingest figure (default: 1 quick, 3 full)")
    args = parser.parse_args()
    n, runs = (10_000, 1) if args.quick else (100_000, 3)
    runs = args.runs or runs
    if args.ingest_only:
        print(f"focussync ingest: {n:,} projects, {runs} run(s)", flush=True)
        print(render(ingest_rows(bench_ingest(n, runs))))
        return
    if args.waits_only:
        print(f"focussync: a GET's wait while listings of {n:,} projects run", flush=True)
        print(render(waits_rows(waits_during_listings(n))))
        return
    heading = f"focussync benchmarks: {n:,} projects, {runs} run(s) each, on {os.cpu_count()} cores"
    print(heading, flush=True)
    results = {"mode": "quick" if args.quick else "full", "cores": os.cpu_count()}
    if not args.durability_only:
        results["ingest"] = bench_ingest(n, runs)
        results["small"] = bench_small(1_000, runs)
        results["socket"] = bench_socket(n, args.quick)
        results["waits"] = waits_during_listings(n)
    sizes, druns, dedits = ([20_000], 1, 300) if args.quick else ([20_000, 100_000], 3, 1000)
    results["durability"] = {"ingest": bench_durability_ingest(sizes, druns), "edits": bench_durability_edits(dedits, druns)}
    if not args.quick and not args.durability_only:
        results["quota"] = [quota_economy.bench_quota(3 * quota_economy.WINDOW, 7),
                            quota_economy.bench_quota(3 * quota_economy.WINDOW, 8, interval_ms=1000)]
    text = table(results)
    print(text)
    if args.table:
        with open(args.table, "w") as f:
            f.write(f"{heading}\n\n{text}\n")
    if args.out:
        with open(args.out, "w") as f:
            json.dump(results, f, indent=2)
        print(f"figures written to {args.out}")


if __name__ == "__main__":
    main()
