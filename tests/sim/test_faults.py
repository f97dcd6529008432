"""Faults: each kind, set at run time through /_sim/faults (and one by flag),
does what a real network or server would do, and control routes stay up."""
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
                                      "drift": False})


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


class StartupFlagsAndShutdown(FaultFree):
    def test_fault_flags_apply_from_start(self):
        s = SimProcess("--projects", "2", "--error-rate", "1")
        try:
            self.assertIn(s.request("GET", s.projects_path()).status, (500, 503))
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
