"""The weekly report, the systemd way: focussync-report.timer and its
service pass `systemd-analyze verify`, and the script they run writes the
HTML and CSV reports of a real focussyncd to dated files under
$XDG_STATE_HOME/focussync/reports, private to the user, keeps the last N of
each (and nothing else is touched), and fails plainly for a bad setting or
a daemon that is not running, leaving no file behind."""
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "sim"))
from test_socket import SyncedDaemonCase  # noqa: E402

SOURCE = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SCRIPT = os.environ.get("FOCUS_REPORT_SCRIPT", os.path.join(SOURCE, "systemd", "focussync-report"))
FOCUSCTL = os.path.abspath(os.environ.get("FOCUS_CTL", "build/bin/focusctl"))


class Units(unittest.TestCase):
    def test_timer_and_service_verify(self):
        if not shutil.which("systemd-analyze"):
            raise AssertionError("systemd-analyze is not installed (scripts/install-deps installs it)")
        with tempfile.TemporaryDirectory() as d:
            for unit in ("focussync-report.service", "focussync-report.timer"):
                with open(os.path.join(SOURCE, "systemd", unit)) as f:
                    text = f.read().replace("/usr/libexec/focussync/focussync-report", SCRIPT)
                with open(os.path.join(d, unit), "w") as f:
                    f.write(text)
            with open(os.path.join(d, "focussync-report.timer")) as f:
                timer = f.read()
            self.assertIn("\nOnCalendar=weekly\n", timer)
            self.assertIn("\nPersistent=true\n", timer)
            env = {**os.environ, "XDG_RUNTIME_DIR": d}
            p = subprocess.run(["systemd-analyze", "--user", "verify", os.path.join(d, "focussync-report.timer"),
                                os.path.join(d, "focussync-report.service")], capture_output=True, text=True, env=env,
                               timeout=60)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            self.assertNotIn("focussync-report", p.stderr, f"warnings: {p.stderr}")


class Script(SyncedDaemonCase):

    def run_script(self, state, socket=None, **settings):
        env = {**os.environ, "XDG_STATE_HOME": state, "FOCUSCTL": FOCUSCTL,
               "FOCUSSYNC_SOCKET": socket or self.d.socket, **settings}
        return subprocess.run([SCRIPT], capture_output=True, text=True, env=env, timeout=60)

    def test_dated_reports_the_last_n_kept(self):
        with tempfile.TemporaryDirectory() as state:
            reports = os.path.join(state, "focussync", "reports")
            os.makedirs(reports)
            old = [f"report-2026-0{m}-01T070000Z" for m in (1, 2, 3)]
            for name in old:
                for ext in ("html", "csv"):
                    open(os.path.join(reports, f"{name}.{ext}"), "w").close()
            open(os.path.join(reports, "notes.txt"), "w").close()
            r = self.run_script(state, FOCUSSYNC_REPORT_KEEP="2", FOCUSSYNC_REPORT_BY="status")
            self.assertEqual(r.returncode, 0, r.stderr)
            names = sorted(os.listdir(reports))
            new = [n for n in names if n.startswith("report-") and n[:-4].rstrip(".") not in old and n.endswith(".csv")]
            self.assertEqual(len(new), 1, names)
            stamp = new[0][:-len(".csv")]
            self.assertEqual(names, sorted([f"{stamp}.html", f"{stamp}.csv", f"{old[2]}.html", f"{old[2]}.csv",
                                            "latest.html", "latest.csv", "notes.txt"]))
            with open(os.path.join(reports, "latest.html")) as f:
                html = f.read()
            self.assertTrue(html.startswith("<!DOCTYPE html>"))
            self.assertIn("Projects by status", html)
            self.assertEqual(os.readlink(os.path.join(reports, "latest.csv")), f"{stamp}.csv")
            with open(os.path.join(reports, f"{stamp}.csv")) as f:
                self.assertTrue(f.readline().startswith("status,projects,active,archived"))
            self.assertEqual(stat.S_IMODE(os.stat(os.path.join(reports, f"{stamp}.html")).st_mode), 0o600)

    def test_a_fresh_user_gets_a_private_folder(self):
        with tempfile.TemporaryDirectory() as state:
            r = self.run_script(state)
            self.assertEqual(r.returncode, 0, r.stderr)
            for folder in ("focussync", os.path.join("focussync", "reports")):
                self.assertEqual(stat.S_IMODE(os.stat(os.path.join(state, folder)).st_mode), 0o700, folder)

    def test_bad_settings_and_no_daemon_fail_plainly(self):
        with tempfile.TemporaryDirectory() as state:
            r = self.run_script(state, FOCUSSYNC_REPORT_KEEP="zero")
            self.assertEqual(r.returncode, 2)
            self.assertIn("FOCUSSYNC_REPORT_KEEP", r.stderr)
            r = self.run_script(state, socket=os.path.join(state, "nobody.sock"))
            self.assertEqual(r.returncode, 3, r.stderr)
            self.assertIn("cannot reach focussyncd", r.stderr)
            left = os.listdir(os.path.join(state, "focussync", "reports"))
            self.assertEqual(left, [], "a failed run left files behind")


if __name__ == "__main__":
    unittest.main()
