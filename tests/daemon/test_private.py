"""The cache, the socket and the key are the user's alone, shown on real
focussyncd processes against a real focus-sim: under umask 022 every file
focussyncd makes or holds open is 0600 and its folders 0700; an older cache
left open to others is made private (and logged); a cache folder or socket
folder of another user, or one others may change, is refused with the fix;
a key file others can read is refused with `chmod 600 FILE` unless
allow_insecure_key_file turns that into a warning; the process is not
dumpable; plain http:// to another machine is refused at load."""
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "sim"))
from daemonconf import UnixConnection, write_config  # noqa: E402
from simproc import KEY, SimProcess  # noqa: E402
from test_focussyncd import DAEMON  # noqa: E402

NOBODY = 65534
ROOT = os.geteuid() == 0


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def loose_umask():
    os.umask(0o022)


class Run:
    """One focussyncd in service mode under umask 022, its output kept."""

    def __init__(self, config, user=None, binary=DAEMON):
        self.log = tempfile.TemporaryFile("w+")
        prefix = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups"] if user is not None else []
        self.proc = subprocess.Popen([*prefix, binary, "--config", config, "--log-level", "info"], stdout=self.log,
                                     stderr=subprocess.STDOUT, preexec_fn=loose_umask)

    def output(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def refused(self, timeout=30):
        """The exit code and output of a daemon expected to refuse to start."""
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            raise AssertionError("focussyncd started where it should have refused: " + self.output())
        return code, self.output()

    def wait_synced(self, socket_path, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("focussyncd exited: " + self.output())
            conn = UnixConnection(socket_path, 5)
            try:
                conn.request("GET", "/v1/status")
                if b'"last_success_at":"' in conn.getresponse().read().replace(b" ", b""):
                    return
            except OSError:
                pass
            finally:
                conn.close()
            time.sleep(0.05)
        raise AssertionError("no sync within the time limit: " + self.output())

    def stop(self):
        """The exit code; the output stays readable until the test ends."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                return self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise
        return self.proc.returncode


class Case(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sim = SimProcess("--projects", "30", "--api-key", KEY)

    @classmethod
    def tearDownClass(cls):
        cls.sim.stop()

    def setUp(self):
        self.dir = tempfile.TemporaryDirectory(prefix="focussyncd-private-")
        self.addCleanup(self.dir.cleanup)

    def config(self, state=None, socket_path=None, upstream="", folder=None, socket_extra=""):
        """A config in `folder` (default: the temp folder) whose cache is
        `state`/cache.db and whose socket is `socket_path`."""
        folder = folder or self.dir.name
        paths = write_config(folder, self.sim.port, KEY, upstream=upstream, sync='interval = "1s"',
                             socket_path=socket_path or os.path.join(self.dir.name, "run", "focussync.sock"),
                             socket_extra=socket_extra)
        if state:
            with open(paths["config"]) as f:
                text = f.read().replace(f'path = "{paths["cache"]}"', f'path = "{state}/cache.db"')
            with open(paths["config"], "w") as f:
                f.write(text)
            paths["cache"] = os.path.join(state, "cache.db")
        return paths

    def start(self, paths, **kw):
        run = Run(paths["config"], **kw)
        self.addCleanup(run.log.close)
        self.addCleanup(run.stop)
        return run


class Files(Case):
    def test_under_umask_022_every_file_is_0600_and_every_folder_0700(self):
        state = os.path.join(self.dir.name, "share", "focussync")
        paths = self.config(state=state)
        run = self.start(paths)
        run.wait_synced(paths["socket"])
        pid = run.proc.pid
        for folder in (os.path.join(self.dir.name, "share"), state, os.path.dirname(paths["socket"])):
            self.assertEqual(mode(folder), 0o700, folder)
        for leaf in ("cache.db", "cache.db-wal", "cache.db-shm", "cache.db.lock"):
            self.assertEqual(mode(os.path.join(state, leaf)), 0o600, leaf)
        self.assertEqual(mode(paths["socket"]), 0o600)
        # Every regular file the daemon holds open (SQLite's temp files too,
        # unlinked as they are) is its user's alone.
        held = []
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                st = os.stat(f"/proc/{pid}/fd/{fd}")
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except FileNotFoundError:
                continue
            if stat.S_ISREG(st.st_mode):
                held.append(target)
                self.assertEqual(stat.S_IMODE(st.st_mode) & 0o077, 0, target)
        self.assertTrue(any(h.endswith("cache.db-wal") for h in held), held)
        with open(f"/proc/{pid}/status") as f:
            self.assertIn("Umask:\t0077", f.read())  # so whatever else it makes is 0600 too
        self.assertEqual(run.stop(), 0)
        # The same umask makes an ordinary file 0644: the test's umask was real.
        with subprocess.Popen(["sh", "-c", f"touch {self.dir.name}/witness"], preexec_fn=loose_umask) as p:
            p.wait()
        self.assertEqual(mode(os.path.join(self.dir.name, "witness")), 0o644)

    def test_an_older_cache_open_to_others_is_made_private_and_logged(self):
        state = os.path.join(self.dir.name, "focussync")
        os.mkdir(state)
        os.chmod(state, 0o755)
        db = sqlite3.connect(os.path.join(state, "cache.db"))
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("CREATE TABLE leftover (x)")
        db.close()
        os.chmod(os.path.join(state, "cache.db"), 0o644)
        paths = self.config(state=state)
        run = self.start(paths)
        run.wait_synced(paths["socket"])
        self.assertEqual(mode(state), 0o700)
        for leaf in ("cache.db", "cache.db-wal", "cache.db-shm"):
            self.assertEqual(mode(os.path.join(state, leaf)), 0o600, leaf)
        out = run.output()
        self.assertIn(f"the cache folder '{state}' was open to group or others (mode 0755); made it 0700", out)
        self.assertIn("(mode 0644); made it 0600", out)

    def test_a_shared_cache_folder_holding_other_files_is_refused(self):
        shared = os.path.join(self.dir.name, "shared")
        os.mkdir(shared)
        os.chmod(shared, 0o755)
        with open(os.path.join(shared, "notes.txt"), "w") as f:
            f.write("not the cache's\n")
        code, out = self.start(self.config(state=shared)).refused()
        self.assertNotEqual(code, 0)
        self.assertIn(f"the cache folder '{shared}' is open to group or others (mode 0755) and holds other files too; "
                      f"make it private with `chmod 700 {shared}`", out)
        self.assertEqual(mode(shared), 0o755)
        self.assertFalse(os.path.exists(os.path.join(shared, "cache.db")))

    @unittest.skipUnless(ROOT, "only root can give a folder to another user")
    def test_a_cache_folder_of_another_user_is_refused(self):
        theirs = os.path.join(self.dir.name, "theirs")
        os.mkdir(theirs, 0o700)
        os.chown(theirs, NOBODY, NOBODY)
        code, out = self.start(self.config(state=theirs)).refused()
        self.assertNotEqual(code, 0)
        self.assertIn(f"the cache folder '{theirs}' belongs to nobody (uid 65534), not to root (uid 0) that focussyncd "
                      "runs as", out)
        self.assertEqual(os.listdir(theirs), [])


class SocketFolder(Case):
    def test_a_socket_folder_others_may_write_is_refused(self):
        run_dir = os.path.join(self.dir.name, "run")
        os.mkdir(run_dir)
        for bad in (0o775, 0o757, 0o1777):
            os.chmod(run_dir, bad)
            code, out = self.start(self.config()).refused()
            self.assertNotEqual(code, 0)
            self.assertIn(f"the socket folder '{run_dir}' is writable by group or others (mode {bad:04o}), so they "
                          f"could replace the socket with their own; fix it with `chmod go-w {run_dir}`", out)
            self.assertFalse(os.path.exists(os.path.join(run_dir, "focussync.sock")))

    def test_a_socket_folder_others_may_only_enter_is_served(self):
        run_dir = os.path.join(self.dir.name, "run")
        os.mkdir(run_dir)
        os.chmod(run_dir, 0o755)  # the shared-socket setup: the socket's mode and SO_PEERCRED decide
        paths = self.config()
        run = self.start(paths)
        run.wait_synced(paths["socket"])
        self.assertEqual(mode(run_dir), 0o755)  # left as the admin made it

    def test_a_socket_others_may_use_is_served_with_a_warning(self):
        # Allowed (it was asked for), but said at the start and by
        # --check-config: anyone on the machine could edit with the key.
        warning = ("[socket] mode lets every user of this machine read the projects and queue edits sent with your "
                   'key; use "0600", or "0660" with a group')
        paths = self.config(socket_extra='mode = "0666"')
        check = subprocess.run([DAEMON, "--config", paths["config"], "--check-config"], capture_output=True, text=True,
                               timeout=30)
        self.assertEqual(check.returncode, 0, check.stderr)
        self.assertIn("focussyncd: warning: " + warning, check.stderr)
        run = self.start(paths)
        run.wait_synced(paths["socket"])
        self.assertEqual(mode(paths["socket"]), 0o666)
        self.assertIn(warning, run.output())
        quiet = subprocess.run([DAEMON, "--config", self.config(socket_extra='mode = "0660"')["config"], "--check-config"],
                               capture_output=True, text=True, timeout=30)
        self.assertNotIn("warning", quiet.stderr)

    @unittest.skipUnless(ROOT, "only root can give a folder to another user")
    def test_a_socket_folder_of_another_user_is_refused(self):
        run_dir = os.path.join(self.dir.name, "run")
        os.mkdir(run_dir, 0o700)
        os.chown(run_dir, NOBODY, NOBODY)
        code, out = self.start(self.config()).refused()
        self.assertNotEqual(code, 0)
        self.assertIn(f"the socket folder '{run_dir}' belongs to nobody (uid 65534), not to root (uid 0) that "
                      "focussyncd runs as, so that user could replace the socket", out)


class KeyFile(Case):
    def test_a_key_file_others_can_read_is_refused_with_the_chmod_that_fixes_it(self):
        paths = self.config()
        os.chmod(paths["key"], 0o644)
        code, out = self.start(paths).refused()
        self.assertNotEqual(code, 0)
        self.assertIn(f"the key file '{paths['key']}' is open to group or others (mode 0644): fix it with "
                      f"`chmod 600 {paths['key']}`", out)
        self.assertIn("allow_insecure_key_file = true", out)
        self.assertNotIn(KEY, out)
        # The command it names fixes it.
        subprocess.run(["chmod", "600", paths["key"]], check=True)
        run = self.start(paths)
        run.wait_synced(paths["socket"])
        self.assertNotIn("key file", run.output())

    def test_allow_insecure_key_file_turns_the_refusal_into_a_warning(self):
        paths = self.config(upstream="allow_insecure_key_file = true")
        os.chmod(paths["key"], 0o644)
        run = self.start(paths)
        run.wait_synced(paths["socket"])
        out = run.output()
        self.assertIn(f"warning focussyncd: the key file '{paths['key']}' is open to group or others (mode 0644): fix it with "
                      f"`chmod 600 {paths['key']}`; used anyway", out)
        self.assertNotIn(KEY, out)

    @unittest.skipUnless(ROOT, "only root can give a file to another user")
    def test_a_key_file_of_another_user_is_refused(self):
        paths = self.config()
        os.chown(paths["key"], NOBODY, NOBODY)
        code, out = self.start(paths).refused()
        self.assertNotEqual(code, 0)
        self.assertIn(f"is owned by nobody, not by root that focussyncd runs as: fix it with `chown root {paths['key']}`",
                      out)

    def test_a_systemd_credential_is_not_judged_by_its_mode(self):
        creds = os.path.join(self.dir.name, "credentials")
        os.mkdir(creds, 0o700)
        with open(os.path.join(creds, "api-key"), "w") as f:
            f.write(KEY + "\n")
        os.chmod(os.path.join(creds, "api-key"), 0o644)
        paths = self.config()
        with open(paths["config"]) as f:
            text = f.read().replace(f'api_key_file = "{paths["key"]}"', 'api_key_credential = "api-key"')
        with open(paths["config"], "w") as f:
            f.write(text)
        os.environ["CREDENTIALS_DIRECTORY"] = creds
        try:
            run = self.start(paths)
        finally:
            del os.environ["CREDENTIALS_DIRECTORY"]
        run.wait_synced(paths["socket"])
        self.assertNotIn("key file", run.output())


class NotDumpable(Case):
    """A process the kernel marks not dumpable gets no core file, cannot be
    ptrace'd by its own user, and has its /proc/PID files owned by root
    instead of by its user: that last is what is observed here, on a daemon
    run as an ordinary user (nobody, when the tests run as root)."""

    def test_the_daemon_is_not_dumpable(self):
        user = NOBODY if ROOT else None
        uid = NOBODY if ROOT else os.geteuid()
        if uid == 0:
            self.skipTest("cannot run the daemon as an ordinary user")
        if ROOT and not shutil.which("setpriv"):
            self.skipTest("setpriv (util-linux) is needed to run the daemon as nobody")
        home = self.dir.name
        binary = DAEMON
        if ROOT:
            # Everything the daemon needs, where nobody may reach it.
            os.chmod(home, 0o755)
            binary = os.path.join(home, "focussyncd")
            shutil.copy(DAEMON, binary)
            os.chmod(binary, 0o755)
            state = os.path.join(home, "state")
            os.mkdir(state, 0o700)
            paths = self.config(state=state, folder=state, socket_path=os.path.join(state, "run", "focussync.sock"))
            for p in (state, paths["key"], paths["config"]):
                os.chown(p, NOBODY, NOBODY)
        else:
            paths = self.config()
        # The control: a process of that user that did not ask owns its /proc files.
        control = subprocess.Popen([*(["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups"] if ROOT else []),
                                    "sleep", "30"])
        self.addCleanup(control.wait)
        self.addCleanup(control.kill)
        deadline = time.monotonic() + 5
        while os.stat(f"/proc/{control.pid}/environ").st_uid != uid and time.monotonic() < deadline:
            time.sleep(0.01)  # until setpriv has become the user
        self.assertEqual(os.stat(f"/proc/{control.pid}/environ").st_uid, uid)

        run = self.start(paths, user=user, binary=binary)
        run.wait_synced(paths["socket"])
        with open(f"/proc/{run.proc.pid}/status") as f:
            status = f.read()
        self.assertIn(f"Uid:\t{uid}\t{uid}", status)
        for leaf in ("environ", "mem", "maps"):
            self.assertEqual(os.stat(f"/proc/{run.proc.pid}/{leaf}").st_uid, 0, leaf)
        self.assertEqual(run.stop(), 0, run.output())


class CleartextUrl(Case):
    def test_plain_http_to_another_machine_is_refused_unless_allowed(self):
        paths = self.config()
        with open(paths["config"]) as f:
            text = f.read()
        remote = text.replace(f"http://127.0.0.1:{self.sim.port}/api", "http://focus.example.com/api")
        with open(paths["config"], "w") as f:
            f.write(remote)
        p = subprocess.run([DAEMON, "--config", paths["config"], "--check-config"], capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
        self.assertIn("[upstream] base_url: 'http://focus.example.com/api' is plain http:// to a host that is not this "
                      "machine", p.stderr)
        self.assertIn("allow_insecure_http = true", p.stderr)
        with open(paths["config"], "w") as f:
            f.write(remote.replace("[upstream]\n", "[upstream]\nallow_insecure_http = true\n", 1))
        p = subprocess.run([DAEMON, "--config", paths["config"], "--check-config"], capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("is valid", p.stdout)


if __name__ == "__main__":
    unittest.main()
