#!/usr/bin/env python3
"""Two builds of focussyncd set against each other, interleaved, on one
focus-sim: what the "before / after" tables of docs/benchmarks.md measure.

    bench/ab.py sync [--projects N] [--rounds R] BIN_A BIN_B
    bench/ab.py load [--projects N] [--rounds R] [--requests K] [--wait block|poll] BIN_A BIN_B

BIN_A and BIN_B are folders holding a focussyncd each (a build's `bin/`;
build the older commit in a worktree of its own). focus-sim and the
measuring tools come from this checkout's build (bench/run.py's BIN:
build/bin, or $FOCUS_BIN). Each build gets its own cache: a newer build
may migrate a cache to a schema the older one refuses.

  * sync: in each round, each build does a first sync of N projects on a new
    cache, then a no-change resync (`focussyncd --once`); CPU, page faults
    and peak RSS from focus-bench-rusage. Default 10,000 projects, 8 rounds.
  * load: both daemons serve one focus-sim of N projects at once; in each
    round, 16 keep-alive clients make K GETs by id each from one daemon,
    then from the other. Default 2,000 projects, 8 rounds, 4,000 requests.

The machine's speed drifts by tens of percent over minutes, so the builds
alternate within every round, each going first in half of the rounds (an
odd count is made even), and each figure is the median of its rounds,
printed beside every round's value. Every process is stopped at the end.
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

import run


def measure_sync(binary, sim):
    w = run.Workdir(sim)
    try:
        argv = [os.path.join(binary, "focussyncd"), "--config", w.config, "--once", "--log-level", "warn"]
        first, again = run.run_measured(argv), run.run_measured(argv)
    finally:
        w.close()
    # (CPU ms, page faults, peak RSS MB) of each
    return {"first": (first[1] * 1000, first[4], first[2]), "resync": (again[1] * 1000, again[4], again[2])}


def report_sync(name, samples):
    for phase in ("first", "resync"):
        cpu = [s[phase][0] for s in samples]
        faults = statistics.median(s[phase][1] for s in samples)
        rss = statistics.median(s[phase][2] for s in samples)
        print(f"{name}: {phase:6} {statistics.median(cpu):8.1f} ms CPU, {faults:6.0f} page faults, "
              f"peak RSS {rss:5.1f} MB  (rounds: {', '.join(f'{c:.1f}' for c in sorted(cpu))})")


def ab_sync(args):
    sim = run.bench_sim(args.projects)
    try:
        a, b = args.builds
        samples = run.alternating(lambda: measure_sync(a, sim), lambda: measure_sync(b, sim), args.rounds)
    finally:
        sim.stop()
    for build, s in zip(args.builds, samples):
        report_sync(build, s)


def stop_daemon(w, d):
    if d is not None:
        d.terminate()
        try:
            d.wait(timeout=30)
        except subprocess.TimeoutExpired:
            d.kill()
            d.wait()
    w.close()


def start_daemon(binary, sim, daemons):
    """Starts a daemon of `binary` after a first sync. It goes into `daemons`
    at once, so that it is stopped whatever happens next."""
    w = run.Workdir(sim)
    daemons[binary] = (w, None)
    exe = os.path.join(binary, "focussyncd")
    subprocess.run([exe, "--config", w.config, "--once", "--log-level", "warn"], check=True,
                   stdout=subprocess.DEVNULL, timeout=600)
    d = subprocess.Popen([exe, "--config", w.config, "--log-level", "warn"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    daemons[binary] = (w, d)
    deadline = time.monotonic() + 30
    while not os.path.exists(w.socket):
        if time.monotonic() > deadline or d.poll() is not None:
            raise RuntimeError(f"{exe} did not open its socket")
        time.sleep(0.05)
    run.wait_for_startup_listing(w.socket, timeout=120)


def ab_load(args):
    sim = run.bench_sim(args.projects)
    daemons = {}
    try:
        for b in args.builds:
            start_daemon(b, sim, daemons)
        target = f"{run.WS}/{1000 + args.projects // 3}"

        def rps_of(build):
            return lambda: run.load(daemons[build][0].socket, target, 16, args.requests, args.wait)["rps"]

        rps = run.alternating(rps_of(args.builds[0]), rps_of(args.builds[1]), args.rounds)
    finally:
        try:
            for w, d in daemons.values():
                stop_daemon(w, d)
        finally:
            sim.stop()
    for build, r in zip(args.builds, rps):
        print(f"{build}: 16 clients {statistics.median(r):8.0f} req/s  "
              f"(rounds: {', '.join(f'{x:.0f}' for x in sorted(r))})")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=("sync", "load"))
    ap.add_argument("builds", nargs=2, metavar="BIN", help="a folder holding a focussyncd")
    ap.add_argument("--projects", type=int)
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--requests", type=int, default=4000, help="GETs per client in each load round")
    ap.add_argument("--wait", choices=("block", "poll"), default="block",
                    help="how each load client waits for its answer (bench/socket_load.cpp)")
    args = ap.parse_args()
    if os.path.realpath(args.builds[0]) == os.path.realpath(args.builds[1]):
        ap.error("the two builds are one folder")
    for b in args.builds:
        if not os.access(os.path.join(b, "focussyncd"), os.X_OK):
            ap.error(f"no focussyncd in {b}")
    if args.rounds < 1 or args.requests < 1 or (args.projects is not None and args.projects < 1):
        ap.error("--projects, --rounds and --requests must be positive")
    if args.what == "sync":
        args.projects = args.projects or 10_000
        ab_sync(args)
    else:
        args.projects = args.projects or 2_000
        ab_load(args)


if __name__ == "__main__":
    sys.exit(main())
