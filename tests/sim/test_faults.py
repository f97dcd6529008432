"""Faults: each kind, set at run time through /_sim/faults (and one by flag),
does what a real network or server would do, and control routes stay up.
The hostile upstream's kinds (text not UTF-8, refused writes, garbage on
writes, wrong types, huge numbers, deep nesting, a parent cycle) answer what
each one says, and a seed replays the same bytes."""
import collections
import http.client
import json
import time
import unittest

from simproc import SimProcess


def setUpModule():
    global sim
    sim = SimProcess("--projects", "20", "--seed", "5")


def tearDownModule():
    sim.stop()


def project_count():
    return len(sim.state()["projects"])


class FaultFree(unittest.TestCase):
    """Each test starts with every fault off, whatever the last one set."""
    def setUp(self):
        sim.control("PUT", "faults", {"offline": False, "latency_ms": 0, "error_rate": 0, "rate_limited_rate": 0,
                                      "drop_rate": 0, "truncate_rate": 0, "garbage_rate": 0, "oversize_rate": 0,
                                      "drift": False, "bad_utf8_rate": 0, "refuse_writes_rate": 0,
                                      "garbage_writes_rate": 0, "wrong_types_rate": 0, "huge_numbers_rate": 0,
                                      "deep_nesting_rate": 0, "nesting_depth": 40000, "cycle": False,
                                      "hostile_writes_only": False})


class Faults(FaultFree):
    def test_server_errors_do_not_apply_the_request(self):
        sim.control("PUT", "faults", {"error_rate": 1})
        before = project_count()
        statuses = {sim.request("POST", sim.projects_path(), body={"name": "x"}).status for _ in range(12)}
        self.assertTrue(statuses <= {500, 503} and statuses, statuses)
        self.assertEqual(project_count(), before)

    def test_rate_limited_answers_429_with_retry_after(self):
        sim.control("PUT", "faults", {"rate_limited_rate": 1})
        r = sim.request("GET", sim.projects_path())
        self.assertEqual(r.status, 429)
        self.assertIn(int(r.header("Retry-After")), (1, 2))

    def test_drop_loses_the_answer_of_an_applied_write(self):
        sim.control("PUT", "faults", {"drop_rate": 1})
        before = project_count()
        with self.assertRaises((http.client.RemoteDisconnected, ConnectionResetError)):
            sim.request("POST", sim.projects_path(), body={"name": "answer lost"})
        self.assertEqual(project_count(), before + 1, "the write was applied although its answer was lost")
        self.assertEqual(sim.control("GET", "stats")["by_status"].get("dropped", 0) >= 1, True)

    def test_truncated_body(self):
        sim.control("PUT", "faults", {"truncate_rate": 1})
        with self.assertRaises(http.client.IncompleteRead):
            sim.request("GET", sim.projects_path())

    def test_garbage_body(self):
        sim.control("PUT", "faults", {"garbage_rate": 1})
        r = sim.request("GET", sim.projects_path())
        self.assertEqual(r.status, 200)
        with self.assertRaises(json.JSONDecodeError):
            json.loads(r.body)

    def test_oversize_body(self):
        sim.control("PUT", "faults", {"oversize_rate": 1, "oversize_bytes": 3 * 1024 * 1024})
        r = sim.request("GET", sim.projects_path())
        self.assertGreater(len(r.body), 3 * 1024 * 1024)
        self.assertIn("data", json.loads(r.body))

    def test_latency(self):
        sim.control("PUT", "faults", {"latency_ms": 300})
        start = time.monotonic()
        self.assertEqual(sim.request("GET", sim.projects_path()).status, 200)
        self.assertGreaterEqual(time.monotonic() - start, 0.3)

    def test_offline_drops_api_connections_but_not_control_routes(self):
        sim.control("PUT", "faults", {"offline": True})
        for method, path in (("GET", sim.projects_path()), ("PATCH", sim.projects_path(rest="/1000/archive"))):
            with self.assertRaises((http.client.RemoteDisconnected, ConnectionResetError)):
                sim.request(method, path)
        self.assertIn("projects", sim.state())
        sim.control("PUT", "faults", {"offline": False})
        self.assertEqual(sim.request("GET", sim.projects_path()).status, 200)

    def test_fault_settings_are_validated_and_merged(self):
        settings = sim.control("PUT", "faults", {"latency_ms": 5})
        self.assertEqual(settings["latency_ms"], 5)
        settings = sim.control("PUT", "faults", {"drift": True})
        self.assertEqual((settings["latency_ms"], settings["drift"]), (5, True))
        for bad in ({"error_rate": 2}, {"unknown": 1}, {"offline": "yes"}, {"latency_ms": -1}):
            r = sim.request("PUT", "/_sim/faults", body=bad, auth=None)
            self.assertEqual(r.status, 400, bad)
        self.assertEqual(sim.control("GET", "faults")["latency_ms"], 5, "a refused change changes nothing")

    def test_faults_never_touch_control_routes(self):
        sim.control("PUT", "faults", {"error_rate": 1, "drop_rate": 1, "latency_ms": 2000})
        start = time.monotonic()
        self.assertIn("requests", sim.control("GET", "stats"))
        self.assertLess(time.monotonic() - start, 1.5)


