"""Contract tests: every Focus operation focus-sim serves, its success answer
and each documented error, with every JSON answer validated against the
upstream's OpenAPI description. One simulator, two workspaces, 80 projects."""
import datetime
import unittest

from openapi_check import OpenApi
from simproc import SimProcess, KEY

LIST = "/organizations/{organization_id}/workspaces/{workspace_id}/projects"
ONE = LIST + "/{project_id}"


def setUpModule():
    global sim, api
    api = OpenApi()
    sim = SimProcess("--projects", "80", "--seed", "7", "--workspaces", "1:1,1:2",
                     "--api-key", KEY, "--user", "ada@example.com:s3cret")


def tearDownModule():
    assert sim.stop() == 0, "focus-sim did not exit cleanly on SIGTERM"


def live(ws=1):
    return [p for p in sim.state()["projects"] if p["workspace_id"] == ws and p["deleted_at"] is None]


def list_all(query="", ws=1):
    """Every page of a listing; returns (projects, answers)."""
    out, page = [], 1
    while True:
        sep = "&" if query else ""
        r = sim.request("GET", sim.projects_path(ws=ws) + f"?{query}{sep}page={page}&per_page=200")
        assert r.status == 200, r.body
        body = r.json()
        api.validate(LIST, "get", 200, body)
        out += body["data"]
        if len(body["data"]) < body["per_page"]:
            return out, body
        page += 1


def ids(projects):
    return sorted(p["id"] for p in projects)


