"""What a newcomer meets in the first ten minutes (issue 22), with real
processes: focussyncd --check-config reads the secret and judges the folders
without creating anything, and with --online spends exactly one request per
workspace (counted by focus-sim's /_sim/stats), answering 401 / 404 in words
and the quota left; the unreachable hint names a unit whose file exists;
focusctl's --socket / --format / --workspace after the command; focussyncd's
default configuration path (user and --system) and --print-example-config;
and focusctl setup, scripted and on a terminal, against a real focus-sim:
the key and configuration 0600, nothing written when a check fails, no
overwrite without --force, and the request count it reports."""
import json
import os
import pty
import re
import select
import socket
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "sim"))
from daemonconf import write_config  # noqa: E402
from simproc import KEY, SimProcess  # noqa: E402
from test_socket import SyncedDaemonCase  # noqa: E402

DAEMON = os.environ.get("FOCUS_DAEMON", "build/bin/focussyncd")
FOCUSCTL = os.environ.get("FOCUS_CTL", "build/bin/focusctl")
SOURCE = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
QUOTA = 100


def run(argv, env=None, stdin=None, timeout=30):
    return subprocess.run(argv, capture_output=True, text=True, input=stdin, timeout=timeout,
                          env={**os.environ, **(env or {})})


def mode(path):
    return os.stat(path).st_mode & 0o777


class WithSim(unittest.TestCase):
    """One focus-sim with a quota (so answers carry X-Toggl-Quota-Remaining)
    and two workspaces; each test starts with its request count at zero."""

    @classmethod
    def setUpClass(cls):
        cls.sim = SimProcess("--projects", "7", "--workspaces", "1:1,1:2", "--api-key", KEY, "--quota", str(QUOTA),
                             "--quota-window", "3600")

    @classmethod
    def tearDownClass(cls):
        cls.sim.stop()

    def setUp(self):
        self.dir = tempfile.TemporaryDirectory(prefix="focus-newcomer-")
        self.home = os.path.join(self.dir.name, "home")
        os.mkdir(self.home, 0o700)
        # A user with nothing set up yet: every default lands in this home.
        self.env = {"HOME": self.home, "XDG_CONFIG_HOME": "", "XDG_DATA_HOME": "",
                    "XDG_RUNTIME_DIR": os.path.join(self.dir.name, "run")}
        self.sim.control("DELETE", "stats")

    def tearDown(self):
        self.dir.cleanup()

    def requests(self):
        return self.sim.control("GET", "stats")["requests"]

    @property
    def base_url(self):
        return f"http://127.0.0.1:{self.sim.port}/api"