def is_utf8(data):
    try:
        data.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def live_ids():
    return sorted(p["id"] for p in sim.state()["projects"] if p["deleted_at"] is None)


def nesting_depth(data):
    """The deepest [ / { nesting of a JSON text, strings skipped (no recursion)."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in data:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return deepest


PROJECT_TYPES = {"id": int, "workspace_id": int, "name": str, "active": bool, "updated_at": str,
                 "tag_ids": list, "permissions": list, "parent_project_id": (int, type(None)),
                 "client": (dict, type(None)), "rate": (dict, type(None))}
LISTING_TYPES = {"data": list, "total": int, "page": int, "per_page": int}
HUGE = {2**63 - 1, 2**63, 2**64 - 1, 1e308, -1, -2**63, 99999999999999999999999}


def wrong_typed(body):
    """The fields of a listing and its projects whose JSON type is not the schema's."""
    bad = [k for k, t in LISTING_TYPES.items() if not isinstance(body[k], t) or
           (t is int and isinstance(body[k], bool))]
    items = body["data"].values() if isinstance(body["data"], dict) else body["data"]
    for p in items:
        bad += [k for k, t in PROJECT_TYPES.items() if not isinstance(p[k], t) or
                (t is int and isinstance(p[k], bool)) or (k == "workspace_id" and isinstance(p[k], float))]
    return bad


