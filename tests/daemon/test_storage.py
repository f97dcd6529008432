"""Storage failures, tried on a real file system: the cache on a small tmpfs
that another user's 6,000 new projects fill up, then enlarged; the cache file removed or replaced
under the running daemon. Reads go on being served, a write the cache
cannot keep is refused (507 / 503) with nothing half-queued, /v1/status
answers 200 and names the problem, focusctl status exits 1 with it, and the
daemon heals by itself when the cause goes (a removed file is written back
and the daemon restarts on it). Needs root to mount; without it each test
says it is skipped and why."""
import contextlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "sim"))
from daemonconf import UnixConnection  # noqa: E402
from simproc import KEY, SimProcess  # noqa: E402
from test_socket import Daemon  # noqa: E402

CTL = os.environ.get("FOCUS_CTL")
PROJECTS = "/api/organizations/1/workspaces/1/projects"


def can_mount():
    if os.geteuid() != 0:
        return "mounting a tmpfs needs root"
    d = tempfile.mkdtemp(prefix="focus-mount-probe-")
    try:
        p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", d], capture_output=True, text=True)
        if p.returncode != 0:
            return "cannot mount a tmpfs here: " + p.stderr.strip()
        subprocess.run(["umount", d], check=True)
        return None
    finally:
        os.rmdir(d)


WHY_NOT = can_mount()


