"""A hostile local client against a real focussyncd with a real focus-sim
behind it: fixed-seed random sequences of legal-looking socket requests
(parent cycles tried by patch and PUT, long parent chains through temporary
ids, huge pages, children and parents of everything, random methods and
paths). Each request is answered within 2 s, the daemon's RSS stays under
64 MB, a cycle attempt is always refused with 400 naming parent_project_id
and queues nothing, and /v1/status answers at the end. Then the server
itself holds a parent cycle (set through focus-sim's /_sim/mutate): tree
reads answer promptly with each project once, /v1/status names the cycle
and the log warns of it once.

Environment: FOCUS_HOSTILE_SEEDS and FOCUS_HOSTILE_STEPS change the number
of seeds (default 20) and requests per seed (default 60)."""
import contextlib
import json
import os
import random
import socket
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "sim"))
from daemonconf import UnixConnection  # noqa: E402
from simproc import KEY, SimProcess  # noqa: E402
from test_socket import BASE, Daemon, Reply  # noqa: E402

FOCUSCTL = os.environ.get("FOCUS_CTL", "build/bin/focusctl")
SEEDS = int(os.environ.get("FOCUS_HOSTILE_SEEDS", "20"))
STEPS = int(os.environ.get("FOCUS_HOSTILE_STEPS", "60"))
ANSWER_WITHIN = 2.0  # seconds, for every request
RSS_LIMIT_KB = 64 * 1024


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for pid %d" % pid)