class HostileUpstream(FaultFree):
    def test_bad_utf8_error_texts_keep_their_status(self):
        sim.control("PUT", "faults", {"bad_utf8_rate": 1})
        plain_seen = json_looking_seen = False
        target = live_ids()[0]
        for path, method, body, status in [(sim.projects_path(rest=f"/{target}"), "PATCH", {"color": "red"}, 400),
                                           (sim.projects_path(rest="/987654321"), "GET", None, 404)] * 6:
            r = sim.request(method, path, body=body)
            self.assertEqual(r.status, status)
            self.assertFalse(is_utf8(r.body), r.body)
            plain_seen |= r.header("Content-Type").startswith("text/plain")
            json_looking_seen |= r.body.startswith(b'{"error": "')
        self.assertTrue(plain_seen and json_looking_seen, "both shapes of a broken error text")
        sim.control("PUT", "faults", {"bad_utf8_rate": 0, "error_rate": 1})
        broken = sum(not is_utf8(sim.request("GET", sim.projects_path()).body) for _ in range(5))
        self.assertEqual(broken, 0, "server errors are plain UTF-8 while bad_utf8_rate is 0")

    def test_bad_utf8_string_fields_in_successful_answers(self):
        sim.control("PUT", "faults", {"bad_utf8_rate": 1})
        for path in (sim.projects_path(), sim.projects_path(rest=f"/{live_ids()[0]}")):
            r = sim.request("GET", path)
            self.assertEqual(r.status, 200)
            self.assertFalse(is_utf8(r.body), "the answer must not be UTF-8")
            fixed = json.loads(r.body.decode("utf-8", errors="replace"))  # JSON apart from the bytes
            projects = fixed["data"] if "data" in fixed else [fixed]
            for p in projects:
                self.assertTrue(any("\ufffd" in (p[k] or "") for k in ("name", "description", "color")), p)

    def test_refused_writes_are_not_applied_and_reads_still_served(self):
        sim.control("PUT", "faults", {"refuse_writes_rate": 1})
        target = live_ids()[0]
        before = sim.state()
        shapes = set()
        for i in range(16):
            r = sim.request("PATCH", sim.projects_path(rest=f"/{target}"), body={"name": f"refused {i}"})
            self.assertEqual(r.status, 400)
            self.assertFalse(is_utf8(r.body), r.body)
            shapes.add("plain" if r.header("Content-Type").startswith("text/plain") else
                       "json" if r.body.endswith(b'"}') else "cut")
        for method, rest in (("PATCH", f"/{target}/archive"), ("POST", f"/{target}/pinned"), ("DELETE", f"/{target}")):
            self.assertEqual(sim.request(method, sim.projects_path(rest=rest)).status, 400)
        self.assertEqual(sim.request("POST", sim.projects_path(), body={"name": "refused create"}).status, 400)
        self.assertEqual(sim.state(), before, "a refused write changes nothing")
        self.assertEqual(shapes, {"plain", "json", "cut"})
        self.assertEqual(sim.request("GET", sim.projects_path()).status, 200)

    def test_garbage_on_writes_only_and_the_write_applied(self):
        sim.control("PUT", "faults", {"garbage_writes_rate": 1})
        target = live_ids()[0]
        r = sim.request("GET", sim.projects_path())
        self.assertEqual(r.status, 200)
        json.loads(r.body)  # reads are untouched
        r = sim.request("PATCH", sim.projects_path(rest=f"/{target}"), body={"description": "garbage answer"})
        self.assertEqual(r.status, 201)
        with self.assertRaises(json.JSONDecodeError):
            json.loads(r.body)
        r = sim.request("PATCH", sim.projects_path(rest=f"/{target}/archive"))
        self.assertEqual(r.status, 200)
        with self.assertRaises(json.JSONDecodeError):
            json.loads(r.body)
        p = next(p for p in sim.state()["projects"] if p["id"] == target)
        self.assertEqual(p["description"], "garbage answer")
        self.assertIsNotNone(p["archived_at"])
        self.assertEqual(sim.request("PATCH", sim.projects_path(rest=f"/{target}/unarchive")).status, 200)
        r = sim.request("PATCH", sim.projects_path(rest="/987654321"), body={"name": "x"})
        self.assertEqual((r.status, "error" in r.json()), (404, True), "a refusal is not turned into a 2xx")

    def test_wrong_types(self):
        sim.control("PUT", "faults", {"wrong_types_rate": 1})
        kinds = collections.Counter()
        for _ in range(40):
            r = sim.request("GET", sim.projects_path())
            self.assertEqual(r.status, 200)
            bad = wrong_typed(r.json())
            self.assertTrue(bad, "every answer has a field of the wrong type")
            kinds.update(bad)
        self.assertGreaterEqual(len(kinds), 8, kinds)
        one = sim.request("GET", sim.projects_path(rest=f"/{live_ids()[0]}")).json()
        self.assertTrue([k for k, t in PROJECT_TYPES.items() if not isinstance(one[k], t) or
                         (t is int and isinstance(one[k], bool)) or
                         (k == "workspace_id" and isinstance(one[k], float))], one)

    def test_huge_numbers(self):
        sim.control("PUT", "faults", {"huge_numbers_rate": 1})
        seen = set()
        for _ in range(30):
            body = sim.request("GET", sim.projects_path()).json()
            listing = [body[k] for k in ("total", "page", "per_page") if body[k] in HUGE]
            projects = [(k, p[k]) for p in body["data"] for k in
                        ("id", "parent_project_id", "client_id", "workspace_id", "estimated_mins") if p[k] in HUGE]
            self.assertTrue(listing and projects, body)
            seen.update(listing + [v for _, v in projects])
        self.assertGreaterEqual(len(seen), 5, seen)
        self.assertTrue({2**64 - 1, 99999999999999999999999} & seen, "numbers past INT64_MAX")

    def test_deep_nesting(self):
        sim.control("PUT", "faults", {"deep_nesting_rate": 1, "nesting_depth": 30000})
        for path in (sim.projects_path(), sim.projects_path(rest=f"/{live_ids()[0]}")):
            for _ in range(4):
                r = sim.request("GET", path)
                self.assertEqual(r.status, 200)
                self.assertGreaterEqual(nesting_depth(r.body), 30000)
        self.assertEqual(sim.request("PUT", "/_sim/faults", body={"nesting_depth": 0}, auth=None).status, 400)

    def test_cycle_in_the_answers(self):
        a, b = live_ids()[:2]
        sim.control("PUT", "faults", {"cycle": True})
        listed = {p["id"]: p for p in sim.request("GET", sim.projects_path() + "?archived=&per_page=200").json()["data"]}
        self.assertEqual((listed[a]["parent_project_id"], listed[b]["parent_project_id"]), (b, a))
        self.assertEqual(sim.request("GET", sim.projects_path(rest=f"/{a}")).json()["parent_project_id"], b)
        state = {p["id"]: p for p in sim.state()["projects"]}
        self.assertNotEqual(state[a]["parent_project_id"], b, "only the answers hold the cycle")
        sim.control("PUT", "faults", {"cycle": False})
        self.assertEqual(sim.request("GET", sim.projects_path(rest=f"/{a}")).json()["parent_project_id"],
                         state[a]["parent_project_id"])

    def test_hostile_writes_only_spares_reads(self):
        sim.control("PUT", "faults", {"bad_utf8_rate": 1, "wrong_types_rate": 1, "hostile_writes_only": True})
        target = live_ids()[0]
        body = sim.request("GET", sim.projects_path()).json()  # strict UTF-8 JSON
        self.assertEqual(wrong_typed(body), [])
        self.assertTrue(is_utf8(sim.request("GET", sim.projects_path(rest="/987654321")).body))
        r = sim.request("PATCH", sim.projects_path(rest=f"/{target}"), body={"color": "red"})
        self.assertEqual(r.status, 400)
        self.assertFalse(is_utf8(r.body), "a write's refusal is broken")
        r = sim.request("PATCH", sim.projects_path(rest=f"/{target}"), body={"description": "hostile answer"})
        self.assertEqual(r.status, 201)
        self.assertFalse(is_utf8(r.body), "a write's answer is broken")
        sim.control("PUT", "faults", {"bad_utf8_rate": 0})
        p = sim.request("PATCH", sim.projects_path(rest=f"/{target}"), body={"description": "typed wrong"}).json()
        self.assertTrue([k for k, t in PROJECT_TYPES.items() if not isinstance(p[k], t) or
                         (t is int and isinstance(p[k], bool)) or
                         (k == "workspace_id" and isinstance(p[k], float))], p)

    def test_new_settings_are_listed_and_validated(self):
        settings = sim.control("GET", "faults")
        for key in ("bad_utf8_rate", "refuse_writes_rate", "garbage_writes_rate", "wrong_types_rate",
                    "huge_numbers_rate", "deep_nesting_rate", "nesting_depth", "cycle", "hostile_writes_only"):
            self.assertIn(key, settings)
        for bad in ({"bad_utf8_rate": 1.5}, {"refuse_writes_rate": -0.1}, {"cycle": 1}, {"nesting_depth": 2000000},
                    {"wrong_types_rate": "x"}):
            self.assertEqual(sim.request("PUT", "/_sim/faults", body=bad, auth=None).status, 400, bad)

    def test_same_seed_same_hostile_bytes(self):
        faults = ["--bad-utf8-rate", "0.3", "--wrong-types-rate", "0.3", "--huge-numbers-rate", "0.3",
                  "--deep-nesting-rate", "0.2", "--nesting-depth", "50"]
        runs = []
        for _ in range(2):
            s = SimProcess("--projects", "8", "--seed", "4", "--no-gzip", *faults)
            try:
                runs.append([s.request("GET", s.projects_path()).body for _ in range(12)])
            finally:
                s.stop()
        self.assertEqual(runs[0], runs[1])
        self.assertGreater(len(set(runs[0])), 3, "the faults struck some answers and not others")


