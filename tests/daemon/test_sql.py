"""/v1/sql and focusctl sql against a real focussyncd and focus-sim: the
views answer what the socket's list answers for the same filter, pending
edits included; everything outside the views is refused with a 400 (a 413
for an over-long query); a slow query stops at [sql] timeout while another
client reads and a sync runs; rows stop at [sql] max_rows; the five
example queries of docs/sql.md give what is computed here from the
simulator; the page documents every column the daemon serves."""
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "sim"))
from simproc import KEY, SimProcess  # noqa: E402
from test_socket import BASE, Daemon, SyncedDaemonCase  # noqa: E402

FOCUSCTL = os.environ.get("FOCUS_CTL", "build/bin/focusctl")
DOC = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "sql.md")


def sql(daemon, query, params=None, timeout=15):
    """POST /v1/sql; answers (status, body)."""
    r = daemon.request("POST", "/v1/sql", {"q": query, "params": params or []}, timeout=timeout)
    return r.status, r.json()


def doc_examples():
    with open(DOC) as f:
        return re.findall(r"```sql\n(.*?)```", f.read(), re.S)


class Views(unittest.TestCase):
    """One daemon with pending edits: the sim goes offline after the first
    sync, and archives, a create, a rename and a delete wait in the queue."""

    @classmethod
    def setUpClass(cls):
        cls.sim = SimProcess("--projects", "150", "--seed", "23", "--api-key", KEY)
        cls.d = Daemon(cls.sim, extra='[sql]\ntimeout = "1s"\n')
        cls.d.wait_synced()
        cls.sim.control("PUT", "faults", {"offline": True})
        live = [p for p in cls.sim.state()["projects"] if p["deleted_at"] is None and p["archived_at"] is None]
        cls.archived = [live[0]["id"], live[1]["id"]]
        for pid in cls.archived:
            r = cls.d.request("PATCH", f"{BASE}/{pid}/archive")
            assert r.status in (200, 201, 204), (r.status, r.body)
        cls.renamed = live[2]["id"]
        r = cls.d.request("PATCH", f"{BASE}/{cls.renamed}", {"name": "Renamed offline"})
        assert r.status == 201, (r.status, r.body)
        cls.deleted = live[3]["id"]
        assert cls.d.request("DELETE", f"{BASE}/{cls.deleted}").status == 204
        created = cls.d.request("POST", BASE, {"name": "Created offline", "client_id": live[4]["client_id"]})
        assert created.status == 201, created.body
        cls.created = created.json()["id"]

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()
        cls.sim.stop()

    def list_ids(self, query):
        ids, page = [], 1
        while True:
            r = self.d.get(f"{BASE}?{query}&per_page=200&page={page}").json()
            ids += [p["id"] for p in r["data"]]
            if len(r["data"]) < 200:
                return ids
            page += 1

    def ctl(self, *args):
        return subprocess.run([FOCUSCTL, "--socket", self.d.socket, *args], capture_output=True, text=True, timeout=60)

    def test_views_answer_what_the_list_answers_with_pending_edits(self):
        total = self.d.get(f"{BASE}?per_page=1").json()["total"]  # active, as the list defaults
        status, r = sql(self.d, "SELECT count(*) AS n FROM projects WHERE archived_at IS NULL")
        self.assertEqual(status, 200, r)
        self.assertEqual(r, {"columns": ["n"], "rows": [[total]], "truncated": False})
        every = sorted(self.list_ids("archived="))
        _, r = sql(self.d, "SELECT id FROM projects ORDER BY id")
        self.assertEqual([row[0] for row in r["rows"]], every)
        self.assertIn(self.created, every)
        self.assertNotIn(self.deleted, every)
        client = self.d.get(f"{BASE}/{self.created}").json()["client_id"]
        _, r = sql(self.d, "SELECT id FROM projects WHERE client_id = ?1 ORDER BY id", [client])
        self.assertEqual([row[0] for row in r["rows"]], sorted(self.list_ids(f"archived=&client_id={client}")))
        _, r = sql(self.d, "SELECT id, name, archived_at IS NOT NULL, pending FROM projects WHERE pending = 1 ORDER BY id")
        pending = {row[0]: row for row in r["rows"]}
        self.assertEqual(set(pending), {self.created, self.renamed, *self.archived})
        self.assertEqual(pending[self.renamed][1], "Renamed offline")
        self.assertTrue(all(pending[a][2] == 1 for a in self.archived))
        _, r = sql(self.d, "SELECT count(*) FROM edits WHERE state = 'pending'")
        self.assertEqual(r["rows"], [[5]])
        # Tags: the same as the bodies the socket serves.
        body = self.d.get(f"{BASE}/{every[5]}").json()
        _, r = sql(self.d, "SELECT tag_id, name FROM project_tags WHERE project_id = ?1 ORDER BY tag_id", [every[5]])
        self.assertEqual(r["rows"], sorted([t["id"], t["name"]] for t in body["tags"]))

    def test_focusctl_sql(self):
        total = self.d.get(f"{BASE}?per_page=1").json()["total"]
        r = self.ctl("--format", "json", "sql", "SELECT count(*) AS n FROM projects WHERE archived_at IS NULL")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout), [{"n": total}])
        r = self.ctl("--format", "csv", "sql", "SELECT id, name FROM projects WHERE id = ?1", "--param", str(self.renamed))
        self.assertEqual(r.stdout.splitlines(), ["id,name", f"{self.renamed},Renamed offline"])
        # Fractions as the query gave them, in CSV and in a table alike.
        r = self.ctl("--format", "csv", "sql", "SELECT 3.14159 AS x, 0.005 AS y, 123456789.987654 AS z")
        self.assertEqual(r.stdout.splitlines(), ["x,y,z", "3.14159,0.005,123456789.987654"])
        self.assertEqual(self.ctl("sql", "SELECT 0.005 AS y").stdout.split(), ["y", "0.005"])
        r = self.ctl("sql", "--schema", "--format", "csv")
        views = {line.split(",")[0] for line in r.stdout.splitlines()[1:]}
        self.assertEqual(views, {"projects", "project_tags", "members", "changes", "edits"})
        r = self.ctl("sql", "DELETE FROM projects")
        self.assertEqual(r.returncode, 1)
        self.assertIn("focusctl:", r.stderr)
        self.assertIn("projects", r.stderr)

    def test_everything_outside_the_views_is_refused(self):
        refused = {
            "INSERT INTO projects (id) VALUES (1)": "not authorized",
            "UPDATE projects SET name = 'x'": "cannot modify projects",
            "DELETE FROM edits": "cannot modify edits",
            "CREATE TABLE t (x)": "not authorized",
            "CREATE TEMP VIEW v AS SELECT 1": "not authorized",
            "DROP VIEW projects": "not authorized",
            "ATTACH DATABASE '/tmp/other.db' AS other": "not authorized",
            "PRAGMA table_info(projects)": "not authorized",
            "SELECT * FROM pragma_table_info('projects')": "not authorized",
            "SELECT load_extension('/tmp/x.so')": "load_extension",
            "SELECT random()": "random",
            "SELECT * FROM main.projects": "projects.organization_id is prohibited",
            "SELECT body FROM overlay": "prohibited",
            "SELECT * FROM sync_state": "prohibited",
            "SELECT key_id FROM own_users": "prohibited",
            "SELECT * FROM sqlite_master": "prohibited",
            "SELECT * FROM sqlite_schema": "prohibited",
            "SELECT * FROM temp.sqlite_master": "prohibited",
            "WITH t AS (SELECT hash FROM main.projects) SELECT * FROM t": "prohibited",
            "SELECT 1; SELECT 2": "one statement",
            "SELECT count(*) FROM projects; DELETE FROM edits": "one statement",
            "": "empty",
            "SELEC 1": "syntax error",
            "SELECT ?1": "parameter",
            # A double-quoted word is a column, never text: a misspelt one is an error, not a string.
            'SELECT "nmae" FROM projects': "no such column: nmae",
        }
        for query, words in refused.items():
            with self.subTest(query=query):
                status, r = sql(self.d, query)
                self.assertEqual(status, 400, r)
                self.assertIn(words, r["error"])
        status, r = sql(self.d, "SELECT 1 -- " + "x" * 70_000)
        self.assertEqual(status, 413, r)
        self.assertIn("65536", r["error"])
        # The views still answer after all that, a double-quoted column included.
        self.assertEqual(sql(self.d, 'SELECT count("name") > 0 FROM "projects"')[1]["rows"], [[1]])

    def test_a_slow_query_stops_at_the_limit_while_others_carry_on(self):
        slow = "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) SELECT count(*) FROM n"
        result = {}

        def run():
            started = time.monotonic()
            result["answer"] = sql(self.d, slow, timeout=30)
            result["took"] = time.monotonic() - started

        t = threading.Thread(target=run)
        t.start()
        time.sleep(0.1)
        reads = []
        while t.is_alive():
            started = time.monotonic()
            self.assertEqual(self.d.get(f"{BASE}/{self.renamed}").status, 200)
            reads.append(time.monotonic() - started)
            time.sleep(0.02)
        t.join()
        status, r = result["answer"]
        self.assertEqual(status, 400)
        self.assertIn("time limit of 1000 ms", r["error"])
        self.assertLess(result["took"], 3.0)
        self.assertGreater(len(reads), 10, "the other client was held up")
        self.assertLess(max(reads), 0.5, f"a read took {max(reads):.3f} s while the query ran")

    ENDLESS = "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) SELECT count(*) FROM n"

    def send_sql(self, socket_path, query, shut_write=False):
        s = socket.socket(socket.AF_UNIX)
        s.connect(socket_path)
        s.sendall(b"GET /v1/sql?" + urllib.parse.urlencode({"q": query}).encode() + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        if shut_write:
            s.shutdown(socket.SHUT_WR)
        return s

    def test_queries_whose_clients_left_are_dropped(self):
        # Five clients each ask for a query that runs to the 1 s limit, and
        # hang up. Before, the five still ran, one after another, and held
        # every other query back five seconds.
        for _ in range(5):
            self.send_sql(self.d.socket, self.ENDLESS).close()
        time.sleep(0.2)
        started = time.monotonic()
        status, r = sql(self.d, "SELECT 1")
        took = time.monotonic() - started
        self.assertEqual((status, r["rows"]), (200, [[1]]), r)
        self.assertLess(took, 2.5, f"a query waited {took:.1f} s behind abandoned ones")  # before: 4.8 s
        # A client that only shut its writing still reads its answer.
        s = self.send_sql(self.d.socket, "SELECT 2", shut_write=True)
        s.settimeout(10)
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
        s.close()
        self.assertIn(b" 200 ", answer.split(b"\r\n")[0])
        self.assertIn(b"[[2]]", answer)

    def test_stopping_with_queries_queued_is_prompt_and_clean(self):
        # Before: each queued query ran to its limit after SIGTERM, and with
        # five queued the daemon gave up after 8 s and exited 1.
        d = Daemon(self.sim, extra='[sql]\ntimeout = "2s"\n')
        waiting = [self.send_sql(d.socket, self.ENDLESS) for _ in range(5)]
        try:
            time.sleep(0.5)
            started = time.monotonic()
            code = d.stop()
            took = time.monotonic() - started
        finally:
            for s in waiting:
                s.close()
        self.assertEqual(code, 0)
        self.assertLess(took, 4.0, f"stopping took {took:.1f} s")

    def test_rows_stop_at_the_limit(self):
        status, r = sql(self.d, "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n LIMIT 20000) "
                                "SELECT x FROM n")
        self.assertEqual(status, 200, r)
        self.assertEqual(len(r["rows"]), 10_000)
        self.assertTrue(r["truncated"])
        # GET, with a parameter read as a number.
        q = urllib.parse.urlencode({"q": "SELECT name FROM projects WHERE id = ?1", "param": str(self.renamed)})
        self.assertEqual(self.d.get("/v1/sql?" + q).json()["rows"], [["Renamed offline"]])

    def test_an_answer_stops_at_its_size_and_unread_ones_stay_bounded(self):
        # 500 rows of 100 KB: 50 MB, held in the daemon until read.
        big = ("WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r LIMIT 500) "
               "SELECT n, printf('%.*c', 99999, 'x') FROM r")
        limit = self.d.get("/v1/sql/schema").json()["limits"]["max_answer_bytes"]
        status, r = sql(self.d, big, timeout=60)
        self.assertEqual(status, 200, r)
        self.assertTrue(r["truncated"])
        self.assertEqual(len(r["rows"]), limit // (8 + 8 + 99_999 + 2))  # a cell: 8, its text and quotes
        self.assertEqual(r["rows"][0][0], 1)  # numbers stay numbers
        # A control character is six bytes of JSON (\u0001), and counts so.
        status, r = sql(self.d, big.replace("'x'", "char(1)"), timeout=60)
        self.assertEqual(status, 200, r)
        self.assertTrue(r["truncated"])
        self.assertEqual(len(r["rows"]), limit // (8 + 8 + 6 * 99_999 + 2))
        # Ten clients ask and never read: the daemon holds ten cut answers,
        # not ten whole ones (before: about 70 MB each).
        def rss_mb():
            with open(f"/proc/{self.d.proc.pid}/status") as f:
                return int(next(line for line in f if line.startswith("VmRSS")).split()[1]) / 1024
        before = rss_mb()
        body = json.dumps({"q": big}).encode()
        stalled = []
        for _ in range(10):
            s = socket.socket(socket.AF_UNIX)
            s.connect(self.d.socket)
            s.sendall(b"POST /v1/sql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
            stalled.append(s)
        try:
            time.sleep(8)  # one query at a time, each well under a second
            grew = rss_mb() - before
            self.assertLess(grew, 250, f"ten unread answers took {grew:.0f} MB")
            self.assertEqual(self.d.get("/v1/status").status, 200)
        finally:
            for s in stalled:
                s.close()

    def test_the_docs_describe_every_column(self):
        with open(DOC) as f:
            doc = f.read()
        schema = self.d.get("/v1/sql/schema").json()
        self.assertEqual(schema["version"], "v1")
        for view in schema["views"]:
            self.assertIn(f"### {view['name']}\n", doc)
            section = doc.split(f"### {view['name']}\n", 1)[1].split("\n### ", 1)[0]
            for c in view["columns"]:
                if view["name"] == "projects":
                    self.assertIn(f"| {c['name']} | {c['type']} | {c['meaning']} |", section)
                else:
                    self.assertIn(f"`{c['name']}`", section, f"{view['name']}.{c['name']} is not documented")


class CronExamples(SyncedDaemonCase):
    """docs/sql.md's five queries, each checked against the simulator."""
    SIM_ARGS = ("--projects", "120", "--seed", "5")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sim.control("POST", "mutate", {"updates": 6})
        cls.d.request("POST", "/v1/sync?wait=1", timeout=60)

    def test_a_sync_runs_while_a_slow_query_does(self):
        slow = "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) SELECT count(*) FROM n"
        result = {}
        t = threading.Thread(target=lambda: result.update(answer=sql(self.d, slow, timeout=30)))
        t.start()
        time.sleep(0.2)
        started = time.monotonic()
        self.sim.control("POST", "mutate", {"updates": 1})
        summary = self.d.request("POST", "/v1/sync?wait=1", timeout=60)
        took = time.monotonic() - started
        still_running = t.is_alive()
        t.join()
        self.assertEqual(summary.status, 200)
        self.assertIsNone(summary.json()["error"])
        self.assertEqual(summary.json()["updated"], 1)  # the listing wrote while the query read
        self.assertTrue(still_running, f"the sync took {took:.2f} s, as long as the query")
        self.assertIn("time limit of 2000 ms", result["answer"][1]["error"])

    def test_five_examples(self):
        examples = doc_examples()
        self.assertEqual(len(examples), 5)
        answers = []
        for q in examples:
            status, r = sql(self.d, q)
            self.assertEqual(status, 200, f"{q}: {r}")
            answers.append(r["rows"])
        live = [p for p in self.sim.state()["projects"] if p["deleted_at"] is None]
        over = {}
        for p in live:
            if p["estimated_mins"] is not None and p["total_tracked_time"] > p["estimated_mins"] * 60:
                key = p["client"]["name"] if p["client"] else "(no client)"
                n, h = over.get(key, (0, 0.0))
                over[key] = (n + 1, h + p["total_tracked_time"] / 3600 - p["estimated_mins"] / 60)
        self.assertEqual({row[0]: (row[1], row[2]) for row in answers[0]},
                         {k: (n, round(h, 2)) for k, (n, h) in over.items()})
        no_client = sorted((p["name"], p["id"]) for p in live if p["client_id"] is None and p["archived_at"] is None)
        self.assertEqual([(row[1], row[0]) for row in answers[1]], no_client)
        tags = {}
        for p in live:
            for t in p["tags"]:
                tags[t["name"]] = tags.get(t["name"], 0) + 1
        self.assertEqual([tuple(row) for row in answers[2]], sorted(tags.items(), key=lambda kv: (-kv[1], kv[0]))[:10])
        changed = {}
        for c in self.d.get("/v1/changes?limit=1000").json()["changes"]:
            if c["kind"] == "update":
                for f in c["fields"]:
                    changed[f] = changed.get(f, 0) + 1
        self.assertTrue(changed, "the mutations made no update")
        self.assertEqual([tuple(row) for row in answers[3]], sorted(changed.items(), key=lambda kv: (-kv[1], kv[0])))
        self.assertEqual(answers[4], [])  # no edit needs anyone here


if __name__ == "__main__":
    unittest.main()
