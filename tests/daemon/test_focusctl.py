"""focusctl against a real focussyncd with a real focus-sim behind it: every
command, its output in each format parsed as that format, the exit codes of
each kind of failure, staleness with the upstream stopped, and report
figures checked against values computed here from /_sim/state."""
import csv
import datetime
import io
import json
import os
import re
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "sim"))
from simproc import KEY, SimProcess  # noqa: E402
from test_socket import BASE, Daemon, SyncedDaemonCase  # noqa: E402

FOCUSCTL = os.environ.get("FOCUS_CTL", "build/bin/focusctl")


class Run:
    def __init__(self, p):
        self.code, self.out, self.err = p.returncode, p.stdout, p.stderr

    def json(self):
        return json.loads(self.out)

    def csv(self):
        return list(csv.DictReader(io.StringIO(self.out)))

    def ndjson(self):
        return [json.loads(line) for line in self.out.splitlines()]


class Focusctl(SyncedDaemonCase):
    SIM_ARGS = ("--projects", "80", "--seed", "31")

    def ctl(self, *args, fmt=None, stdin=None, timeout=60):
        argv = [FOCUSCTL, "--socket", self.d.socket] + (["--format", fmt] if fmt else []) + list(args)
        return Run(subprocess.run(argv, capture_output=True, text=True, input=stdin, timeout=timeout,
                                  env={**os.environ, "NO_COLOR": "1"}))

    def ok(self, *args, **kw):
        r = self.ctl(*args, **kw)
        self.assertEqual(r.code, 0, f"focusctl {' '.join(args)}: {r.err}")
        return r

    def server(self):
        return {p["id"]: p for p in self.sim.state()["projects"]}

    def live(self):
        return [p for p in self.server().values() if p["deleted_at"] is None]

    def wait_settled(self):
        self.d.wait_edits_settled()

    def test_list_in_every_format_agrees_with_the_server(self):
        active = sorted(p["id"] for p in self.live() if p["archived_at"] is None)
        every = sorted(p["id"] for p in self.live())
        self.assertEqual([p["id"] for p in self.ok("projects", "list", "--all", fmt="json").json()], active)
        rows = self.ok("projects", "list", "--archived", "all", "--all", fmt="csv").csv()
        self.assertEqual(sorted(int(r["id"]) for r in rows), every)
        self.assertEqual(list(rows[0].keys())[:4], ["id", "name", "client", "status"])
        self.assertEqual(len(self.ok("projects", "list", "--limit", "7", fmt="ndjson").ndjson()), 7)
        table = self.ok("projects", "list", "--limit", "3").out.splitlines()
        self.assertEqual(len(table), 4)
        self.assertTrue(table[0].split()[:2] == ["id", "name"])
        # Filters, as the Focus list has them.
        client = next(p["client_id"] for p in self.live() if p["client_id"])
        got = {p["id"] for p in self.ok("projects", "list", "--archived", "all", "--client", str(client), "--all", fmt="json").json()}
        self.assertEqual(got, {p["id"] for p in self.live() if p["client_id"] == client})
        named = self.ok("projects", "list", "--name", "WEB", "--all", fmt="json").json()
        self.assertTrue(named and all("web" in p["name"].lower() for p in named))
        ordered = [p["name"].lower() for p in self.ok("projects", "list", "--order-by", "-name", "--all", fmt="json").json()]
        self.assertEqual(ordered, sorted(ordered, reverse=True))
        pinned = self.ok("projects", "list", "--archived", "all", "--pinned", "true", "--all", fmt="json").json()
        self.assertEqual({p["id"] for p in pinned}, {p["id"] for p in self.live() if p["pinned"]})
        # A yes/no flag alone means yes, as focusctl.md writes it.
        bare = self.ok("projects", "list", "--archived", "all", "--pinned", "--all", fmt="json").json()
        self.assertEqual(bare, pinned)
        unpinned = self.ok("projects", "list", "--archived", "all", "--pinned=false", "--all", fmt="json").json()
        self.assertEqual({p["id"] for p in unpinned}, {p["id"] for p in self.live() if not p["pinned"]})
        self.assertEqual(self.ok("projects", "list", "--archived", "all", "--pinned", "yes", "--all", fmt="json").json(),
                         pinned)
        refused = self.ctl("projects", "list", "--pinned", "maybe")
        self.assertEqual(refused.code, 2, refused.err)
        self.assertIn("'maybe' is not true or false", refused.err)

    def test_get_tree_children_parents(self):
        child = next(p for p in self.live() if p["parent_project_id"])
        got = self.ok("projects", "get", str(child["id"]), fmt="json").json()
        self.assertEqual(got["name"], child["name"])
        self.assertIn("name:", self.ok("projects", "get", str(child["id"])).out)
        parents = self.ok("projects", "parents", str(child["id"]), fmt="json").json()
        self.assertEqual(parents[1]["id"], child["parent_project_id"])
        children = self.ok("projects", "children", str(child["parent_project_id"]), fmt="json").json()
        self.assertIn(child["id"], [p["id"] for p in children])
        tree = self.ok("projects", "tree", fmt="json").json()
        depth = {r["id"]: r["depth"] for r in tree}
        self.assertEqual(len(tree), len(self.live()))
        self.assertGreater(depth[child["id"]], depth[child["parent_project_id"]])
        # The data formats carry the name as it is and the parent, never the
        # drawing: a script reads the tree's shape from them.
        rows = {int(r["id"]): r for r in self.ok("projects", "tree", fmt="csv").csv()}
        self.assertEqual(rows[child["id"]]["name"], child["name"])
        self.assertEqual(rows[child["id"]]["parent_project_id"], str(child["parent_project_id"]))
        self.assertEqual({r["in_parent_cycle"] for r in rows.values()}, {"no"})
        self.assertFalse(any(c in r["name"] for r in rows.values() for c in "\u2500\u2502\u2514\u251c"))
        text = self.ok("projects", "tree").out
        self.assertIn("\u2500 " + child["name"], text)
        self.assertEqual(self.ctl("projects", "get", "99999999").code, 1)

    def test_writes_print_the_edit_and_reach_the_server(self):
        live = [p for p in self.live() if p["archived_at"] is None and not p["pinned"]]
        created = self.ok("projects", "create", "--name", "From focusctl", "--color", "#0f0f0f", "--billable", "true",
                          fmt="json").json()
        self.assertIsInstance(created["edit"], int)
        self.assertLess(created["project_id"], 0)
        out = self.ok("projects", "patch", str(live[0]["id"]), "--description", "patched by focusctl").out
        self.assertRegex(out, r"^queued as edit \d+: patch of project \d+")
        self.ok("projects", "patch", str(live[1]["id"]), "--clear", "description", "--pinned")
        self.ok("projects", "update", str(live[2]["id"]), "--json", "-", stdin='{"name": "Put by focusctl"}')
        self.ok("projects", "archive", str(live[3]["id"]))
        self.ok("projects", "pin", str(live[4]["id"]))
        self.ok("projects", "delete", str(live[5]["id"]))
        self.ok("members", "add", str(live[6]["id"]), "--user", "1521", "--role", "3")
        self.wait_settled()
        server = self.server()
        self.assertEqual(len([p for p in server.values() if p["name"] == "From focusctl"]), 1)
        self.assertEqual(server[live[0]["id"]]["description"], "patched by focusctl")
        self.assertIsNone(server[live[1]["id"]]["description"])
        self.assertEqual((live[1]["pinned"], server[live[1]["id"]]["pinned"]), (False, True))  # the flag alone
        self.assertEqual(server[live[2]["id"]]["name"], "Put by focusctl")
        self.assertIsNotNone(server[live[3]["id"]]["archived_at"])
        self.assertTrue(server[live[4]["id"]]["pinned"])
        self.assertIsNotNone(server[live[5]["id"]]["deleted_at"])
        members = self.sim.state()["members"][str(live[6]["id"])]["user_ids"]
        self.assertIn(1521, [m["user_id"] for m in members])
        self.ok("sync", "--wait")  # the mirror learns the members change
        listed = self.ok("members", "list", str(live[6]["id"]), fmt="csv").csv()
        self.assertIn("1521", [r["id"] for r in listed if r["kind"] == "user"])
        # The change log names the edits: the archive (answered without a
        # body) as the update it made, and each edit's settlement.
        for fmt in ("table", "json"):
            self.ok("changes", fmt=fmt)
        changes = [c for c in self.ok("changes", fmt="json").json() if c["project_id"] == live[3]["id"]]
        self.assertTrue(any(c["kind"] == "update" and c.get("edit", {}).get("op") == "archive" for c in changes), changes)
        self.assertTrue(any(c.get("edit", {}).get("state") == "done" for c in changes), changes)
        # A table and CSV say the same in one cell.
        rows = [r for r in self.ok("changes", fmt="csv").csv() if r["project_id"] == str(live[3]["id"])]
        self.assertTrue(any(r["kind"] == "update" and re.match(r"^edit \d+ archive$", r["edit"]) for r in rows), rows)
        self.assertTrue(any(re.match(r"^edit \d+ archive: done$", r["edit"]) for r in rows), rows)
        self.ok("members", "set-role", str(live[6]["id"]), "--user", "1521", "--role", "2")
        self.wait_settled()
        members = self.sim.state()["members"][str(live[6]["id"])]["user_ids"]
        self.assertTrue(next(m for m in members if m["user_id"] == 1521)["manager"])  # role 2: manager
        self.ok("members", "remove", str(live[6]["id"]), "--user", "1521")
        self.wait_settled()
        members = self.sim.state()["members"][str(live[6]["id"])]["user_ids"]
        self.assertNotIn(1521, [m["user_id"] for m in members])

    def test_a_refused_write_is_exit_1_with_the_daemons_words(self):
        target = self.live()[0]["id"]
        r = self.ctl("projects", "patch", str(target), "--color", "red")
        self.assertEqual(r.code, 1)
        self.assertEqual(r.out, "")
        self.assertIn("color", r.err)
        self.assertNotIn("{", r.err)  # never a raw JSON error
        r = self.ctl("projects", "update", str(target), "--json", "/no/such/file")
        self.assertEqual(r.code, 1)
        self.assertIn("cannot read", r.err)

    def test_edits_commands(self):
        target = [p for p in self.live() if p["archived_at"] is None][10]["id"]
        edit = self.ok("projects", "patch", str(target), "--client", "424242", fmt="json").json()["edit"]
        self.wait_settled()
        failed = self.ok("edits", "list", "--state", "failed", fmt="json").json()
        self.assertIn(edit, [e["id"] for e in failed])
        shown = self.ok("edits", "show", str(edit), fmt="json").json()
        self.assertEqual(shown["state"], "failed")
        self.assertIn("424242", shown["last_error"])
        table = self.ok("edits", "show", str(edit)).out
        self.assertIn("client_id", table)  # the field diff
        self.assertIn("424242", table)
        self.assertIn("will be sent again", self.ok("edits", "retry", str(edit)).out)
        self.wait_settled()
        r = self.ctl("edits", "resolve", str(edit), "--take", "local")
        self.assertEqual(r.code, 1)
        self.assertIn("not in conflict", r.err)
        self.assertIn("discarded", self.ok("edits", "discard", str(edit)).out)
        r = self.ctl("edits", "show", str(edit))
        self.assertEqual(r.code, 1)
        self.assertIn("does not exist", r.err)
        header = next(csv.reader(io.StringIO(self.ok("edits", "list", fmt="csv").out)))
        self.assertEqual(header, ["id", "state", "op", "project_id", "attempts", "created_at", "last_error", "note"])

    def test_resolve_forms_for_an_unknown_outcome(self):
        """The settling of an ambiguous read-back itself is shown in
        tests/unit/sync/replayer_test.cpp; here, the socket and focusctl
        forms: what they refuse, and that an edit shows its candidates."""
        target = [p for p in self.live() if p["archived_at"] is None][12]["id"]
        edit = self.ok("projects", "patch", str(target), "--description", "resolve forms", fmt="json").json()["edit"]
        self.wait_settled()
        shown = self.ok("edits", "show", str(edit), fmt="json").json()
        self.assertEqual(shown["candidates"], [])
        for args, words in ((["--created-as", "1077"], "not waiting to learn its outcome"),
                            (["--send-again"], "not waiting to learn its outcome")):
            r = self.ctl("edits", "resolve", str(edit), *args)
            self.assertEqual(r.code, 1)
            self.assertIn(words, r.err)
        r = self.ctl("edits", "resolve", str(edit), "--created-as", "5", "--send-again")
        self.assertNotEqual(r.code, 0)  # one form at a time
        for body, field in (({"created_as": -3}, "created_as"), ({"created_as": 1.5}, "created_as"),
                            ({"created_as": 18446744073709551615}, "created_as"), ({"send_again": False}, "send_again"),
                            ({"take": 5}, "take")):
            r = self.d.request("POST", f"/v1/edits/{edit}/resolve", body)
            self.assertEqual(r.status, 400, body)
            self.assertEqual(r.json()["field"], field)

    def test_deep_or_broken_local_bodies_are_400(self):
        target = self.live()[0]["id"]
        path = BASE.format(org=1, ws=1) + f"/{target}"
        r = self.d.request("PATCH", path, raw=("[" * 100 + "]" * 100).encode())
        self.assertEqual(r.status, 400)
        self.assertIn("deeper than 64", r.json()["error"])
        r = self.d.request("PATCH", path, raw=b'{"name": "caf\xe9"}')
        self.assertEqual(r.status, 400)
        self.assertEqual(r.json()["error"], "the body is not valid JSON: invalid string: ill-formed UTF-8 byte at byte 15")
        r = self.d.request("PATCH", path, raw=b'{"name": "x",}')
        self.assertEqual((r.status, r.json()["error"]), (400, "the body is not valid JSON: unexpected '}'; expected string literal at byte 14"))

    def test_changes_and_follow(self):
        rows = self.ok("changes", fmt="ndjson").ndjson()
        self.assertGreaterEqual(len(rows), 80)
        # JSON is the socket's change whole, with the workspace named ORG/WS:
        # the first mirroring's inserts still say they were initial.
        socket = self.d.request("GET", "/v1/changes?limit=1000").json()["changes"]
        self.assertEqual(rows, [dict(c, workspace=f"{c['organization_id']}/{c['workspace_id']}") for c in socket])
        self.assertTrue(all(r.get("initial") is True for r in rows if r["kind"] == "insert"), rows[:3])
        initial = {c["seq"]: c.get("initial", False) for c in socket}
        csv_rows = self.ok("changes", fmt="csv").csv()
        self.assertIn("yes", [r["initial"] for r in csv_rows])
        self.assertEqual([r["initial"] for r in csv_rows],
                         ["yes" if initial.get(int(r["seq"])) else "no" for r in csv_rows])
        last = rows[-1]["seq"]
        self.assertEqual(self.ok("changes", "--since", str(last), fmt="json").json(), [])
        follow = subprocess.Popen([FOCUSCTL, "--socket", self.d.socket, "--format", "ndjson", "changes", "--follow", "--since",
                                   str(last)], stdout=subprocess.PIPE, text=True)
        try:
            time.sleep(0.3)
            self.sim.control("POST", "mutate", {"updates": 1})
            self.ok("sync")
            line = follow.stdout.readline()
            self.assertGreater(json.loads(line)["seq"], last)
        finally:
            follow.terminate()
            follow.wait(timeout=10)
            follow.stdout.close()

    def test_report_keeps_two_parents_of_one_name_apart(self):
        live = self.live()
        children = {}
        for p in live:
            if p["parent_project_id"]:
                children.setdefault(p["parent_project_id"], []).append(p["id"])
        a, b = sorted(children)[:2]
        name = self.server()[a]["name"]
        self.ok("projects", "patch", str(b), "--name", name)  # names need not be unique
        self.wait_settled()
        rows = {r["parent"]: r["projects"] for r in self.ok("report", "--by", "parent", fmt="json").json()}
        self.assertEqual(rows[f"{name} (project {a})"], len(children[a]), rows)
        self.assertEqual(rows[f"{name} (project {b})"], len(children[b]), rows)
        self.assertNotIn(name, rows)

    def test_report_figures_match_the_server(self):
        projects = [p for p in self.sim.state()["projects"] if p["deleted_at"] is None]
        expected = {}
        for p in projects:
            key = p["client"]["name"] if p["client"] else "(no client)"
            g = expected.setdefault(key, {"projects": 0, "active": 0, "archived": 0, "est": 0.0, "tracked": 0.0, "over": 0,
                                          "value": 0.0})
            g["projects"] += 1
            g["archived" if p["archived_at"] else "active"] += 1
            tracked = p["total_tracked_time"] / 3600
            g["tracked"] += tracked
            if p["estimated_mins"] is not None:
                g["est"] += p["estimated_mins"] / 60
                g["over"] += tracked > p["estimated_mins"] / 60
            if p["billable"]:
                if p["fixed_fee"]:
                    g["value"] += p["fixed_fee"]["amount"]
                elif p["rate"]:
                    g["value"] += p["rate"]["hourly_rate"] * tracked
        rows = self.ok("report", "--by", "client", fmt="csv").csv()
        self.assertEqual(list(rows[0].keys()), ["client", "projects", "active", "archived", "estimated_hours",
                                                "tracked_hours", "over_estimate", "billable_value"])
        self.assertEqual({r["client"] for r in rows}, set(expected))
        for r in rows:
            e = expected[r["client"]]
            self.assertEqual(int(r["projects"]), e["projects"], r)
            self.assertEqual((int(r["active"]), int(r["archived"])), (e["active"], e["archived"]), r)
            self.assertAlmostEqual(float(r["estimated_hours"]), e["est"], delta=0.01)
            self.assertAlmostEqual(float(r["tracked_hours"]), e["tracked"], delta=0.01)
            self.assertEqual(int(r["over_estimate"]), e["over"], r)
            self.assertAlmostEqual(float(r["billable_value"]), e["value"], delta=0.01)
        by_status = {r["status"]: r for r in self.ok("report", "--by", "status", fmt="json").json()}
        self.assertEqual(int(by_status["active"]["projects"]), sum(1 for p in projects if not p["archived_at"]))
        tags = self.ok("report", "--by", "tag", fmt="json").json()
        first_tag = next(t["name"] for p in projects for t in p["tags"])
        self.assertEqual(next(r for r in tags if r["tag"] == first_tag)["projects"],
                         sum(1 for p in projects if first_tag in [t["name"] for t in p["tags"]]))
        self.ok("report", "--by", "parent")
        # The first sync saw projects created long before the window: first
        # seen, not created (issue 18). Created are those whose created_at
        # is in the window (other tests of this class make some).
        day_ago = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=1)
        recent = [p for p in projects if datetime.datetime.fromisoformat(p["created_at"].replace("Z", "+00:00")) >= day_ago]
        self.assertLess(len(recent), len(projects) // 2)  # the seeded projects are old
        changes = {r["change"]: int(r["count"]) for r in self.ok("report", "--changes-since", "1d", fmt="csv").csv()}
        self.assertEqual(changes["created"], len(recent))
        self.assertGreaterEqual(changes["first seen (initial mirror)"], 80)

    def test_an_archive_undone_counts_once_each_way(self):
        # The change log names the fields an update changed, not their
        # values: an archive later undone once counted as two unarchives.
        def counts():
            rows = self.ok("report", "--changes-since", "1d", fmt="csv").csv()
            return {r["change"]: int(r["count"]) for r in rows}

        project = next(p for p in self.live() if p["archived_at"] is None)["id"]
        before = counts()
        self.ok("projects", "archive", str(project))
        self.wait_settled()
        self.ok("sync", "--wait")
        archived = counts()
        self.ok("projects", "unarchive", str(project))
        self.wait_settled()
        self.ok("sync", "--wait")
        after = counts()
        self.assertEqual((archived["archived"] - before["archived"], archived["unarchived"] - before["unarchived"]),
                         (1, 0), (before, archived))
        self.assertEqual((after["archived"] - before["archived"], after["unarchived"] - before["unarchived"]),
                         (1, 1), (before, after))

    def test_status_sync_and_exit_codes(self):
        r = self.ok("status")
        self.assertIn("upstream ok", r.out)
        s = self.ok("status", fmt="json").json()
        self.assertEqual(s["problems"], [])
        stale = self.ctl("status", "--max-age", "1ms")
        self.assertEqual(stale.code, 1)
        self.assertIn("more than 1ms ago", stale.err)
        summary = self.ok("sync", "--wait", fmt="json").json()
        self.assertEqual(summary[0]["workspace"], "1/1")
        # Exit codes: usage 2, unreachable 3.
        usage = self.ctl("projects", "list", "--archived", "sometimes")
        self.assertEqual(usage.code, 2)
        self.assertIn("--help", usage.err)
        self.assertEqual(self.ctl("--bogus").code, 2)
        # Values CLI11 cannot judge are usage errors too (they were exit 1).
        for args in (("--workspace", "abc", "projects", "list"), ("status", "--max-age", "abc"),
                     ("report", "--changes-since", "abc"), ("edits", "resolve", "1"), ("changes", "--since", "-5"),
                     ("sql", "SELECT 1", "--schema"), ("report", "--by", "tag", "--changes-since", "1d")):
            bad = self.ctl(*args)
            self.assertEqual(bad.code, 2, (args, bad.err))
            self.assertIn("--help", bad.err)
        # A number is decimal, whole and in range. CLI11 alone read 0x10 as
        # 16 and 99999999999999999999 as 9223372036854775807, and asked the
        # daemon for that edit.
        for args, why in ((("edits", "show", "99999999999999999999"), "'99999999999999999999' is out of range"),
                          (("projects", "get", "0x10"), "'0x10' is not a whole number"),
                          (("projects", "list", "--client", "1e3"), "--client: '1e3' is not a whole number"),
                          (("projects", "list", "--limit", "99999999999999999999"), "out of range")):
            bad = self.ctl(*args)
            self.assertEqual(bad.code, 2, (args, bad.err))
            self.assertIn(why, bad.err)
        # --workspace becomes part of every path: `1/1/projects/1004?` sent
        # the delete of 1002 to project 1004. ORG/WS is two positive ids.
        edits_before = self.ok("edits", "list", fmt="json").json()
        for workspace in ("1/1/projects/1004?", "x/", "0/1", "1/-1", "1/2/", "01/2"):
            bad = self.ctl("--workspace", workspace, "projects", "delete", "1002")
            self.assertEqual(bad.code, 2, (workspace, bad.err))
            self.assertIn(f"--workspace: '{workspace}' is not ORG/WS, like 1/42", bad.err)
        self.assertEqual(self.ok("edits", "list", fmt="json").json(), edits_before)
        for args, why in ((("projects", "list", "--limit", "0"), "Value 0 not in range 1 to"),
                          (("changes", "--since", "abc"), "--since: Value abc not in range 0 to"),
                          (("projects", "get", ""), "id: '' is not a whole number")):
            bad = self.ctl(*args)
            self.assertEqual(bad.code, 2, (args, bad.err))
            self.assertIn(why, bad.err)
        # A temporary id is negative, and reaches the daemon (none here).
        temporary = self.ctl("projects", "get", "--", "-1")
        self.assertEqual(temporary.code, 1, temporary.err)
        self.assertNotIn("whole number", temporary.err)
        away = subprocess.run([FOCUSCTL, "--socket", "/nonexistent/focussync.sock", "status"], capture_output=True, text=True)
        self.assertEqual(away.returncode, 3)
        self.assertIn("/nonexistent/focussync.sock", away.stderr)
        self.assertIn("systemctl --user start focussync`", away.stderr)


class StoppedUpstream(unittest.TestCase):
    def test_status_says_stale_when_the_upstream_is_gone(self):
        sim = SimProcess("--projects", "5", "--api-key", KEY)
        d = Daemon(sim, extra_socket='stale_after = "2s"')
        try:
            d.wait_synced()
            sim.control("PUT", "faults", {"offline": True})
            time.sleep(2.5)
            p = subprocess.run([FOCUSCTL, "--socket", d.socket, "status", "--max-age", "2s"], capture_output=True, text=True,
                               timeout=30)
            self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
            self.assertIn("workspace 1/1 last synced", p.stderr)
            self.assertIn("upstream unreachable", p.stdout)
            # Without --max-age, the daemon's own stale_after decides: a
            # stale mirror is not well (it exited 0).
            p = subprocess.run([FOCUSCTL, "--socket", d.socket, "status"], capture_output=True, text=True, timeout=30)
            self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
            self.assertIn("workspace 1/1 is stale", p.stderr)
        finally:
            d.stop()
            sim.stop()


if __name__ == "__main__":
    unittest.main()
