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
  * the bench's filtered page (client_id, 50 by id, with its total) read
    from the cache as the daemon reads it, with projects_by_client and
    after dropping it; median and max of 20.
"""
import argparse
import contextlib
import os
import sqlite3
import statistics
import sys
import time

import run

SYNC_READS = ("projects_live", "projects_listing_digests")


def schema_and_rows(cache):
    db = sqlite3.connect(cache)
    table = db.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'projects'").fetchone()[0]
    indexes = dict(db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'projects' "
                              "AND sql IS NOT NULL"))
    rows = db.execute("SELECT * FROM projects").fetchall()
    db.close()
    return table, indexes, rows


def floor_cpu(path, table, index_sqls, rows):
    """CPU seconds to insert `rows` into a new file with `index_sqls`."""
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path + suffix)
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute(f"PRAGMA cache_size = -{run.apply_page_cache_kib()}")
    db.execute(table)
    for sql in index_sqls:
        db.execute(sql)
    started = time.process_time()
    with db:
        db.executemany(f"INSERT INTO projects VALUES ({', '.join('?' * len(rows[0]))})", rows)
    cpu = time.process_time() - started
    db.close()
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path + suffix)
    return cpu


def filtered_page_ms(cache, client):
    """The bench's filtered page as the daemon asks it: its total, then the
    page's ids (bodies are read by id either way)."""
    db = sqlite3.connect(cache)
    where = "organization_id = 1 AND workspace_id = 1 AND deleted = 0 AND client_id = ?"
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
        table, indexes, rows = schema_and_rows(w.cache)
        missing = [name for name in SYNC_READS + ("projects_by_client",) if name not in indexes]
        if missing:
            raise RuntimeError(f"the cache has no index {', '.join(missing)}: the schema changed, change this script")
        variants = [(f"every index ({len(indexes)})", list(indexes.values())),
                    ("only what a sync reads (" + ", ".join(SYNC_READS) + ")", [indexes[n] for n in SYNC_READS]),
                    ("the table and its UNIQUE alone", [])]
        print(f"ingest floor, {args.projects:,} rows, medians of {args.runs}:")
        first = None
        for name, sqls in variants:
            cpu = statistics.median(floor_cpu(w.cache + ".floor", table, sqls, rows) for _ in range(args.runs))
            first = first or cpu
            print(f"  {name}: {cpu:.2f} s CPU, {args.projects / cpu:,.0f} rows per CPU-s, {first / cpu:.2f}× as fast as with every index")
        client = sim.state()["projects"][args.projects // 2]["client_id"] or 1100
        with_index = filtered_page_ms(w.cache, client)
        db = sqlite3.connect(w.cache)
        db.execute("DROP INDEX projects_by_client")
        db.close()
        without = filtered_page_ms(w.cache, client)
        print(f"filtered page (client_id={client}, 50 by id, with its total), median / max of 20:")
        print(f"  with projects_by_client: {with_index[0]:.2f} / {with_index[1]:.2f} ms")
        print(f"  without it: {without[0]:.2f} / {without[1]:.2f} ms, {without[0] / with_index[0]:.0f}× slower")
    finally:
        w.close()
        sim.stop()


if __name__ == "__main__":
    sys.exit(main())
