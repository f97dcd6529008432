"""focussyncd as a service: both systemd units pass `systemd-analyze verify`;
readiness, STATUS, watchdog pings, reload and stop reach a notify socket the
way systemd would receive them; SIGHUP re-reads the configuration (a bad one
is refused and the old kept, fixed credentials bring a 401'd daemon back);
and the .debs built by CPack: focussync installs runnable binaries, the
units and the sysusers.d file that makes the focussync group (its postinst
runs systemd-sysusers), and not focus-sim, which has a package of its own."""
import glob
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "sim"))
from simproc import KEY, SimProcess  # noqa: E402
from test_socket import Daemon, notify_listener  # noqa: E402
from test_focussyncd import DAEMON  # noqa: E402

SOURCE = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("FOCUS_BUILD", os.path.join(SOURCE, "build"))


class Units(unittest.TestCase):
    def test_both_units_verify(self):
        if not shutil.which("systemd-analyze"):
            self.skipTest("systemd-analyze is not installed (scripts/install-deps installs it)")
        with tempfile.TemporaryDirectory() as d:
            for unit, scope in (("focussync.service", ["--user"]), ("focussync-system.service", [])):
                with open(os.path.join(SOURCE, "systemd", unit)) as f:
                    text = f.read().replace("/usr/bin/focussyncd", os.path.abspath(DAEMON))
                # Files the service makes are its user's alone; no core dump holds the key.
                self.assertIn("\nUMask=0077\n", text, unit)
                self.assertIn("\nLimitCORE=0\n", text, unit)
                path = os.path.join(d, unit)
                with open(path, "w") as f:
                    f.write(text)
                env = {**os.environ, "XDG_RUNTIME_DIR": d}
                p = subprocess.run(["systemd-analyze", *scope, "verify", path], capture_output=True, text=True, env=env,
                                   timeout=60)
                self.assertEqual(p.returncode, 0, f"{unit}: {p.stdout}{p.stderr}")
                self.assertNotIn(unit, p.stderr, f"{unit} has warnings: {p.stderr}")


class Notify(unittest.TestCase):
    def test_ready_status_watchdog_reload_and_stop_reach_systemd(self):
        sim = SimProcess("--projects", "25", "--api-key", KEY)
        with tempfile.TemporaryDirectory() as d:
            listener, env = notify_listener(d, timeout=20)
            daemon = Daemon(sim, env=env)
            try:
                messages = []

                def until(word):
                    while True:
                        m = listener.recv(4096).decode()
                        messages.append(m)
                        if word in m:
                            return m

                ready = until("READY=1")
                self.assertIn("STATUS=", ready)
                until("WATCHDOG=1")
                until("WATCHDOG=1")  # pinged again: the loop is alive
                status = until("STATUS=synced 25 projects")
                self.assertIn("edits pending", status)
                daemon.proc.send_signal(signal.SIGHUP)
                until("RELOADING=1")
                until("READY=1")
                daemon.proc.send_signal(signal.SIGTERM)
                until("STOPPING=1")
                self.assertEqual(daemon.proc.wait(timeout=20), 0)
            finally:
                daemon.stop()
                sim.stop()
                listener.close()


class Reload(unittest.TestCase):
    def test_a_bad_config_is_refused_and_fixed_credentials_are_taken(self):
        sim = SimProcess("--projects", "10", "--api-key", KEY)
        d = Daemon(sim)
        try:
            d.wait_synced()
            key_file = os.path.join(d.dir.name, "key")
            # A broken configuration: refused, the daemon keeps serving with the old one.
            with open(d.config) as f:
                good = f.read()
            with open(d.config, "w") as f:
                f.write(good + "\nbogus_key = 1\n")
            d.proc.send_signal(signal.SIGHUP)
            deadline = time.monotonic() + 10
            while "reload refused" not in d.output() and time.monotonic() < deadline:
                time.sleep(0.05)
            self.assertIn("reload refused", d.output())
            self.assertEqual(d.get("/v1/status").status, 200)
            # A revoked key: the upstream says 401 and syncing stops...
            with open(d.config, "w") as f:
                f.write(good)
            with open(key_file, "w") as f:
                f.write("toggl_sk_revoked\n")
            d.proc.send_signal(signal.SIGHUP)
            deadline = time.monotonic() + 15
            while d.get("/v1/status").json()["upstream"] != "unauthorized" and time.monotonic() < deadline:
                d.request("POST", "/v1/sync?wait=1")
            self.assertEqual(d.get("/v1/status").json()["upstream"], "unauthorized")
            # ...until a reload with the right key brings it back, without a restart.
            with open(key_file, "w") as f:
                f.write(KEY + "\n")
            d.proc.send_signal(signal.SIGHUP)
            deadline = time.monotonic() + 15
            while d.get("/v1/status").json()["upstream"] != "ok" and time.monotonic() < deadline:
                time.sleep(0.1)
            self.assertEqual(d.get("/v1/status").json()["upstream"], "ok")
            self.assertNotIn("toggl_sk_revoked", d.output())
            self.assertNotIn(KEY, d.output())
        finally:
            self.assertEqual(d.stop(), 0)
            sim.stop()


    def test_a_reload_names_what_needs_a_restart_and_keeps_the_command_lines_log_level(self):
        sim = SimProcess("--projects", "10", "--api-key", KEY)
        d = Daemon(sim, args=("--log-level", "warn"))
        try:
            d.wait_synced()
            with open(d.config, "a") as f:
                f.write('\n[sql]\nmax_rows = 5\n')
            d.proc.send_signal(signal.SIGHUP)
            note = "reload: [sql] changed: restart focussyncd to use it"
            deadline = time.monotonic() + 10
            while note not in d.output() and time.monotonic() < deadline:
                time.sleep(0.05)
            self.assertIn(note, d.output())
            self.assertEqual(d.get("/v1/sql/schema").json()["limits"]["max_rows"], 10000)  # as the note says
            # "reloaded ..." is an info line: --log-level warn outranks the file's level.
            self.assertEqual(d.get("/v1/status").status, 200)
            self.assertNotIn("reloaded", d.output())
        finally:
            self.assertEqual(d.stop(), 0)
            sim.stop()