class ListFilters(unittest.TestCase):
    def test_archived_absent_false_true_and_empty(self):
        everything = live()
        active = [p for p in everything if p["archived_at"] is None]
        archived = [p for p in everything if p["archived_at"] is not None]
        self.assertTrue(active and archived, "the seed should produce both")
        self.assertEqual(ids(list_all()[0]), ids(active))
        self.assertEqual(ids(list_all("archived=false")[0]), ids(active))
        self.assertEqual(ids(list_all("archived=true")[0]), ids(archived))
        self.assertEqual(ids(list_all("archived=")[0]), ids(everything))
        r = sim.request("GET", sim.projects_path() + "?archived=maybe")
        self.assertEqual(r.status, 400)
        api.validate(LIST, "get", 400, r.json())
        self.assertIn("archived", r.json()["error"])

    def test_total_counts_every_match_not_the_page(self):
        r = sim.request("GET", sim.projects_path() + "?archived=&per_page=5&page=2")
        body = r.json()
        self.assertEqual((body["page"], body["per_page"], len(body["data"])), (2, 5, 5))
        self.assertEqual(body["total"], len(live()))
        beyond = sim.request("GET", sim.projects_path() + "?archived=&per_page=50&page=99").json()
        self.assertEqual(beyond["data"], [])
        self.assertEqual(beyond["total"], len(live()))

    def test_pinned_private_and_name(self):
        everything = live()
        self.assertEqual(ids(list_all("archived=&pinned=true")[0]), ids(p for p in everything if p["pinned"]))
        self.assertEqual(ids(list_all("archived=&private=false")[0]), ids(p for p in everything if not p["private"]))
        word = everything[3]["name"].split()[0]
        expected = [p for p in everything if word.lower() in p["name"].lower()]
        self.assertEqual(ids(list_all("archived=&name=" + word.upper().replace(" ", "%20"))[0]), ids(expected))
        self.assertEqual(sim.request("GET", sim.projects_path() + "?pinned=yes").status, 400)

    def test_id_list_filters_accept_repeats_and_brackets(self):
        everything = live()
        clients = sorted({p["client_id"] for p in everything if p["client_id"]})[:2]
        want = [p for p in everything if p["client_id"] in clients]
        q = "archived=&client_id=%d&client_id[]=%d" % (clients[0], clients[1])
        self.assertEqual(ids(list_all(q)[0]), ids(want))
        tag = next(t for p in everything for t in p["tag_ids"])
        self.assertEqual(ids(list_all(f"archived=&tag_id={tag}")[0]), ids(p for p in everything if tag in p["tag_ids"]))
        creator = everything[0]["toggl_user_id"]
        self.assertEqual(ids(list_all(f"archived=&creator_id={creator}")[0]),
                         ids(p for p in everything if p["toggl_user_id"] == creator))
        some = [everything[1]["id"], everything[5]["id"]]
        self.assertEqual(ids(list_all("archived=&project_id=%d,%d" % tuple(some))[0]), sorted(some))
        self.assertEqual(sim.request("GET", sim.projects_path() + "?client_id=abc").status, 400)

    def test_user_id_hides_private_projects_from_non_members(self):
        state = sim.state()
        everything = live()
        members = state["members"]
        user = members[str(everything[0]["id"])]["user_ids"][0]["user_id"]

        def visible(p):
            if not p["private"]:
                return True
            m = members.get(str(p["id"]), {"user_ids": []})
            return p["toggl_user_id"] == user or any(u["user_id"] == user for u in m["user_ids"])

        got = ids(list_all(f"archived=&user_id={user}")[0])
        self.assertEqual(got, ids(p for p in everything if visible(p)))
        self.assertLess(len(got), len(everything), "some private project should be hidden")

    def test_date_overlap_and_legacy_names(self):
        everything = live()
        start, end = "2024-06-01", "2024-09-30"

        def overlaps(p):
            return (p["start_date"] is None or p["start_date"] <= end) and \
                   (p["end_date"] is None or p["end_date"] >= start)

        want = ids(p for p in everything if overlaps(p))
        self.assertEqual(ids(list_all(f"archived=&start_date={start}&end_date={end}")[0]), want)
        self.assertEqual(ids(list_all(f"archived=&date_overlap_start={start}&date_overlap_end={end}")[0]), want)
        self.assertLess(len(want), len(everything))
        self.assertEqual(sim.request("GET", sim.projects_path() + "?start_date=2024-02-31").status, 400)

    def test_order_by_each_field_both_ways(self):
        everything = live()
        for field in ("id", "name", "created_at", "updated_at"):
            for desc in (False, True):
                got = list_all(f"archived=&order_by={'-' if desc else ''}{field}")[0]
                key = (lambda p: (p[field].lower(), p["id"])) if field == "name" else (lambda p: (p[field], p["id"]))
                want = sorted(everything, key=key, reverse=desc)
                self.assertEqual([p[field] for p in got], [p[field] for p in want], f"order_by {field} desc={desc}")
        r = sim.request("GET", sim.projects_path() + "?order_by=colour")
        self.assertEqual(r.status, 400)
        self.assertIn("colour", r.json()["error"])

    def test_rates_only_when_asked(self):
        plain = list_all("archived=")[0]
        with_rates = list_all("archived=&include_rates=true")[0]
        self.assertTrue(all(p["rate"] is None for p in plain))
        self.assertTrue(any(p["rate"] is not None for p in with_rates))

    def test_bad_paging(self):
        for q in ("page=0", "per_page=0", "page=x", "per_page=-5"):
            r = sim.request("GET", sim.projects_path() + "?" + q)
            self.assertEqual(r.status, 400, q)
            self.assertIn(q.split("=")[0], r.json()["error"])