class CheckConfig(WithSim):
    def config(self, **kw):
        folder = os.path.join(self.dir.name, "conf")
        os.makedirs(folder, 0o700, exist_ok=True)
        paths = write_config(folder, self.sim.port, KEY, **kw)
        return paths

    def check(self, config, *extra):
        return run([DAEMON, "--config", config, "--check-config", *extra], env=self.env)

    def test_a_config_that_cannot_work_exits_2_with_every_reason(self):
        paths = self.config(socket_path=os.path.join(self.dir.name, "open", "s.sock"), extra='[log]\nlevel = "loud"\n')
        with open(paths["config"]) as f:
            text = f.read()
        with open(paths["config"], "w") as f:
            f.write(text.replace(f'api_key_file = "{paths["key"]}"', 'api_key_file = "/nonexistent/key"'))
        os.mkdir(os.path.join(self.dir.name, "open"))
        os.chmod(os.path.join(self.dir.name, "open"), 0o777)
        p = self.check(paths["config"])
        self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
        self.assertNotIn("is valid", p.stdout)
        self.assertIn("cannot work", p.stderr)
        self.assertIn("cannot read secret file '/nonexistent/key'", p.stderr)
        self.assertIn("the socket folder '" + os.path.join(self.dir.name, "open") + "' is writable by group or others",
                      p.stderr)
        self.assertIn("unknown log level 'loud'", p.stderr)
        self.assertEqual(self.requests(), 0)

    def test_a_key_file_others_can_read_is_refused_with_the_fix(self):
        paths = self.config()
        os.chmod(paths["key"], 0o644)
        p = self.check(paths["config"])
        self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
        self.assertIn(f"chmod 600 {paths['key']}", p.stderr)
        self.assertNotIn(KEY, p.stdout + p.stderr)

    @unittest.skipUnless(os.geteuid() == 0, "needs root to give a folder to another user")
    def test_a_cache_folder_of_another_user_is_refused(self):
        shared = os.path.join(self.dir.name, "theirs")
        os.mkdir(shared, 0o700)
        os.chown(shared, 65534, 65534)
        paths = self.config(extra="")
        with open(paths["config"]) as f:
            text = f.read()
        with open(paths["config"], "w") as f:
            f.write(text.replace(paths["cache"], os.path.join(shared, "cache.db")))
        p = self.check(paths["config"])
        self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
        self.assertIn(f"the cache folder '{shared}' belongs to", p.stderr)

    def test_a_good_config_says_what_it_will_do_and_creates_nothing(self):
        paths = self.config(socket_path=os.path.join(self.dir.name, "new", "run", "focussync.sock"))
        cache = os.path.join(self.dir.name, "new", "data", "cache.db")
        with open(paths["config"]) as f:
            text = f.read()
        with open(paths["config"], "w") as f:
            f.write(text.replace(paths["cache"], cache))
        p = self.check(paths["config"])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout.strip(),
                         f"focussyncd: {paths['config']} is valid: will sync 1 workspace (1/1) from {self.base_url} "
                         f"using the API key from file {paths['key']}, cache at {cache}, "
                         f"socket at {os.path.join(self.dir.name, 'new', 'run', 'focussync.sock')}")
        self.assertNotIn(KEY, p.stdout + p.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.dir.name, "new")), "a check must create nothing")
        self.assertEqual(self.requests(), 0, "a check without --online sends nothing")

    def test_online_spends_one_request_per_workspace_and_reports_the_quota(self):
        paths = self.config(extra="[[workspaces]]\norganization_id = 1\nworkspace_id = 2\n")
        p = self.check(paths["config"], "--online")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("workspace 1/1: ok (7 active projects)", p.stdout)
        self.assertIn("workspace 1/2: ok", p.stdout)
        self.assertEqual(self.requests(), 2)
        self.assertIn("spent 2 requests of the quota", p.stdout)
        left = int(re.search(r"quota left: (\d+) for organization 1", p.stdout).group(1))
        self.assertEqual(left, QUOTA - self.sim_spent())
        self.assertNotIn(KEY, p.stdout + p.stderr)

    def sim_spent(self):
        # What the simulator's quota book has counted for organization 1 so far.
        return sum(w["used"] for w in self.sim.control("GET", "quota")["windows"] if w["organization_id"] == 1)

    def test_online_with_nobody_listening_says_it_spent_nothing(self):
        with socket.socket() as s:  # a port that was free a moment ago: nothing listens there
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        folder = os.path.join(self.dir.name, "conf")
        os.makedirs(folder, 0o700, exist_ok=True)
        paths = write_config(folder, port, KEY)
        p = self.check(paths["config"], "--online")
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("spent 0 requests of the quota", p.stdout)

    def test_online_answers_404_and_401_in_words(self):
        paths = self.config(extra="[[workspaces]]\norganization_id = 1\nworkspace_id = 999\n")
        p = self.check(paths["config"], "--online")
        self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
        self.assertIn("workspace 1/1: ok", p.stdout)
        self.assertIn("workspace 1/999: organization 1 has no workspace 999 this key can see (404 Not Found)", p.stdout)
        self.assertEqual(self.requests(), 2)
        with open(paths["key"], "w") as f:
            f.write("toggl_sk_wrong_key_42\n")
        p = self.check(paths["config"], "--online")
        self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
        self.assertIn("the API key was refused (401 Unauthorized)", p.stdout)
        self.assertNotIn("toggl_sk_wrong_key_42", p.stdout + p.stderr)
        self.assertEqual(run([DAEMON, "--online"], env=self.env).returncode, 2, "--online needs --check-config")


