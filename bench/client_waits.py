#!/usr/bin/env python3
"""What each GET by id costs the server and its 16 clients, by how the
clients wait for their answers: blocking in read() or waiting in poll()
(bench/socket_load.cpp says why the two differ), for focussyncd and for its
echo floor, interleaved.

    bench/client_waits.py [--projects N] [--rounds R] [--requests K]

Per request, medians of the rounds: requests per second, the server's CPU
(from /proc/PID/stat around the load), the clients' CPU and how often a
client went to sleep (the load tool's rusage: voluntary context switches).
A client that sleeps more than once per request was woken before its
answer was there. Default 2,000 projects, 6 rounds, 4,000 GETs per client.
"""
import argparse
import os
import resource
import statistics
import subprocess
import sys
import time

import run

CLIENTS = 16
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    """User and system time of a process so far, from /proc/PID/stat."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def one_load(socket_path, target, per_client, wait, server_pid):
    """(req/s, server µs, clients' µs, client sleeps), each per request."""
    server_before = cpu_seconds(server_pid)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    figures = run.load(socket_path, target, CLIENTS, per_client, wait)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    server_after = cpu_seconds(server_pid)
    n = figures["requests"]
    clients_cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return (figures["rps"], (server_after - server_before) / n * 1e6, clients_cpu / n * 1e6,
            (after.ru_nvcsw - before.ru_nvcsw) / n)


def measure(args):
    sim = run.bench_sim(args.projects)
    w = run.Workdir(sim)
    daemon = None
    try:
        run.once(w)
        daemon = subprocess.Popen([os.path.join(run.BIN, "focussyncd"), "--config", w.config, "--log-level", "warn"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while not os.path.exists(w.socket) and time.monotonic() < deadline:
            time.sleep(0.02)
        run.wait_for_startup_listing(w.socket, timeout=300)
        target = f"{run.WS}/{1000 + args.projects // 3}"
        size = run.load(w.socket, target, 1, 10)["answer_bytes"] - 140  # as bench/run.py sizes its echo
        results = {}
        with run.EchoServer(size) as echo:
            sides = (("focussyncd", w.socket, target, daemon.pid), ("echo", echo.path, "/", echo.process.pid))
            for wait in ("block", "poll"):
                for name, path, asked, pid in sides:
                    results[(name, wait)] = []

                def load_of(name, path, asked, pid, wait):
                    return lambda: results[(name, wait)].append(one_load(path, asked, args.requests, wait, pid))

                run.alternating(load_of(*sides[0], wait), load_of(*sides[1], wait), args.rounds)
        return results
    finally:
        run.stop_all(daemon, w, sim)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--projects", type=int, default=2_000)
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--requests", type=int, default=4_000, help="GETs per client in each round")
    args = ap.parse_args()
    if min(args.projects, args.rounds, args.requests) < 1:
        ap.error("--projects, --rounds and --requests must be positive")
    results = measure(args)
    for (name, wait), rounds in results.items():
        rps, server, clients, sleeps = (statistics.median(r[i] for r in rounds) for i in range(4))
        print(f"{name:10} clients {'blocking in read' if wait == 'block' else 'waiting in poll':16}: "
              f"{rps:7.0f} req/s, server {server:5.1f} µs, clients {clients:5.1f} µs, "
              f"{sleeps:4.2f} client sleeps per request")
    for wait in ("block", "poll"):
        ours = statistics.median(r[0] for r in results[("focussyncd", wait)])
        floor = statistics.median(r[0] for r in results[("echo", wait)])
        print(f"ratio to the echo floor, clients {'blocking in read' if wait == 'block' else 'waiting in poll'}: "
              f"{ours / floor:.2f}×")
    return 0


if __name__ == "__main__":
    sys.exit(main())