class SingleProjects(unittest.TestCase):
    def test_get_matches_state(self):
        p = live()[4]
        r = sim.request("GET", sim.projects_path(rest=f"/{p['id']}"))
        self.assertEqual(r.status, 200)
        api.validate(ONE, "get", 200, r.json())
        self.assertEqual(r.json(), p)

    def test_get_errors(self):
        r = sim.request("GET", sim.projects_path(rest="/999999999"))
        self.assertEqual(r.status, 404)
        api.validate(ONE, "get", 404, r.json())
        self.assertEqual(sim.request("GET", sim.projects_path(rest="/abc")).status, 400)
        other_ws = live(ws=2)[0]["id"]
        self.assertEqual(sim.request("GET", sim.projects_path(ws=1, rest=f"/{other_ws}")).status, 404)
        r = sim.request("GET", sim.projects_path(org=1, ws=77))
        self.assertEqual(r.status, 404)
        self.assertIn("workspace 77", r.json()["error"])

    def test_create_answers_the_project_and_lists_it(self):
        client = live()[0]["client_id"] or live()[1]["client_id"]
        body = {"name": "Contract test ✓", "billable": True, "client_id": client, "color": "#123abc",
                "estimated_mins": 90, "fixed_fee": {"amount": 250.5, "currency": "EUR"},
                "start_date": "2026-01-01", "end_date": "2026-02-01", "tag_ids": []}
        r = sim.request("POST", sim.projects_path(), body=body)
        self.assertEqual(r.status, 201)
        p = r.json()
        api.validate(LIST, "post", 201, p)
        for k, v in body.items():
            self.assertEqual(p[k], v, k)
        self.assertEqual(p["client"]["id"], client)
        self.assertEqual(p["created_at"], p["updated_at"])
        self.assertIn(p["id"], ids(list_all("archived=")[0]))

    def test_create_rejects_bad_bodies_naming_the_field(self):
        cases = [({}, "name"), ({"name": "  "}, "name"), ({"name": 5}, "name"),
                 ({"name": "x", "color": "blue"}, "color"), ({"name": "x", "client_id": 424242}, "client_id"),
                 ({"name": "x", "tag_ids": [1, "a"]}, "tag_ids"), ({"name": "x", "parent_project_id": 1}, "parent_project_id"),
                 ({"name": "x", "start_date": "2026-02-01", "end_date": "2026-01-01"}, "end_date"),
                 ({"name": "x", "fixed_fee": {"amount": "ten"}}, "fixed_fee.amount")]
        before = len(sim.state()["projects"])
        for body, field in cases:
            r = sim.request("POST", sim.projects_path(), body=body)
            self.assertEqual(r.status, 400, body)
            api.validate(LIST, "post", 400, r.json())
            self.assertIn(field, r.json()["error"], body)
        r = sim.request("POST", sim.projects_path(), raw_body=b"{not json", headers={"Content-Type": "application/json"})
        self.assertEqual(r.status, 400)
        self.assertEqual(len(sim.state()["projects"]), before, "a refused create must not create")

    def test_put_replaces_every_writable_field(self):
        p = sim.request("POST", sim.projects_path(), body={"name": "Put me", "description": "old", "pinned": True}).json()
        r = sim.request("PUT", sim.projects_path(rest=f"/{p['id']}"), body={"name": "Put done", "billable": True})
        self.assertEqual(r.status, 201)
        api.validate(ONE, "put", 201, r.json())
        q = r.json()
        self.assertEqual((q["name"], q["billable"], q["description"], q["pinned"]), ("Put done", True, None, False))
        self.assertGreater(q["updated_at"], p["updated_at"])
        self.assertEqual(sim.request("PUT", sim.projects_path(rest=f"/{p['id']}"), body={"billable": True}).status, 400)

    def test_patch_absent_null_and_value(self):
        p = sim.request("POST", sim.projects_path(), body={"name": "Patch me", "color": "#aaaaaa", "description": "keep"}).json()
        r = sim.request("PATCH", sim.projects_path(rest=f"/{p['id']}"), body={"color": None, "estimated_mins": 30})
        self.assertEqual(r.status, 201)
        api.validate(ONE, "patch", 201, r.json())
        q = r.json()
        self.assertEqual((q["color"], q["estimated_mins"], q["description"], q["name"]), (None, 30, "keep", "Patch me"))
        self.assertGreater(q["updated_at"], p["updated_at"])
        r = sim.request("PATCH", sim.projects_path(rest=f"/{p['id']}"), body={"name": None})
        self.assertEqual(r.status, 400)
        self.assertIn("'name' cannot be null", r.json()["error"])
        self.assertEqual(sim.request("PATCH", sim.projects_path(rest="/999999999"), body={"name": "x"}).status, 404)

    def test_delete_is_soft_and_restore_brings_it_back(self):
        p = sim.request("POST", sim.projects_path(), body={"name": "Delete me"}).json()
        path = sim.projects_path(rest=f"/{p['id']}")
        r = sim.request("DELETE", path)
        self.assertEqual((r.status, r.body), (204, b""))
        self.assertEqual(sim.request("GET", path).status, 404)
        self.assertNotIn(p["id"], ids(list_all("archived=")[0]))
        stored = next(s for s in sim.state()["projects"] if s["id"] == p["id"])
        self.assertIsNotNone(stored["deleted_at"])
        self.assertEqual(sim.request("DELETE", path).status, 404)
        self.assertEqual(sim.request("PATCH", path, body={"name": "x"}).status, 404)
        self.assertEqual(sim.request("PATCH", path + "/restore").status, 204)
        self.assertEqual(sim.request("GET", path).json()["deleted_at"], None)
        r = sim.request("PATCH", path + "/restore")
        self.assertEqual(r.status, 400)
        self.assertIn("not deleted", r.json()["error"])

    def test_archive_unarchive_pin_unpin(self):
        p = sim.request("POST", sim.projects_path(), body={"name": "Flags"}).json()
        path = sim.projects_path(rest=f"/{p['id']}")
        stamps = [p["updated_at"]]
        self.assertEqual(sim.request("PATCH", path + "/archive").status, 204)
        q = sim.request("GET", path).json()
        self.assertIsNotNone(q["archived_at"])
        self.assertFalse(q["active"])
        self.assertIn(p["id"], ids(list_all("archived=true")[0]))
        stamps.append(q["updated_at"])
        self.assertEqual(sim.request("PATCH", path + "/unarchive").status, 204)
        q = sim.request("GET", path).json()
        self.assertEqual((q["archived_at"], q["active"]), (None, True))
        stamps.append(q["updated_at"])
        self.assertEqual(sim.request("POST", path + "/pinned").status, 204)
        self.assertTrue(sim.request("GET", path).json()["pinned"])
        stamps.append(sim.request("GET", path).json()["updated_at"])
        self.assertEqual(sim.request("DELETE", path + "/pinned").status, 204)
        q = sim.request("GET", path).json()
        self.assertFalse(q["pinned"])
        stamps.append(q["updated_at"])
        self.assertEqual(stamps, sorted(set(stamps)), "every write bumps updated_at")
        for action, method in (("archive", "PATCH"), ("unarchive", "PATCH"), ("pinned", "POST"), ("pinned", "DELETE")):
            r = sim.request(method, sim.projects_path(rest=f"/999999999/{action}"))
            self.assertEqual(r.status, 404, action)