class Client:
    """Timed requests to the daemon; each one checks the time and the RSS."""

    def __init__(self, test, daemon):
        self.test, self.d = test, daemon
        self.requests, self.slowest, self.peak_rss = 0, (0.0, ""), 0
        self.where = ""

    def request(self, method, path, body=None, raw=None):
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        started = time.monotonic()
        conn = UnixConnection(self.d.socket, timeout=ANSWER_WITHIN + 8)
        try:
            conn.request(method, path, body=data, headers={"Content-Type": "application/json"} if data else {})
            resp = conn.getresponse()
            reply = Reply(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
        finally:
            conn.close()
        took = time.monotonic() - started
        self.requests += 1
        what = f"{method} {path[:120]} ({self.where})"
        if took > self.slowest[0]:
            self.slowest = (took, what)
        self.test.assertLess(took, ANSWER_WITHIN, f"{what} took {took:.2f} s")
        rss = rss_kb(self.d.proc.pid)
        self.peak_rss = max(self.peak_rss, rss)
        self.test.assertLess(rss, RSS_LIMIT_KB, f"RSS {rss} kB after {what}")
        return reply

    def json(self, method, path, body=None, status=200):
        r = self.request(method, path, body)
        self.test.assertEqual(r.status, status, f"{method} {path} ({self.where}): {r.body[:300]!r}")
        return r.json()

    def edits_total(self):
        return sum(self.json("GET", "/v1/status")["edits"].values())

    def chain_above(self, pid):
        """The ids of pid's parents answer, every page (pid first); None for a 404."""
        out = []
        for page in range(1, 200):
            r = self.request("GET", f"{BASE}/{pid}/parents?per_page=200&page={page}")
            if r.status == 404:
                return None
            self.test.assertEqual(r.status, 200, r.body[:300])
            data = r.json()["data"]
            out += [p["id"] for p in data]
            if len(data) < 200:
                return out
        raise AssertionError(f"parents of {pid}: more than 200 pages")


class HostileLocalClient(unittest.TestCase):
    """Offline (the server stopped after the first sync), so nothing but these
    requests changes what reads show between a question and the next."""

    @classmethod
    def setUpClass(cls):
        cls.sim = SimProcess("--projects", "60", "--seed", "14", "--api-key", KEY)
        cls.d = Daemon(cls.sim)
        cls.d.wait_synced()
        cls.sim.stop()

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()

    def refuse_cycle(self, c, method, pid, body):
        before = c.edits_total()
        r = c.request(method, f"{BASE}/{pid}", body)
        self.assertEqual(r.status, 400, f"{method} {pid} {body} ({c.where}) was not refused: {r.body[:300]!r}")
        self.assertEqual(r.json().get("field"), "parent_project_id", r.body)
        self.assertEqual(c.edits_total(), before, f"{method} {pid} {body} ({c.where}) queued something")
        self.cycles_refused += 1

    def test_random_sequences(self):
        c = Client(self, self.d)
        listed = c.json("GET", BASE + "?archived=&per_page=200")["data"]
        known = [p["id"] for p in listed]  # mirror ids, then temporary ids of creates
        deepest = [known[0], 0]  # the bottom of the longest chain made, and its depth
        self.cycles_refused = 0
        started = time.monotonic()

        def chain(rng, length):
            # Creates under creates, each naming the previous temporary id.
            extend = rng.random() < 0.6
            parent, depth = (deepest[0], deepest[1]) if extend else (rng.choice(known), 0)
            for i in range(length):
                r = c.request("POST", BASE, {"name": f"chain {c.where} {i}", "parent_project_id": parent})
                self.assertEqual(r.status, 201, r.body[:300])
                parent = r.json()["id"]
                known.append(parent)
                depth += 1
            if extend or depth > deepest[1]:
                deepest[0], deepest[1] = parent, depth

        def cycle_attempt(rng):
            # A project, a chosen one of its ancestors (or itself) made its child.
            for _ in range(5):
                pid = rng.choice(known)
                above = c.chain_above(pid)
                if above:
                    break
            else:
                return
            target = rng.choice(above)
            if rng.random() < 0.5:
                self.refuse_cycle(c, "PATCH", target, {"parent_project_id": pid})
            else:
                self.refuse_cycle(c, "PUT", target, {"name": "cycle?", "parent_project_id": pid})

        def move(rng):
            # Any project under any other: refused exactly when the daemon's own
            # answers show the new parent below it (or deleted rows between).
            pid, parent = rng.choice(known), rng.choice(known + [deepest[0]])
            above = c.chain_above(parent)
            if above is None or c.request("GET", f"{BASE}/{pid}").status != 200:
                return
            if pid in above:
                return self.refuse_cycle(c, "PATCH", pid, {"parent_project_id": parent})
            before = c.edits_total()
            r = c.request("PATCH", f"{BASE}/{pid}", {"parent_project_id": parent})
            self.assertIn(r.status, (201, 400), r.body[:300])
            self.assertEqual(c.edits_total(), before + (1 if r.status == 201 else 0))

        def huge_page(rng):
            page = rng.choice(["1", "2", "999999", str(2**62), str(2**63 - 1), str(2**63), "-1", "0", "x", ""])
            per_page = rng.choice(["1", "200", "201", "100000000", str(2**63 - 1), "0", "-5", "1e9"])
            order = rng.choice(["", "&order_by=-name", "&order_by=created_at", "&order_by=-updated_at,name", "&order_by=x"])
            where = rng.choice(["", f"/{rng.choice(known)}/children", f"/{rng.choice(known)}/parents",
                                f"/{deepest[0]}/parents", f"/{known[0]}/children"])
            r = c.request("GET", f"{BASE}{where}?archived=&page={page}&per_page={per_page}{order}")
            self.assertIn(r.status, (200, 400, 404), r.body[:300])
            if r.status == 200:
                self.assertLessEqual(len(r.json()["data"]), 200)

        def tree_of_everything(rng):
            for pid in rng.sample(known, min(8, len(known))) + [rng.choice(["0", "-1", "99999999", "abc", str(2**70)])]:
                for which in ("children", "parents"):
                    r = c.request("GET", f"{BASE}/{pid}/{which}?per_page=200")
                    self.assertIn(r.status, (200, 400, 404), r.body[:300])

        methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "FROB"]

        def random_request(rng):
            pid = rng.choice(known + [0, -1, 2**63 - 1, -(2**63)])
            path = rng.choice([
                BASE, f"{BASE}/{pid}", f"{BASE}/{pid}/" + rng.choice(["children", "parents", "members", "pinned",
                                                                        "archive", "unarchive", "restore", "nope"]),
                f"{BASE}/{pid}/children/extra", "/v1/status", "/v1/edits", "/v1/edits?state=pending&limit=5",
                "/v1/changes?since=0&limit=50", "/metrics", "/", "//", "/api", "/api/organizations/1/workspaces/1",
                "/api/organizations/99/workspaces/1/projects", "/v1/" + "x" * rng.randint(1, 3000),
                BASE + "?" + "&".join(f"client_id={rng.randint(1, 10**6)}" for _ in range(rng.randint(1, 300))),
                "/%ff%fe", BASE + "/%00", BASE + "?name=%ff%fe&order_by=name"])
            method = rng.choice(methods)
            if path.startswith("/v1/") and method not in ("GET", "HEAD"):
                method = "GET"  # no discards or retries of edits here: the edit count must only grow
            body = None
            if method in ("POST", "PUT", "PATCH"):
                body = rng.choice([{}, {"name": "random"}, {"parent_project_id": rng.choice(known)},
                                   {"parent_project_id": "x"}, {"parent_project_id": 0}, [1, 2], "text", None,
                                   {"name": "n" * rng.randint(0, 5000), "tag_ids": list(range(rng.randint(0, 100)))}])
            r = c.request(method, path, body)
            self.assertLess(r.status, 600)
            if r.status == 201 and path == BASE and method == "POST":
                known.append(r.json()["id"])

        kinds = [(cycle_attempt, 4), (move, 3), (huge_page, 2), (tree_of_everything, 1), (random_request, 4),
                 (lambda rng: chain(rng, rng.randint(1, 30)), 1)]
        for seed in range(1, SEEDS + 1):
            rng = random.Random(seed)
            for step in range(STEPS):
                c.where = f"seed {seed}, step {step}"
                if step == 0 and seed % 5 == 0:
                    chain(rng, 300)
                    continue
                kind = rng.choices([k for k, _ in kinds], weights=[w for _, w in kinds])[0]
                kind(rng)
        # The longest chain: every ancestor, page by page (moves and deletes
        # may have cut it since), and the children of its top.
        c.where = "after the sequences"
        above = c.chain_above(deepest[0])
        self.assertGreaterEqual(len(above), 1)
        for page in (1, 2, 10**6):
            self.assertEqual(c.request("GET", f"{BASE}/{above[-1]}/children?per_page=200&page={page}").status, 200)
        status = c.json("GET", "/v1/status")
        self.assertEqual(status["workspaces"][0]["tree_problems"], [])
        self.assertGreater(self.cycles_refused, SEEDS)
        print(f"\nhostile local client: {SEEDS} seeds x {STEPS} steps, {c.requests} requests in "
              f"{time.monotonic() - started:.1f} s, {self.cycles_refused} cycles refused, longest chain "
              f"{deepest[1]}, slowest {c.slowest[0] * 1000:.0f} ms ({c.slowest[1]}), peak RSS {c.peak_rss // 1024} MB",
              file=sys.stderr)


