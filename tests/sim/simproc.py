"""Runs a real focus-sim process for a test and talks HTTP to it on loopback.

Each SimProcess owns one child process, started with the flags a test asks
for, on a free port learnt through --port-file, and stopped with SIGTERM
(whose clean exit is itself checked). Requests use http.client, one
connection each, with a timeout, so a hung simulator fails the test instead
of hanging it.
"""
import base64
import http.client
import json
import os
import signal
import ssl
import subprocess
import tempfile
import time

SIM = os.environ.get("FOCUS_SIM", "build/bin/focus-sim")
BASE = "/api/organizations/{org}/workspaces/{ws}/projects"
KEY = "toggl_sk_test_0123456789"


class Reply:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)

    def header(self, name):
        return self.headers.get(name.lower())


class SimProcess:
    def __init__(self, *args, tls=None):
        self.dir = tempfile.TemporaryDirectory(prefix="focus-sim-test-")
        port_file = os.path.join(self.dir.name, "port")
        level = [] if "--log-level" in args else ["--log-level", "warn"]
        argv = [SIM, "--port-file", port_file, *level, *args]
        self.tls = tls
        self.log = open(os.path.join(self.dir.name, "log"), "w+")
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while not os.path.exists(port_file):
            if self.proc.poll() is not None:
                output = self.output()
                self.stop()
                raise RuntimeError("focus-sim exited early: " + output)
            if time.monotonic() > deadline:
                self.proc.kill()
                self.stop()
                raise RuntimeError("focus-sim did not start within 30 s")
            time.sleep(0.02)
        with open(port_file) as f:
            self.port = int(f.read())

    def output(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def stop(self):
        """SIGTERM, then the exit code (0 for a clean shutdown)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise
        self.log.close()
        self.dir.cleanup()
        return self.proc.returncode

    def connection(self, timeout=15, context=None):
        if self.tls is not None:
            return http.client.HTTPSConnection("127.0.0.1", self.port, timeout=timeout,
                                               context=context or self.tls)
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def request(self, method, path, body=None, auth="bearer", headers=None, timeout=15, raw_body=None):
        """One request on a fresh connection. auth: "bearer", "basic:EMAIL:PW", a full
        header value, or None. Returns a Reply; network failures raise."""
        h = dict(headers or {})
        if auth == "bearer":
            h["Authorization"] = "Bearer " + KEY
        elif auth and auth.startswith("basic:"):
            h["Authorization"] = "Basic " + base64.b64encode(auth[6:].encode()).decode()
        elif auth:
            h["Authorization"] = auth
        data = raw_body
        if body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        conn = self.connection(timeout)
        try:
            conn.request(method, path, body=data, headers=h)
            resp = conn.getresponse()
            payload = resp.read()
            return Reply(resp.status, {k.lower(): v for k, v in resp.getheaders()}, payload)
        finally:
            conn.close()

    def control(self, method, what, body=None):
        reply = self.request(method, "/_sim/" + what, body=body, auth=None)
        if reply.status != 200:
            raise AssertionError(f"/_sim/{what}: {reply.status} {reply.body!r}")
        return reply.json()

    def state(self):
        return self.control("GET", "state")

    def projects_path(self, org=1, ws=1, rest=""):
        return BASE.format(org=org, ws=ws) + rest


def tls_context_for(ca_file):
    ctx = ssl.create_default_context(cafile=ca_file)
    return ctx