class StateCycle(unittest.TestCase):
    """/_sim/mutate {"cycle": true}: the state itself holds a cycle; the sim's trees stay finite."""

    def test_mutate_makes_a_cycle_and_trees_answer_each_project_once(self):
        s = SimProcess("--projects", "10", "--seed", "3")
        try:
            a, b = s.control("POST", "mutate", {"cycle": True})["cycled"]
            state = {p["id"]: p for p in s.state()["projects"]}
            self.assertEqual((state[a]["parent_project_id"], state[b]["parent_project_id"]), (b, a))
            for tree in ("children", "parents"):
                r = s.request("GET", s.projects_path(rest=f"/{a}/{tree}"), timeout=5)
                ids = [p["id"] for p in r.json()["data"]]
                self.assertEqual(sorted(ids), sorted({a, b}) if tree == "parents" else sorted(set(ids)))
                self.assertIn(b, ids)
            other = next(i for i, p in state.items() if p["deleted_at"] is None and i not in (a, b))
            r = s.request("PATCH", s.projects_path(rest=f"/{other}"), body={"parent_project_id": a}, timeout=5)
            self.assertEqual(r.status, 201, r.body)
            r = s.request("PATCH", s.projects_path(rest=f"/{a}"), body={"parent_project_id": other}, timeout=5)
            self.assertEqual(r.status, 400, "a new cycle is still refused")
        finally:
            self.assertEqual(s.stop(), 0)


