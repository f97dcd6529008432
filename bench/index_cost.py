#!/usr/bin/env python3
"""What the mirror's filter indexes cost an ingest, and what they give a
filtered list page: the trade behind the ingest target (docs/benchmarks.md,
"Where targets are still missed").

    bench/index_cost.py [--projects N] [--runs R]

focussyncd makes a cache of N projects (default 100,000) from focus-sim.
Then, with the rows it stored:
  * the ingest floor (bench/run.py's sqlite_floor: sqlite3 alone inserting
    them, in one transaction, with the apply's page cache) with every index
    of the projects table, with only the two a sync itself reads
    (projects_live, projects_listing_digests), and with none but the
    table's UNIQUE; medians of R runs, and each against the first;
  * the bench's filtered page (client_id, active only, 50 by id, with its
    total), the same filter the daemon applies, asked of the projects table
    directly (the daemon's SQL also lays pending edits over it), with
    projects_by_client and after dropping it; median and max of 20.
"""
import argparse
import sqlite3
import statistics
import sys
import time

import run

SYNC_READS = ("projects_live", "projects_listing_digests")


def filtered_page_ms(cache, client):
    """The bench's filtered page: its total, then the page's ids (bodies are
    read by id either way). Active only, as the Focus list is by default."""
    db = sqlite3.connect(cache)
    where = "organization_id = 1 AND workspace_id = 1 AND deleted = 0 AND archived = 0 AND client_id = ?"
    times = []
    for _ in range(20):
        started = time.perf_counter()
        db.execute(f"SELECT count(*) FROM projects WHERE {where}", (client,)).fetchone()
        db.execute(f"SELECT id FROM projects WHERE {where} ORDER BY id LIMIT 50", (client,)).fetchall()
        times.append((time.perf_counter() - started) * 1000)
    db.close()
    return statistics.median(times), max(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--projects", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    if args.projects < 100 or args.runs < 1:
        ap.error("--projects must be at least 100 and --runs positive")
    sim = run.bench_sim(args.projects)
    w = run.Workdir(sim)
    try:
        run.once(w)
        table, indexes, rows = run.projects_schema_and_rows(w.cache)
        missing = [name for name in SYNC_READS + ("projects_by_client",) if name not in indexes]
        if missing:
            raise RuntimeError(f"the cache has no index {', '.join(missing)}: the schema changed, change this script")
        variants = [(f"every index ({len(indexes)})", list(indexes.values())),
                    ("only what a sync reads (" + ", ".join(SYNC_READS) + ")", [indexes[n] for n in SYNC_READS]),
                    ("the table and its UNIQUE alone", [])]
        print(f"ingest floor, {args.projects:,} rows, medians of {args.runs}:")
        cpus = []
        for name, sqls in variants:
            cpus.append(statistics.median(run.insert_cpu(w.cache + ".floor", table, sqls, rows)
                                          for _ in range(args.runs)))
            cpu = cpus[-1]
            ratio = f", {cpus[0] / cpu:.2f}× as fast as with every index" if len(cpus) > 1 else ""
            print(f"  {name}: {cpu:.2f} s CPU, {args.projects / cpu:,.0f} rows per CPU-s{ratio}")
        client = run.filter_client(sim, args.projects)
        with_index = filtered_page_ms(w.cache, client)
        db = sqlite3.connect(w.cache)
        db.execute("DROP INDEX projects_by_client")
        db.close()
        without = filtered_page_ms(w.cache, client)
        print(f"filtered page (client_id={client}, active, 50 by id, with its total), median / max of 20:")
        print(f"  with projects_by_client: {with_index[0]:.2f} / {with_index[1]:.2f} ms")
        print(f"  without it: {without[0]:.2f} / {without[1]:.2f} ms, {without[0] / with_index[0]:.0f}× slower")
    finally:
        w.close()
        sim.stop()


if __name__ == "__main__":
    sys.exit(main())
