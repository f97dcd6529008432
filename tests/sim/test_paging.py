"""Paging at scale: 10,000 projects at per_page 200 are 50 pages, each project
exactly once when nobody else edits; with --drift, offset paging really does
lose projects that still exist (the hazard focussync's puller must survive)."""
import unittest

from simproc import SimProcess

PAGE = "?archived=&per_page={per_page}&page={page}"


def page_through(sim, per_page=200):
    seen, page, requests = [], 1, 0
    while True:
        r = sim.request("GET", sim.projects_path(rest=PAGE.format(per_page=per_page, page=page)))
        requests += 1
        assert r.status == 200, r.body
        body = r.json()
        seen += [p["id"] for p in body["data"]]
        if page * body["per_page"] >= body["total"]:
            return seen, requests, body
        page += 1


class Paging(unittest.TestCase):
    def test_ten_thousand_projects_in_fifty_requests(self):
        sim = SimProcess("--projects", "10000", "--seed", "3")
        try:
            sim.control("DELETE", "stats")
            seen, requests, last = page_through(sim)
            self.assertEqual(requests, 50)
            self.assertEqual(last["total"], 10000)
            self.assertEqual(len(seen), 10000)
            self.assertEqual(len(set(seen)), 10000, "a project was served twice")
            self.assertEqual(set(seen), {p["id"] for p in sim.state()["projects"]})
            stats = sim.control("GET", "stats")
            self.assertEqual(stats["requests"], 50)
            self.assertEqual(stats["by_route"], {"GET /projects": 50})
            self.assertEqual(stats["by_status"], {"200": 50})
        finally:
            self.assertEqual(sim.stop(), 0)

    def test_per_page_is_capped_by_the_server(self):
        sim = SimProcess("--projects", "300", "--max-per-page", "120")
        try:
            body = sim.request("GET", sim.projects_path(rest=PAGE.format(per_page=1000, page=1))).json()
            self.assertEqual((body["per_page"], len(body["data"]), body["total"]), (120, 120, 300))
            seen, requests, _ = page_through(sim, per_page=1000)
            self.assertEqual((len(set(seen)), requests), (300, 3))
        finally:
            sim.stop()

    def test_drift_makes_offset_paging_miss_live_projects(self):
        sim = SimProcess("--projects", "2000", "--seed", "11", "--drift")
        try:
            seen, requests, _ = page_through(sim)
            live = {p["id"] for p in sim.state()["projects"] if p["deleted_at"] is None}
            missed_but_alive = live - set(seen)
            self.assertGreater(requests, 1)
            self.assertTrue(missed_but_alive, "drift should make a listing miss a project that still exists")
            created = [p for p in sim.state()["projects"] if p["created_at"] > "2025-12-31"]
            self.assertEqual(len(created), requests - 1, "one insert per page request after the first")
        finally:
            sim.stop()


if __name__ == "__main__":
    unittest.main()