class Trees(unittest.TestCase):
    def test_children_and_parents(self):
        top = sim.request("POST", sim.projects_path(), body={"name": "Tree top"}).json()
        mid = sim.request("POST", sim.projects_path(), body={"name": "Tree mid", "parent_project_id": top["id"]}).json()
        leaf = sim.request("POST", sim.projects_path(), body={"name": "Tree leaf", "parent_project_id": mid["id"]}).json()
        r = sim.request("GET", sim.projects_path(rest=f"/{top['id']}/children"))
        self.assertEqual(r.status, 200)
        api.validate(ONE + "/children", "get", 200, r.json())
        self.assertEqual([p["id"] for p in r.json()["data"]], [top["id"], mid["id"], leaf["id"]])
        r = sim.request("GET", sim.projects_path(rest=f"/{leaf['id']}/parents"))
        api.validate(ONE + "/parents", "get", 200, r.json())
        self.assertEqual([p["id"] for p in r.json()["data"]], [leaf["id"], mid["id"], top["id"]])
        page2 = sim.request("GET", sim.projects_path(rest=f"/{top['id']}/children?per_page=1&page=2")).json()
        self.assertEqual(([p["id"] for p in page2["data"]], page2["page"], page2["per_page"]), ([mid["id"]], 2, 1))
        r = sim.request("PATCH", sim.projects_path(rest=f"/{top['id']}"), body={"parent_project_id": leaf["id"]})
        self.assertEqual(r.status, 400)
        self.assertIn("cycle", r.json()["error"])
        self.assertEqual(sim.request("GET", sim.projects_path(rest="/999999999/children")).status, 404)