@contextlib.contextmanager
def synced_daemon(test, projects, seed, extra_socket=""):
    """A focus-sim of `projects` and a focussyncd that has synced it, with a
    Client of `test`. Both are stopped at the end, whatever happened; after a
    body that passed, the daemon must also exit 0."""
    sim = SimProcess("--projects", str(projects), "--seed", str(seed), "--api-key", KEY)
    try:
        d = Daemon(sim, extra_socket=extra_socket)
        try:
            d.wait_synced()
            yield sim, d, Client(test, d)
        except BaseException:
            d.stop()
            raise
        test.assertEqual(d.stop(), 0, "focussyncd did not exit cleanly")
    finally:
        sim.stop()


class ClientsThatHangUp(unittest.TestCase):
    """A long poll or an event stream whose client hung up held its
    connection until the poll's wait ran out (up to 300 s) or the stream's
    next keep-alive: a tool that reconnected often enough locked every other
    client out with 503. Now the connection goes as its client does."""

    def hang_up_after(self, d, request, read_head):
        s = socket.socket(socket.AF_UNIX)
        s.connect(d.socket)
        s.sendall(request)
        if read_head:
            s.recv(200)
        s.close()

    def test_long_polls_and_streams_free_their_connection_when_the_client_leaves(self):
        with synced_daemon(self, projects=5, seed=4, extra_socket="max_connections = 8") as (sim, d, c):
            requests = [
                (b"GET /v1/changes?since=999999999&wait=300 HTTP/1.1\r\nHost: x\r\n\r\n", False),
                (b"GET /v1/changes?since=999999999 HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n", True),
            ]
            for request, read_head in requests:
                for _ in range(3):  # three times the connections allowed, one after another
                    for _ in range(8):
                        self.hang_up_after(d, request, read_head)
                    # Freed within moments (a busy CI machine gets 5 s);
                    # before, not for the polls' 300 s nor the streams' 15.
                    deadline = time.monotonic() + 5
                    while (status := c.request("GET", "/v1/status")).status != 200 and time.monotonic() < deadline:
                        time.sleep(0.1)
                    self.assertEqual(status.status, 200, f"after clients left {request[:40]!r}: {status.body[:200]}")
            metrics = c.request("GET", "/metrics").body.decode()
            self.assertIn('route="GET /v1/changes",status="499"', metrics)
            # A long poll whose client stays is still answered when its wait ends.
            start = time.monotonic()
            waited = c.json("GET", "/v1/changes?since=999999999&wait=1")
            self.assertEqual(waited["changes"], [])
            self.assertGreaterEqual(time.monotonic() - start, 0.9)