class Package(unittest.TestCase):
    def test_the_debs_install_the_product_and_keep_the_simulator_apart(self):
        if not shutil.which("cpack") or not shutil.which("dpkg-deb"):
            self.skipTest("cpack and dpkg-deb are needed")
        with tempfile.TemporaryDirectory() as d:
            p = subprocess.run(["cpack", "-G", "DEB", "-B", d, "--config", os.path.join(BUILD, "CPackConfig.cmake")],
                               capture_output=True, text=True, timeout=600, cwd=BUILD)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            debs = glob.glob(os.path.join(d, "focussync_*.deb"))
            self.assertEqual(len(debs), 1, os.listdir(d))
            sims = glob.glob(os.path.join(d, "focussync-sim_*.deb"))
            self.assertEqual(len(sims), 1, os.listdir(d))
            info = subprocess.run(["dpkg-deb", "-f", debs[0], "Depends"], capture_output=True, text=True).stdout
            for lib in ("libsqlite3", "libssl3", "libsystemd0"):
                self.assertIn(lib, info)
            root = os.path.join(d, "root")
            subprocess.run(["dpkg-deb", "-x", debs[0], root], check=True)
            for f in ("usr/bin/focussyncd", "usr/bin/focusctl", "usr/lib/systemd/user/focussync.service",
                      "usr/lib/systemd/system/focussync-system.service", "usr/share/doc/focussync/focussync.toml",
                      "usr/lib/sysusers.d/focussync.conf", "usr/lib/systemd/user/focussync-report.service",
                      "usr/lib/systemd/user/focussync-report.timer", "usr/libexec/focussync/focussync-report"):
                self.assertTrue(os.path.exists(os.path.join(root, f)), f)
            self.assertTrue(os.access(os.path.join(root, "usr/libexec/focussync/focussync-report"), os.X_OK))
            # The production package holds no simulator, anywhere.
            listing = subprocess.run(["dpkg-deb", "-c", debs[0]], capture_output=True, text=True, check=True).stdout
            self.assertNotIn("focus-sim", listing)
            self.assertEqual(sorted(os.listdir(os.path.join(root, "usr/bin"))), ["focusctl", "focussyncd"])
            # focussync-sim holds just the simulator, and says what it is.
            sim_listing = subprocess.run(["dpkg-deb", "-c", sims[0]], capture_output=True, text=True, check=True).stdout
            files = [line.split()[-1] for line in sim_listing.splitlines() if not line.startswith("d")]
            self.assertEqual(files, ["./usr/bin/focus-sim"])
            described = subprocess.run(["dpkg-deb", "-f", sims[0], "Description"], capture_output=True, text=True).stdout
            self.assertIn("not needed to run focussync", described)
            # The sysusers.d file makes the group (as systemd-sysusers does at
            # install and boot), and the postinst runs it at install.
            if shutil.which("systemd-sysusers"):
                os.makedirs(os.path.join(root, "etc"), exist_ok=True)
                made = subprocess.run(["systemd-sysusers", f"--root={root}", "focussync.conf"], capture_output=True,
                                      text=True, timeout=30)
                self.assertEqual(made.returncode, 0, made.stderr)
                with open(os.path.join(root, "etc", "group")) as f:
                    self.assertRegex(f.read(), r"(?m)^focussync:x:\d+:$")
            control = os.path.join(d, "control")
            subprocess.run(["dpkg-deb", "-e", debs[0], control], check=True)
            postinst = os.path.join(control, "postinst")
            self.assertTrue(os.access(postinst, os.X_OK))
            with open(postinst) as f:
                self.assertIn("systemd-sysusers ${DPKG_ROOT:+--root=\"$DPKG_ROOT\"} focussync.conf", f.read())
            self.assertEqual(subprocess.run(["sh", "-n", postinst]).returncode, 0)
            # The packaged example, its key taken from the environment (--check-config reads the key).
            with open(os.path.join(root, "usr/share/doc/focussync/focussync.toml")) as f:
                example = f.read()
            tried = os.path.join(d, "example.toml")
            with open(tried, "w") as f:
                f.write(example.replace('api_key_file = "/home/me/.config/focussync/api-key"', 'api_key_env = "FOCUS_TRY_KEY"'))
            check = subprocess.run([os.path.join(root, "usr/bin/focussyncd"), "--config", tried, "--check-config"],
                                   capture_output=True, text=True, timeout=30,
                                   env={**os.environ, "FOCUS_TRY_KEY": "toggl_sk_try", "XDG_DATA_HOME": d,
                                        "XDG_RUNTIME_DIR": d})
            self.assertEqual(check.returncode, 0, check.stderr)
            self.assertIn("is valid", check.stdout)
            helped = subprocess.run([os.path.join(root, "usr/bin/focusctl"), "--help"], capture_output=True, text=True)
            self.assertEqual(helped.returncode, 0)
            self.assertIn("report", helped.stdout)


if __name__ == "__main__":
    unittest.main()