class DefaultConfig(WithSim):
    def test_with_no_config_it_says_where_it_looked_and_how_to_make_one(self):
        p = run([DAEMON, "--check-config"], env=self.env)
        self.assertEqual(p.returncode, 2)
        expected = os.path.join(self.home, ".config", "focussync", "focussync.toml")
        self.assertIn(f"looked for {expected}", p.stderr)
        self.assertIn(f"focussyncd --print-example-config > {expected}", p.stderr)
        self.assertIn("focusctl setup", p.stderr)
        xdg = os.path.join(self.dir.name, "xdg")
        p = run([DAEMON], env={**self.env, "XDG_CONFIG_HOME": xdg})
        self.assertEqual(p.returncode, 2)
        self.assertIn(f"looked for {xdg}/focussync/focussync.toml", p.stderr)
        if not os.path.exists("/etc/focussync/focussync.toml"):
            p = run([DAEMON, "--system"], env=self.env)
            self.assertEqual(p.returncode, 2)
            self.assertIn("looked for /etc/focussync/focussync.toml", p.stderr)

    def test_the_default_file_is_used_and_the_example_is_the_annotated_one(self):
        example = run([DAEMON, "--print-example-config"])
        self.assertEqual(example.returncode, 0)
        with open(os.path.join(SOURCE, "config", "focussync.toml")) as f:
            self.assertEqual(example.stdout, f.read())
        folder = os.path.join(self.home, ".config", "focussync")
        os.makedirs(folder, 0o700)
        with open(os.open(os.path.join(folder, "api-key"), os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
            f.write(KEY + "\n")
        # The example, with this key and the simulator's workspace: it works as it is.
        text = example.stdout.replace('"/home/me/.config/focussync/api-key"', json.dumps(os.path.join(folder, "api-key")))
        text = text.replace('base_url = "https://focus.toggl.com/api"', f'base_url = "{self.base_url}"')
        text = text.replace("workspace_id = 10", "workspace_id = 1")
        with open(os.path.join(folder, "focussync.toml"), "w") as f:
            f.write(text)
        p = run([DAEMON, "--check-config"], env=self.env)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(f"focussyncd: {folder}/focussync.toml is valid", p.stdout)
        self.assertIn(f"cache at {self.home}/.local/share/focussync/cache.db", p.stdout)
        once = run([DAEMON, "--once", "--log-level", "warn"], env=self.env, timeout=60)
        self.assertEqual(once.returncode, 0, once.stderr)
        self.assertEqual(json.loads(once.stdout)["workspaces"][0]["projects"], 7)

    def test_the_units_start_it_without_config(self):
        for unit, line in (("focussync.service", "ExecStart=/usr/bin/focussyncd\n"),
                           ("focussync-system.service", "ExecStart=/usr/bin/focussyncd --system\n")):
            with open(os.path.join(SOURCE, "systemd", unit)) as f:
                self.assertIn("\n" + line, f.read(), unit)


class UnitHint(unittest.TestCase):
    def test_the_hint_names_a_unit_that_exists(self):
        p = run([FOCUSCTL, "--socket", "/nonexistent/focussync.sock", "status"])
        self.assertEqual(p.returncode, 3)
        started = re.search(r"`systemctl --user start ([\w.-]+)`", p.stderr)
        self.assertIsNotNone(started, p.stderr)
        unit = started.group(1)
        self.assertTrue(os.path.exists(os.path.join(SOURCE, "systemd", unit + ".service")), unit)
        self.assertNotIn("focussyncd.service", p.stderr)


class OptionsAnywhere(SyncedDaemonCase):
    SIM_ARGS = ("--projects", "12", "--seed", "5")

    def test_socket_format_and_workspace_after_the_command(self):
        env = {"FOCUSSYNC_SOCKET": "/nonexistent/default.sock"}  # the default would fail: --socket must be used
        p = run([FOCUSCTL, "projects", "list", "--socket", self.d.socket], env=env)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout.split()[:2], ["id", "name"], p.stdout)
        p = run([FOCUSCTL, "projects", "list", "--limit", "3", "--socket", self.d.socket, "--format", "json",
                 "--workspace", "1/1"], env=env)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(len(json.loads(p.stdout)), 3)
        p = run([FOCUSCTL, "--format", "csv", "status", "--socket", self.d.socket], env=env)
        self.assertEqual(p.returncode, 0, p.stderr)
        p = run([FOCUSCTL, "projects", "list", "--socket", self.d.socket, "--workspace", "1/77"], env=env)
        self.assertEqual(p.returncode, 1, "--workspace after the command is the one used")
        p = run([FOCUSCTL, "projects", "list", "--socket", "/nonexistent/later.sock"])
        self.assertEqual(p.returncode, 3)
        self.assertIn("/nonexistent/later.sock", p.stderr)
        p = run([FOCUSCTL, "projects", "list", "--format", "yaml", "--socket", self.d.socket])
        self.assertEqual(p.returncode, 2)


class Setup(WithSim):
    def setup(self, *args, stdin=KEY + "\n", env=None):
        return run([FOCUSCTL, "setup", "--base-url", self.base_url, *args], stdin=stdin, env={**self.env, **(env or {})})

    def test_scripted_setup_writes_a_working_private_config_and_counts_its_requests(self):
        config = os.path.join(self.dir.name, "cfg", "focussync.toml")
        p = self.setup("--workspace", "1/1", "--workspace", "1/2", "--config", config)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(self.requests(), 2, "one request per workspace")
        self.assertIn("spent 2 requests of the quota", p.stdout)
        left = int(re.search(r"quota left: (\d+) for organization 1", p.stdout).group(1))
        used = sum(w["used"] for w in self.sim.control("GET", "quota")["windows"] if w["organization_id"] == 1)
        self.assertEqual(left, QUOTA - used)
        self.assertNotIn(KEY, p.stdout + p.stderr)
        key = os.path.join(self.dir.name, "cfg", "api-key")
        self.assertEqual((mode(key), mode(config), mode(os.path.dirname(config))), (0o600, 0o600, 0o700))
        with open(key) as f:
            self.assertEqual(f.read(), KEY + "\n")
        # Not the default place: it says how to start focussyncd on it.
        self.assertIn(f"focussyncd --config {config}", p.stdout)
        check = run([DAEMON, "--config", config, "--check-config"], env=self.env)
        self.assertEqual(check.returncode, 0, check.stderr)
        self.assertIn("will sync 2 workspaces (1/1, 1/2)", check.stdout)
        # No overwrite without --force; the file is left as it was.
        with open(config) as f:
            before = f.read()
        again = self.setup("--workspace", "1/1", "--config", config)
        self.assertEqual(again.returncode, 1)
        self.assertIn("exists already", again.stderr)
        with open(config) as f:
            self.assertEqual(f.read(), before)
        forced = self.setup("--workspace", "1/1", "--config", config, "--force")
        self.assertEqual(forced.returncode, 0, forced.stderr)
        self.assertEqual(mode(config), 0o600)
        self.assertIn("will sync 1 workspace (1/1)", run([DAEMON, "--config", config, "--check-config"], env=self.env).stdout)

    def test_the_default_place_and_the_systemctl_line(self):
        p = self.setup("--workspace", "1/1")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        written = os.path.join(self.home, ".config", "focussync", "focussync.toml")
        self.assertIn(f"wrote the configuration to {written}", p.stdout)
        unit = re.search(r"systemctl --user enable --now ([\w.-]+)", p.stdout).group(1)
        self.assertTrue(os.path.exists(os.path.join(SOURCE, "systemd", unit + ".service")))
        # focussyncd finds it without --config.
        check = run([DAEMON, "--check-config"], env=self.env)
        self.assertEqual(check.returncode, 0, check.stderr)
        self.assertIn(written, check.stdout)

    def test_a_failed_check_writes_nothing(self):
        config = os.path.join(self.dir.name, "cfg", "focussync.toml")
        p = self.setup("--workspace", "1/1", "--workspace", "3/4", "--config", config)
        self.assertEqual(p.returncode, 1)
        self.assertIn("workspace 3/4: organization 3 has no workspace 4 this key can see (404 Not Found)", p.stdout)
        self.assertIn("spent 2 requests", p.stdout)
        self.assertEqual(self.requests(), 2)
        self.assertIn("wrote nothing", p.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.dir.name, "cfg")))
        p = self.setup("--workspace", "1/1", "--config", config, stdin="toggl_sk_not_this_one\n")
        self.assertEqual(p.returncode, 1)
        self.assertIn("the API key was refused (401 Unauthorized)", p.stdout)
        self.assertNotIn("toggl_sk_not_this_one", p.stdout + p.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.dir.name, "cfg")))
        # Usage errors: exit 2, as focusctl's other usage errors.
        p = self.setup("--config", config)
        self.assertEqual(p.returncode, 2)
        self.assertIn("--workspace ORG/WS", p.stderr)
        p = self.setup("--workspace", "1-1", "--config", config)
        self.assertEqual(p.returncode, 2)
        self.assertIn("is not ORG/WS", p.stderr)

    def test_a_key_file_is_used_where_it_is_if_private(self):
        key = os.path.join(self.dir.name, "my-key")
        with open(key, "w") as f:
            f.write(KEY + "\n")
        os.chmod(key, 0o644)
        config = os.path.join(self.dir.name, "cfg", "focussync.toml")
        p = self.setup("--workspace", "1/1", "--config", config, "--key-file", key, stdin="")
        self.assertEqual(p.returncode, 1)
        self.assertIn(f"chmod 600 {key}", p.stderr)
        self.assertEqual(self.requests(), 0, "refused before anything is sent")
        os.chmod(key, 0o600)
        p = self.setup("--workspace", "1/1", "--config", config, "--key-file", key, stdin="")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.dir.name, "cfg", "api-key")))
        with open(config) as f:
            self.assertIn(f'api_key_file = "{key}"', f.read())

    def test_on_a_terminal_it_asks_for_the_key_without_echoing_it(self):
        config = os.path.join(self.dir.name, "cfg", "focussync.toml")
        master, slave = pty.openpty()
        proc = subprocess.Popen([FOCUSCTL, "setup", "--base-url", self.base_url, "--config", config],
                                stdin=slave, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env={**os.environ, **self.env})
        os.close(slave)
        echoed = b""
        try:
            self.wait_for(proc.stderr, b"workspace: ")
            os.write(master, b"1/1\n")
            self.wait_for(proc.stderr, b"workspace: ")
            os.write(master, b"\n")
            self.wait_for(proc.stderr, b"API key: ")
            os.write(master, KEY.encode() + b"\n")
            out, err = proc.communicate(timeout=30)
            while select.select([master], [], [], 0.2)[0]:
                try:
                    chunk = os.read(master, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                echoed += chunk
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            os.close(master)
        self.assertEqual(proc.returncode, 0, out.decode() + err.decode())
        self.assertIn(b"1/1", echoed, "the workspace typed is echoed")
        self.assertNotIn(KEY.encode(), echoed + out + err, "the key is not")
        with open(os.path.join(self.dir.name, "cfg", "api-key")) as f:
            self.assertEqual(f.read(), KEY + "\n")

    def wait_for(self, stream, text, timeout=20):
        seen = b""
        deadline = time.monotonic() + timeout
        while not seen.endswith(text):
            left = deadline - time.monotonic()
            self.assertGreater(left, 0, f"no {text!r} prompt; saw {seen!r}")
            if select.select([stream], [], [], left)[0]:
                chunk = os.read(stream.fileno(), 1)
                self.assertTrue(chunk, f"focusctl closed stderr before {text!r}; saw {seen!r}")
                seen += chunk


if __name__ == "__main__":
    unittest.main()
