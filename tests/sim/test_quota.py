"""Quota: every answer reports what is left; the request past the limit is
402 with a plain-text body and the headers; the window resets; each user has
their own budget; refused requests are not counted."""
import time
import unittest

from simproc import SimProcess


class Quota(unittest.TestCase):
    def setUp(self):
        self.sim = SimProcess("--projects", "10", "--quota", "30", "--quota-window", "60")

    def tearDown(self):
        self.sim.stop()

    def test_thirty_then_402(self):
        path = self.sim.projects_path()
        remaining = []
        for _ in range(30):
            r = self.sim.request("GET", path)
            self.assertEqual(r.status, 200)
            remaining.append(int(r.header("X-Toggl-Quota-Remaining")))
            self.assertTrue(0 < int(r.header("X-Toggl-Quota-Resets-In")) <= 60)
        self.assertEqual(remaining, list(range(29, -1, -1)))
        r = self.sim.request("GET", path)
        self.assertEqual(r.status, 402)
        self.assertTrue(r.header("Content-Type").startswith("text/plain"))
        self.assertIn(b"quota", r.body)
        self.assertEqual(r.header("X-Toggl-Quota-Remaining"), "0")
        self.assertTrue(0 < int(r.header("X-Toggl-Quota-Resets-In")) <= 60)
        # Writes are refused too, and not applied.
        before = len(self.sim.state()["projects"])
        self.assertEqual(self.sim.request("POST", path, body={"name": "over quota"}).status, 402)
        self.assertEqual(len(self.sim.state()["projects"]), before)
        stats = self.sim.control("GET", "stats")
        self.assertEqual((stats["by_status"]["200"], stats["by_status"]["402"]), (30, 2))

    def test_each_user_has_their_own_quota(self):
        for _ in range(30):
            self.sim.request("GET", self.sim.projects_path())
        self.assertEqual(self.sim.request("GET", self.sim.projects_path()).status, 402)
        r = self.sim.request("GET", self.sim.projects_path(), auth="Bearer another_users_key")
        self.assertEqual((r.status, r.header("X-Toggl-Quota-Remaining")), (200, "29"))

    def test_window_resets(self):
        self.sim.control("PUT", "quota", {"limit": 2, "window_seconds": 1})
        statuses = [self.sim.request("GET", self.sim.projects_path()).status for _ in range(3)]
        self.assertEqual(statuses, [200, 200, 402])
        time.sleep(1.2)
        r = self.sim.request("GET", self.sim.projects_path())
        self.assertEqual((r.status, r.header("X-Toggl-Quota-Remaining")), (200, "1"))

    def test_401_does_not_spend_quota(self):
        for _ in range(5):
            self.assertEqual(self.sim.request("GET", self.sim.projects_path(), auth=None).status, 401)
        self.assertEqual(self.sim.request("GET", self.sim.projects_path()).header("X-Toggl-Quota-Remaining"), "29")


class NoQuota(unittest.TestCase):
    def test_without_quota_no_headers_and_no_limit(self):
        sim = SimProcess("--projects", "3")
        try:
            for _ in range(40):
                r = sim.request("GET", sim.projects_path())
                self.assertEqual(r.status, 200)
            self.assertIsNone(r.header("X-Toggl-Quota-Remaining"))
        finally:
            sim.stop()


class Credentials(unittest.TestCase):
    def test_open_mode_needs_some_credential(self):
        sim = SimProcess("--projects", "3")
        try:
            self.assertEqual(sim.request("POST", sim.projects_path(), body={"name": "x"}, auth=None).status, 401)
            self.assertEqual(sim.request("GET", sim.projects_path(), auth=None).status, 401)
            self.assertEqual(sim.request("GET", sim.projects_path(), auth="Bearer anything").status, 200)
        finally:
            sim.stop()

    def test_key_from_file_and_never_echoed(self):
        import os
        import tempfile
        with tempfile.NamedTemporaryFile("w", delete=False) as f:
            f.write("toggl_sk_from_file\n")
        sim = SimProcess("--projects", "3", "--api-key-file", f.name, "--log-level", "debug")
        try:
            self.assertEqual(sim.request("GET", sim.projects_path(), auth="Bearer toggl_sk_from_file").status, 200)
            self.assertEqual(sim.request("GET", sim.projects_path(), auth="Bearer toggl_sk_wrong").status, 401)
            self.assertNotIn("toggl_sk_from_file", sim.output())
        finally:
            sim.stop()
            os.unlink(f.name)


if __name__ == "__main__":
    unittest.main()
