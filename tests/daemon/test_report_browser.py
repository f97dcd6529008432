"""focusctl report --format html, looked at in a real browser: each report
kind written by focusctl from a real focussyncd (synced from focus-sim) is
opened in headless Chromium, which must load it with no console error and
no request beyond the file itself; the bars are counted and measured
against figures computed here from /_sim/state, a name holding <script>
must show as text, and a screenshot of each chart must not be blank.
FOCUS_REPORT_SCREENSHOT=PATH keeps the by-client page's screenshot (how
docs/report.png is made)."""
import base64
import collections
import datetime
import json
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "sim"))
from browser import Browser, chromium_path, png_pixels  # noqa: E402
from simproc import KEY, SimProcess  # noqa: E402
from test_socket import Daemon  # noqa: E402

FOCUSCTL = os.environ.get("FOCUS_CTL", "build/bin/focusctl")
HOSTILE = '<script>document.title="owned"</script> & <b>Co</b>'

BARS = """JSON.stringify({
  plot: document.querySelector('svg rect.plot').getBoundingClientRect().width,
  bars: [...document.querySelectorAll('svg rect.bar')].map(b => ({
    group: b.getAttribute('data-group'), width: b.getBoundingClientRect().width})),
  estimates: document.querySelectorAll('svg rect.estimate').length,
  scripts: document.querySelectorAll('script').length,
  text: document.body.innerText,
  title: document.title,
  overItems: document.querySelectorAll('main ul li').length})"""

SEGMENTS = """JSON.stringify({
  plot: document.querySelector('svg rect.plot').getBoundingClientRect().height,
  columns: [...document.querySelectorAll('svg g.column')].map(c => [...c.querySelectorAll('rect.segment')].map(s => ({
    kind: s.getAttribute('data-kind'), count: +s.getAttribute('data-count'),
    height: s.getBoundingClientRect().height})))})"""


def group_keys(p, by, names):
    if by == "client":
        return [p["client"]["name"] if p["client"] else "(no client)"]
    if by == "status":
        return ["archived" if p["archived_at"] else "active"]
    if by == "parent":
        parent = p["parent_project_id"]
        return ["(top level)"] if parent is None else [names.get(parent, f"project {parent}")]
    return [t["name"] for t in p["tags"]] or ["(no tag)"]


def expected_groups(projects, by):
    """{group: (estimated hours, tracked hours)}, as the report defines them."""
    names = {p["id"]: p["name"] for p in projects}
    groups = collections.defaultdict(lambda: [0.0, 0.0])
    for p in projects:
        for key in group_keys(p, by, names):
            groups[key][1] += p["total_tracked_time"] / 3600
            if p["estimated_mins"] is not None:
                groups[key][0] += p["estimated_mins"] / 60
    return {k: (round(e, 2), round(t, 2)) for k, (e, t) in groups.items()}


TRACKED_BLUE = (0x3b, 0x6f, 0xb6)  # a bar of hours tracked
FIRST_SEEN_BLUE = (0x8f, 0xb3, 0xe0)  # the first mirroring's segment


def judge_screenshot(test, png, what, colour):
    """Not blank: several colours, `colour` (what the chart must show) among
    them, and a good share of the picture not background."""
    width, height, rows = png_pixels(png)
    colours = collections.Counter(px for row in rows for px in row)
    test.assertGreater(len(colours), 8, f"{what}: the screenshot is nearly one colour")
    background, most = colours.most_common(1)[0]
    test.assertLess(most, 0.97 * width * height, f"{what}: the screenshot is almost all {background}")
    test.assertTrue(any(all(abs(got - want) < 8 for got, want in zip(px, colour)) for px in colours),
                    f"{what}: no {colour} in the screenshot")