class Mutate(FaultFree):
    def test_other_users_changes(self):
        before = {p["id"]: p for p in sim.state()["projects"]}
        out = sim.control("POST", "mutate", {"creates": 3, "updates": 4, "deletes": 2, "archives": 1})
        after = {p["id"]: p for p in sim.state()["projects"]}
        self.assertEqual(len(out["created"]), 3)
        self.assertTrue(all(i in after and i not in before for i in out["created"]))
        self.assertEqual(len(out["updated"]), 4)
        for i in out["updated"]:  # one may be a project this same call created
            self.assertGreater(after[i]["updated_at"], before[i]["updated_at"] if i in before else "")
        for i in out["deleted"]:
            self.assertIsNotNone(after[i]["deleted_at"])
        for i in out["archived"]:
            self.assertIsNotNone(after[i]["archived_at"])
        r = sim.request("POST", "/_sim/mutate", body={"creates": -1}, auth=None)
        self.assertEqual(r.status, 400)

    def test_touch_all_changes_only_updated_at(self):
        before = {p["id"]: p for p in sim.state()["projects"] if p["deleted_at"] is None}
        out = sim.control("POST", "mutate", {"touch_all": True})
        self.assertEqual(out["touched"], len(before))
        after = {p["id"]: p for p in sim.state()["projects"] if p["id"] in before}
        for i, p in before.items():
            self.assertGreater(after[i]["updated_at"], p["updated_at"])
            self.assertEqual({**after[i], "updated_at": None}, {**p, "updated_at": None})


class StartupFlagsAndShutdown(FaultFree):
    def test_fault_flags_apply_from_start(self):
        s = SimProcess("--projects", "2", "--error-rate", "1")
        try:
            self.assertIn(s.request("GET", s.projects_path()).status, (500, 503))
        finally:
            self.assertEqual(s.stop(), 0)

    def test_hostile_flags_apply_from_start(self):
        s = SimProcess("--projects", "4", "--refuse-writes-rate", "1", "--cycle")
        try:
            a, b = sorted(p["id"] for p in s.state()["projects"] if p["deleted_at"] is None)[:2]
            r = s.request("PATCH", s.projects_path(rest=f"/{a}"), body={"name": "x"})
            self.assertEqual(r.status, 400)
            self.assertFalse(is_utf8(r.body))
            self.assertEqual(s.request("GET", s.projects_path(rest=f"/{b}")).json()["parent_project_id"], a)
        finally:
            self.assertEqual(s.stop(), 0)

    def test_bad_flags_are_refused_with_a_message(self):
        import subprocess
        from simproc import SIM
        for args, words in ((["--workspaces", "abc"], "ORG:WS"), (["--error-rate", "3"], "error-rate"),
                            (["--listen", "nohost"], "HOST:PORT"), (["--tls-cert", "/nonexistent"], "tls")):
            p = subprocess.run([SIM, *args], capture_output=True, text=True, timeout=20)
            self.assertNotEqual(p.returncode, 0, args)
            self.assertIn(words.lower(), (p.stderr + p.stdout).lower(), args)

    def test_same_seed_same_world(self):
        a, b, c = SimProcess("--projects", "50", "--seed", "9"), SimProcess("--projects", "50", "--seed", "9"), \
            SimProcess("--projects", "50", "--seed", "10")
        try:
            self.assertEqual(a.state(), b.state())
            self.assertNotEqual(a.state(), c.state())
        finally:
            for s in (a, b, c):
                s.stop()

    def test_malformed_and_oversized_requests_get_errors_and_the_sim_stays_up(self):
        import socket
        with socket.create_connection(("127.0.0.1", sim.port), timeout=5) as s:
            s.sendall(b"NOT HTTP AT ALL\r\n\r\n")
            self.assertIn(b"400", s.recv(200))
        r = sim.request("POST", sim.projects_path(), raw_body=b"x" * (5 * 1024 * 1024),
                        headers={"Content-Type": "application/json"})
        self.assertEqual(r.status, 413)
        self.assertEqual(sim.request("GET", sim.projects_path()).status, 200)


if __name__ == "__main__":
    unittest.main()