class Cache(Daemon):
    """focussyncd (service mode) whose cache lives on its own tmpfs of `size`."""

    def __init__(self, sim, size="2m"):
        self.mount = tempfile.mkdtemp(prefix="focus-storage-fs-")
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", self.mount], check=True)
        try:
            super().__init__(sim, sync='interval = "500ms"', cache_path=os.path.join(self.mount, "cache.db"))
        except Exception:
            self.unmount()
            raise

    def unmount(self):
        subprocess.run(["umount", "-l", self.mount])
        shutil.rmtree(self.mount, ignore_errors=True)

    def call(self, method, path, body=None, timeout=15):
        """(status, parsed JSON body): one request on a fresh connection."""
        conn = UnixConnection(self.socket, timeout)
        try:
            conn.request(method, path, body=json.dumps(body) if body is not None else None)
            resp = conn.getresponse()
            return resp.status, json.loads(resp.read() or b"null")
        finally:
            conn.close()

    def status(self):
        code, body = self.call("GET", "/v1/status")
        assert code == 200, (code, body)
        return body

    def until(self, what, predicate, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                s = self.status()
                if predicate(s):
                    return s
            time.sleep(0.1)
        raise AssertionError(f"{what} did not happen within {timeout} s:\n{self.output()[-4000:]}")

    def fill(self):
        """Writes a filler file until the file system says ENOSPC."""
        with contextlib.suppress(OSError):  # full already, perhaps even for a new file
            with open(os.path.join(self.mount, "filler"), "wb") as f:
                while True:
                    f.write(b"\0" * 4096)
                    f.flush()

    def unfill(self):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(os.path.join(self.mount, "filler"))

    def remount(self, options):
        subprocess.run(["mount", "-o", f"remount,{options}", self.mount], check=True)

    def edits_total(self):
        e = self.status()["edits"]
        return sum(e.values())

    def ctl_status(self):
        return subprocess.run([CTL, "--socket", self.socket, "status"], capture_output=True, text=True, timeout=20)

    def stop(self):
        try:
            return super().stop()
        finally:
            self.unmount()


@unittest.skipIf(WHY_NOT, WHY_NOT or "")
class FullDisk(unittest.TestCase):
    def test_a_full_file_system_refuses_edits_keeps_reads_and_heals_when_space_returns(self):
        sim = SimProcess("--projects", "200", "--seed", "5", "--api-key", KEY)
        c = Cache(sim, size="2m")
        try:
            c.until("the first sync", lambda s: s["workspaces"][0]["projects"] == 200)
            pid = c.proc.pid
            sim.control("POST", "mutate", {"creates": 6000})  # another user: far more than 2 MB
            s = c.until("the full disk to show", lambda s: s["storage"]["state"] == "full")
            self.assertIn("file system is full", s["storage"]["message"])
            # Up to the last block: not even a small edit fits now.
            c.fill()
            # Reads are served from what is cached.
            code, page = c.call("GET", PROJECTS + "?per_page=5")
            self.assertEqual(code, 200)
            self.assertEqual(len(page["data"]), 5)
            code, one = c.call("GET", PROJECTS + "/1000")
            self.assertEqual(code, 200)
            # A write that cannot be kept (here: more than the WAL's free
            # frames hold) is refused with 507 and its reason; nothing is
            # queued. (A small one may still fit in pages SQLite had already
            # allocated: then it is kept, and answered 201 honestly.)
            before = c.edits_total()
            code, body = c.call("PATCH", PROJECTS + "/1000", {"name": "written on a full disk",
                                                                 "description": "x" * 600_000})
            self.assertEqual(code, 507, body)
            self.assertEqual(body["storage"], "full")
            self.assertIn("full", body["error"])
            self.assertEqual(c.edits_total(), before, "nothing half-queued")
            code, one_after = c.call("GET", PROJECTS + "/1000")
            self.assertEqual(one_after["name"], one["name"])
            if CTL:
                p = c.ctl_status()
                self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
                self.assertIn("file system is full", p.stderr)
            # Space comes back: the same process catches up by itself.
            c.unfill()
            c.remount("size=64m")
            s = c.until("the catch-up", lambda s: s["storage"]["state"] == "ok" and
                        s["workspaces"][0]["projects"] == 6200, timeout=60)
            self.assertEqual(c.proc.pid, pid)
            self.assertIsNone(c.proc.poll())
            code, body = c.call("PATCH", PROJECTS + "/1000", {"name": "written once space was back"})
            self.assertEqual(code, 201, body)
            with contextlib.closing(sqlite3.connect(c.cache)) as db:
                self.assertEqual(db.execute("PRAGMA integrity_check").fetchone()[0], "ok")
            started = time.monotonic()
            self.assertEqual(c.stop(), 0)
            self.assertLess(time.monotonic() - started, 10)
        finally:
            if c.proc.poll() is None:
                c.stop()
            sim.stop()


@unittest.skipIf(WHY_NOT, WHY_NOT or "")
class FileUnderUs(unittest.TestCase):
    def test_a_removed_cache_is_written_back_with_its_edits_and_the_daemon_restarts_on_it(self):
        sim = SimProcess("--projects", "40", "--api-key", KEY)
        c = Cache(sim, size="16m")
        try:
            c.until("the first sync", lambda s: s["workspaces"][0]["projects"] == 40)
            sim.control("PUT", "faults", {"offline": True})
            code, body = c.call("PATCH", PROJECTS + "/1002", {"name": "kept through a removal"})
            self.assertEqual(code, 201, body)
            for suffix in ("", "-wal", "-shm"):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(c.cache + suffix)
            code, body = c.call("PATCH", PROJECTS + "/1003", {"name": "to an unlinked file"})
            self.assertEqual(code, 503, body)
            self.assertEqual(body["storage"], "removed")
            self.assertEqual(c.proc.wait(timeout=45), 1, "it stops to be restarted on the written-back file")
            self.assertIn("written back", c.output())
            self.assertEqual(os.stat(c.cache).st_mode & 0o777, 0o600)
            with contextlib.closing(sqlite3.connect(c.cache)) as db:
                self.assertEqual(db.execute("PRAGMA integrity_check").fetchone()[0], "ok")
                self.assertEqual(db.execute("SELECT count(*) FROM projects").fetchone()[0], 40)
                names = [r[0] for r in db.execute("SELECT json_extract(body, '$.name') FROM overlay")]
                self.assertIn("kept through a removal", names)
            c.start()  # as systemd would
            sim.control("PUT", "faults", {"offline": False})
            c.until("the edit to reach the server", lambda s: s["edits"]["done"] == 1)
            names = {p["id"]: p["name"] for p in sim.state()["projects"]}
            self.assertEqual(names[1002], "kept through a removal")
        finally:
            c.stop()
            sim.stop()

    def test_a_replaced_cache_keeps_reads_and_refuses_edits(self):
        sim = SimProcess("--projects", "30", "--api-key", KEY)
        c = Cache(sim, size="16m")
        try:
            c.until("the first sync", lambda s: s["workspaces"][0]["projects"] == 30)
            other = c.cache + ".other"
            with contextlib.closing(sqlite3.connect(other)) as db:
                db.execute("CREATE TABLE t (x)")
            with open(other, "rb") as f:
                theirs = f.read()
            os.replace(other, c.cache)
            code, body = c.call("PATCH", PROJECTS + "/1004", {"name": "into someone else's file"})
            self.assertEqual(code, 503, body)
            self.assertEqual(body["storage"], "replaced")
            self.assertIn("move the new file away", body["error"])
            self.assertEqual(c.call("GET", PROJECTS + "/1004")[0], 200)
            self.assertEqual(c.status()["storage"]["state"], "replaced")
            time.sleep(1.5)  # engine passes run meanwhile
            with open(c.cache, "rb") as f:  # not touched (bytes: opening it would apply the old -wal)
                self.assertEqual(f.read(), theirs)
        finally:
            c.stop()
            sim.stop()


if __name__ == "__main__":
    unittest.main()