class HtmlReports(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not chromium_path():
            raise AssertionError("chromium is not installed (scripts/install-deps installs it)")
        cls.sim = SimProcess("--projects", "60", "--seed", "7", "--api-key", KEY)
        # A colleague names a project with markup in it and files another under it.
        parent = cls.sim.request("POST", cls.sim.projects_path(), body={"name": HOSTILE, "color": "#0b83d9"})
        assert parent.status in (200, 201), parent.body
        child = cls.sim.request("POST", cls.sim.projects_path(),
                                body={"name": "Filed under markup", "parent_project_id": parent.json()["id"]})
        assert child.status in (200, 201), child.body
        cls.d = Daemon(cls.sim)
        cls.d.wait_synced()
        cls.dir = tempfile.TemporaryDirectory(prefix="focus-report-")
        cls.browser = Browser()

    @classmethod
    def tearDownClass(cls):
        cls.browser.close()
        cls.d.stop()
        cls.sim.stop()
        cls.dir.cleanup()

    def ctl(self, *args):
        return subprocess.run([FOCUSCTL, "--socket", self.d.socket, *args], capture_output=True, text=True, timeout=60)

    def report(self, name, *args):
        """Writes a report with --output and opens it; the load is judged here."""
        path = os.path.join(self.dir.name, name + ".html")
        r = self.ctl("report", *args, "--format", "html", "--output", path)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "")
        url = "file://" + path
        self.browser.open(url)
        self.assertEqual(self.browser.problems(), [], name)
        self.assertEqual(self.browser.requests(), [url], f"{name}: the page fetched something")
        return path

    def chart_screenshot(self):
        box = self.browser.evaluate("JSON.stringify(document.querySelector('figure').getBoundingClientRect())")
        b = json.loads(box)
        data = self.browser.command("Page.captureScreenshot", {"format": "png", "clip": {
            "x": b["x"], "y": b["y"], "width": b["width"], "height": min(b["height"], 600), "scale": 1}},
            session=self.browser.session)["data"]
        return base64.b64decode(data)

    def test_group_reports_draw_one_bar_per_group_in_proportion(self):
        projects = [p for p in self.sim.state()["projects"] if p["deleted_at"] is None]
        for by in ("client", "tag", "parent", "status"):
            with self.subTest(by=by):
                self.report("by-" + by, "--by", by)
                page = json.loads(self.browser.evaluate(BARS))
                expected = expected_groups(projects, by)
                self.assertEqual(len(page["bars"]), len(expected), by)
                self.assertEqual({b["group"] for b in page["bars"]}, set(expected))
                top = max(max(e, t) for e, t in expected.values())
                for bar in page["bars"]:
                    want = expected[bar["group"]][1] / top * page["plot"]
                    self.assertLessEqual(abs(bar["width"] - want), 1.0, f"{by} {bar['group']}: {bar['width']} px, not {want}")
                self.assertEqual(page["estimates"], sum(1 for e, _ in expected.values() if e > 0))
                self.assertEqual(page["scripts"], 0)
                self.assertNotEqual(page["title"], "owned")
                judge_screenshot(self, self.chart_screenshot(), by, TRACKED_BLUE)
                if by == "parent":
                    self.assertIn(HOSTILE, page["text"])  # as text, in the table
                if by == "client":
                    over = sum(1 for p in projects if p["estimated_mins"] is not None
                               and p["total_tracked_time"] / 3600 > p["estimated_mins"] / 60)
                    self.assertEqual(page["overItems"], over)
                    if os.environ.get("FOCUS_REPORT_SCREENSHOT"):
                        with open(os.environ["FOCUS_REPORT_SCREENSHOT"], "wb") as f:
                            f.write(self.browser.screenshot())

    def test_change_report_draws_changes_per_day_by_kind(self):
        # Changes of other kinds than the first mirroring: a rename and an archive, replayed.
        live = [p for p in self.sim.state()["projects"] if p["deleted_at"] is None and p["archived_at"] is None]
        for args in (("projects", "update", str(live[0]["id"]), "--json", "-"), ("projects", "archive", str(live[1]["id"]))):
            r = subprocess.run([FOCUSCTL, "--socket", self.d.socket, *args], capture_output=True, text=True, timeout=60,
                               input='{"name": "Renamed for the report"}')
            self.assertEqual(r.returncode, 0, r.stderr)
        self.d.wait_edits_settled()
        csv_rows = self.ctl("--format", "csv", "report", "--changes-since", "2d").stdout.splitlines()[1:]
        counts = {line.rsplit(",", 1)[0].strip('"'): int(line.rsplit(",", 1)[1]) for line in csv_rows}
        self.assertGreater(counts["first seen (initial mirror)"], 60)
        self.assertGreaterEqual(counts["edits applied"], 2)
        self.report("changes", "--changes-since", "2d")
        page = json.loads(self.browser.evaluate(SEGMENTS))
        today = datetime.datetime.now(datetime.timezone.utc).date()
        self.assertIn(len(page["columns"]), (3, 4))  # the days the last 48 hours touch, today included
        drawn = collections.Counter()
        for column in page["columns"]:
            for s in column:
                drawn[s["kind"]] += s["count"]
        self.assertEqual(dict(drawn), {k: n for k, n in counts.items() if n})
        tallest = max(sum(s["count"] for s in c) for c in page["columns"])
        for column in page["columns"]:
            for s in column:
                self.assertLessEqual(abs(s["height"] - s["count"] / tallest * page["plot"]), 1.0, s)
        self.assertIn(today.isoformat()[5:], self.browser.evaluate("document.querySelector('svg').textContent"))
        judge_screenshot(self, self.chart_screenshot(), "changes", FIRST_SEEN_BLUE)

    def test_stdout_and_refusals(self):
        out = self.ctl("report", "--by", "status", "--format", "html")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertTrue(out.stdout.startswith("<!DOCTYPE html>"))
        self.assertIn("Projects by status", out.stdout)
        # html is the report's alone, refused before anything is done.
        edits_before = self.d.get("/v1/edits").json()
        r = self.ctl("--format", "html", "projects", "create", "--name", "never made")
        self.assertEqual(r.returncode, 2)
        self.assertIn("--format html is for `focusctl report` only", r.stderr)
        self.assertEqual(self.d.get("/v1/edits").json(), edits_before)  # no edit was queued
        # An --output that cannot be written is exit 1, naming it; nothing is left behind.
        missing = os.path.join(self.dir.name, "no-such-folder", "r.html")
        r = self.ctl("report", "--format", "html", "--output", missing)
        self.assertEqual(r.returncode, 1)
        self.assertIn("no-such-folder", r.stderr)
        self.assertFalse(os.path.exists(os.path.dirname(missing)))
        # A report written over a private file stays private, whatever the umask.
        private = os.path.join(self.dir.name, "private.csv")
        with open(os.open(private, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
            f.write("old\n")
        os.chmod(private, 0o600)
        r = self.ctl("--format", "csv", "report", "--output", private)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(os.stat(private).st_mode & 0o777, 0o600)
        with open(private) as f:
            self.assertNotEqual(f.read(), "old\n")
        self.assertEqual([n for n in os.listdir(self.dir.name) if n.startswith("private.csv")], ["private.csv"])


if __name__ == "__main__":
    unittest.main()
