#!/usr/bin/env python3
"""The baseline focussync's ingest is measured against: what a user would
write instead, with the standard library only. It pages the same listing
(archived=, rates included, 200 a page, in id order) from a Focus API and
upserts every project into SQLite with its JSON, a content hash and the
same indexed columns, in one transaction.

    baseline_sync.py BASE_URL API_KEY_FILE ORG WS DATABASE
"""
import hashlib
import json
import sqlite3
import sys
import urllib.request


def main():
    base, key_file, org, ws, path = sys.argv[1:6]
    key = open(key_file).read().strip()
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("""CREATE TABLE IF NOT EXISTS projects (
        id INTEGER PRIMARY KEY, body TEXT NOT NULL, hash TEXT NOT NULL, name TEXT, archived INTEGER,
        pinned INTEGER, private INTEGER, client_id INTEGER, parent_id INTEGER, updated_at TEXT)""")
    db.execute("CREATE INDEX IF NOT EXISTS by_name ON projects (name)")
    db.execute("CREATE INDEX IF NOT EXISTS by_client ON projects (client_id)")
    rows = []
    page = 1
    while True:
        url = f"{base}/organizations/{org}/workspaces/{ws}/projects?archived=&include_rates=true&per_page=200&page={page}"
        request = urllib.request.Request(url, headers={"Authorization": "Bearer " + key})
        with urllib.request.urlopen(request, timeout=60) as answer:
            data = json.load(answer)["data"]
        for p in data:
            body = json.dumps(p, sort_keys=True, separators=(",", ":"))
            rows.append((p["id"], body, hashlib.sha256(body.encode()).hexdigest()[:32], p["name"],
                         p["archived_at"] is not None, p["pinned"], p["private"], p["client_id"],
                         p["parent_project_id"], p["updated_at"]))
        if len(data) < 200:
            break
        page += 1
    with db:
        db.executemany("""INSERT INTO projects VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT (id) DO UPDATE SET
            body = excluded.body, hash = excluded.hash, name = excluded.name, archived = excluded.archived,
            pinned = excluded.pinned, private = excluded.private, client_id = excluded.client_id,
            parent_id = excluded.parent_id, updated_at = excluded.updated_at WHERE projects.hash != excluded.hash""", rows)
    print(len(rows))


if __name__ == "__main__":
    main()
