"""HTTPS: focus-sim serves TLS with a certificate the test makes (a private CA
and a leaf for 127.0.0.1); a client trusting that CA gets answers, and one
trusting only the system store is refused at the handshake."""
import os
import ssl
import subprocess
import tempfile
import unittest

from simproc import SimProcess


def make_ca_and_cert(folder):
    def run(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)
    ca_key, ca_crt = os.path.join(folder, "ca.key"), os.path.join(folder, "ca.crt")
    key, csr, crt = (os.path.join(folder, n) for n in ("leaf.key", "leaf.csr", "leaf.crt"))
    ext = os.path.join(folder, "leaf.ext")
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out", ca_crt,
        "-days", "2", "-subj", "/CN=focussync test CA")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=127.0.0.1")
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    run("x509", "-req", "-in", csr, "-CA", ca_crt, "-CAkey", ca_key, "-CAcreateserial", "-out", crt,
        "-days", "2", "-extfile", ext)
    return ca_crt, crt, key


class Tls(unittest.TestCase):
    def test_https_with_a_private_ca(self):
        with tempfile.TemporaryDirectory() as d:
            ca, crt, key = make_ca_and_cert(d)
            trusted = ssl.create_default_context(cafile=ca)
            sim = SimProcess("--projects", "5", "--tls-cert", crt, "--tls-key", key, tls=trusted)
            try:
                r = sim.request("GET", sim.projects_path())
                self.assertEqual(r.status, 200)
                self.assertEqual(len(r.json()["data"]), r.json()["total"])
                conn = sim.connection(context=ssl.create_default_context())
                with self.assertRaises(ssl.SSLCertVerificationError):
                    conn.request("GET", sim.projects_path())
                conn.close()
                self.assertEqual(sim.request("GET", sim.projects_path()).status, 200, "still serving after a refused handshake")
            finally:
                self.assertEqual(sim.stop(), 0)


if __name__ == "__main__":
    unittest.main()