class MadeUpMethods(unittest.TestCase):
    """Any token is a method to HTTP's grammar. Each made-up one gets a 405,
    and the metrics, which keep a series per label for the daemon's life,
    count them all under one label per path instead of one per method."""

    def test_made_up_methods_get_405_and_one_metrics_series(self):
        with synced_daemon(self, projects=5, seed=3) as (sim, d, c):
            pid = c.json("GET", BASE)["data"][0]["id"]
            for i in range(200):
                r = c.request(f"FROB{i}", f"{BASE}/{pid}")
                self.assertEqual(r.status, 405, r.body[:300])
                self.assertIn(f"method FROB{i} is not allowed", r.json()["error"])
            series = [line for line in c.request("GET", "/metrics").body.decode().splitlines()
                      if line.startswith("focussync_http_requests_total{") and 'status="405"' in line]
            self.assertEqual(len(series), 1, series[:5])
            self.assertIn('route="OTHER /api/.../projects/{id}"', series[0])
            self.assertTrue(series[0].endswith(" 200"), series[0])


class ServerHoldsACycle(unittest.TestCase):
    """focus-sim is made to hold 1000-ish A -> B -> A, with C under B."""

    def test_tree_reads_answer_and_status_names_the_cycle(self):
        with synced_daemon(self, projects=30, seed=7) as (sim, d, c):
            projects = sim.state()["projects"]
            has_children = {p["parent_project_id"] for p in projects}
            a, b, cc = sorted(p["id"] for p in projects if p["deleted_at"] is None and p["id"] not in has_children)[-3:]
            sim.control("POST", "mutate", {"parents": {str(a): b, str(b): a, str(cc): b}})

            deadline = time.monotonic() + 30
            while True:
                got = {p: c.json("GET", f"{BASE}/{p}")["parent_project_id"] for p in (a, b, cc)}
                if got == {a: b, b: a, cc: b}:
                    break
                self.assertLess(time.monotonic(), deadline, f"the cycle never reached the mirror: {got}")
                time.sleep(0.2)

            def tree(pid, which, query="?per_page=200"):
                return [p["id"] for p in c.json("GET", f"{BASE}/{pid}/{which}{query}")["data"]]

            for _ in range(3):
                self.assertEqual(tree(a, "children"), [a, b, cc])
                self.assertEqual(tree(b, "children"), [b, a, cc])
                self.assertEqual(tree(cc, "parents"), [cc, b, a])
                self.assertEqual(tree(a, "parents"), [a, b])
                self.assertEqual(tree(a, "children", "?order_by=-id&per_page=1&page=2"), [cc])
            problem = f"parent cycle through projects {min(a, b)}, {max(a, b)}"
            for _ in range(3):
                self.assertEqual(c.json("GET", "/v1/status")["workspaces"][0]["tree_problems"], [problem])
            # A local edit through the server's cycle back into it is refused.
            before = c.edits_total()
            r = c.request("PATCH", f"{BASE}/{a}", {"parent_project_id": cc})
            self.assertEqual((r.status, r.json().get("field")), (400, "parent_project_id"), r.body)
            self.assertEqual(c.edits_total(), before)
            # focusctl: the tree ends, shows each project once, and says why
            # some sit at the top; status names the cycle and exits 1.
            def ctl(*args):
                return subprocess.run([FOCUSCTL, "--socket", d.socket, *args], capture_output=True, text=True,
                                      timeout=10, env={**os.environ, "NO_COLOR": "1"})
            run = ctl("--format", "json", "projects", "tree")
            self.assertEqual(run.returncode, 0, run.stderr)
            shown = [r["id"] for r in json.loads(run.stdout)]
            live = c.json("GET", BASE + "?archived=&per_page=200")["data"]
            self.assertEqual(sorted(shown), sorted(p["id"] for p in live))
            self.assertIn("in or under a parent cycle", run.stderr)
            run = ctl("--format", "json", "projects", "tree", str(a))
            self.assertEqual([(r["id"], r["depth"]) for r in json.loads(run.stdout)], [(a, 0), (b, 1), (cc, 2)])
            run = ctl("status")
            self.assertEqual(run.returncode, 1, run.stdout + run.stderr)
            self.assertIn(problem, run.stderr)
            time.sleep(0.3)  # let the log land
            self.assertEqual(d.output().count(problem), 1, d.output()[-3000:])
            self.assertIn("workspace 1/1: " + problem, d.output())

            # Mended on the server: the problem goes from status.
            sim.control("POST", "mutate", {"parents": {str(a): None}})
            deadline = time.monotonic() + 30
            while c.json("GET", "/v1/status")["workspaces"][0]["tree_problems"]:
                self.assertLess(time.monotonic(), deadline, "the mended cycle stayed in status")
                time.sleep(0.2)
            self.assertEqual(tree(a, "children"), [a, b, cc])
            self.assertEqual(tree(cc, "parents"), [cc, b, a])


if __name__ == "__main__":
    unittest.main()