class Members(unittest.TestCase):
    def test_list_add_set_role_remove(self):
        p = sim.request("POST", sim.projects_path(), body={"name": "Team"}).json()
        path = sim.projects_path(rest=f"/{p['id']}/members")
        r = sim.request("GET", path)
        self.assertEqual(r.status, 200)
        api.validate(ONE + "/members", "get", 200, r.json())
        creator = r.json()["user_ids"][0]["user_id"]
        state_members = sim.state()["members"]
        other = next(u["user_id"] for m in state_members.values() for u in m["user_ids"] if u["user_id"] != creator)
        group = next(g["group_id"] for m in state_members.values() for g in m["group_ids"])
        self.assertEqual(sim.request("POST", path, body={"user_ids": [other], "group_ids": [group], "role_id": 1}).status, 204)
        m = sim.request("GET", path).json()
        self.assertIn({"user_id": other, "manager": False}, m["user_ids"])
        self.assertIn({"group_id": group, "manager": False}, m["group_ids"])
        self.assertEqual(sim.request("PUT", path, body={"user_id": other, "role_id": 2}).status, 204)
        self.assertIn({"user_id": other, "manager": True}, sim.request("GET", path).json()["user_ids"])
        self.assertEqual(sim.request("DELETE", path, body={"user_id": other}).status, 204)
        self.assertNotIn(other, [u["user_id"] for u in sim.request("GET", path).json()["user_ids"]])
        self.assertEqual(sim.request("DELETE", path, body={"user_id": other}).status, 404)
        for method, body in (("POST", {}), ("PUT", {"user_id": other}), ("DELETE", {"user_id": 1, "group_id": 2}),
                             ("POST", {"user_ids": [99999999]})):
            r = sim.request(method, path, body=body)
            self.assertEqual(r.status, 400, (method, body))
            api.validate(ONE + "/members", method.lower(), 400, r.json())
        self.assertEqual(sim.request("GET", sim.projects_path(rest="/999999999/members")).status, 404)


class Routing(unittest.TestCase):
    def test_wrong_method_and_unknown_route(self):
        r = sim.request("POST", sim.projects_path(rest="/1000/children"))
        self.assertEqual(r.status, 405)
        self.assertEqual(r.header("Allow"), "GET, HEAD")  # HEAD is served wherever GET is
        # HEAD: the GET's head and no body, charged and counted as a read.
        sim.control("DELETE", "stats")
        for path in (sim.projects_path(rest="/1000"), "/_sim/faults"):
            got, head = sim.request("GET", path, auth="bearer"), sim.request("HEAD", path, auth="bearer")
            self.assertEqual((head.status, head.body), (got.status, b""), path)
            self.assertEqual(int(head.header("Content-Length")), len(got.body), path)
        self.assertEqual(sim.control("GET", "stats")["requests"], 2)
        self.assertEqual(sim.request("GET", "/api/organizations/1/workspaces/1/things").status, 404)
        self.assertEqual(sim.request("GET", sim.projects_path(rest="/1000/explode")).status, 404)

    def test_every_answer_has_a_json_error_body(self):
        r = sim.request("GET", sim.projects_path(rest="/999999999"))
        self.assertEqual(r.header("Content-Type"), "application/json")
        self.assertIsInstance(r.json()["error"], str)


class Auth(unittest.TestCase):
    def test_bearer_and_basic(self):
        self.assertEqual(sim.request("GET", sim.projects_path()).status, 200)
        self.assertEqual(sim.request("GET", sim.projects_path(), auth="basic:ada@example.com:s3cret").status, 200)

    def test_anything_else_is_401_and_changes_nothing(self):
        before = len(sim.state()["projects"])
        for auth in (None, "Bearer wrong", "basic:ada@example.com:wrong", "basic:eve@example.com:s3cret",
                     "Basic !!!", "Token " + KEY, "Bearer "):
            r = sim.request("POST", sim.projects_path(), body={"name": "sneaky"}, auth=auth)
            self.assertEqual(r.status, 401, auth)
            self.assertNotIn(KEY.encode(), r.body)
        self.assertEqual(len(sim.state()["projects"]), before)


if __name__ == "__main__":
    unittest.main()
