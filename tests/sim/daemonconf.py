"""focussyncd pointed at a focus-sim, for tests, the torture harness and the
benchmarks: one writer of the key file and the TOML configuration (workspace
1/1 of the simulator, a cache and a socket in the given folder), and an
http.client connection over the Unix socket. Each caller adds only the
settings it is about."""
import http.client
import os
import socket


def write_config(folder, sim_port, key, *, upstream="", sync=None, socket_path=None, socket_extra="", extra="",
                 cache_path=None):
    """Writes `folder`/key and `folder`/focussync.toml. `upstream` and
    `socket_extra` are lines for those tables; `sync`, when given, the lines
    of a [sync] table; `extra`, whole tables appended. Answers a dict of the
    paths: config, key, cache, socket."""
    paths = {"config": os.path.join(folder, "focussync.toml"), "key": os.path.join(folder, "key"),
             "cache": cache_path or os.path.join(folder, "cache.db"),
             "socket": socket_path or os.path.join(folder, "focussync.sock")}
    # 0600 whatever the umask: focussyncd refuses a key file others can read.
    with open(os.open(paths["key"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
        os.fchmod(f.fileno(), 0o600)
        f.write(key + "\n")
    sync_table = "" if sync is None else f"[sync]\n{sync}\n"
    with open(paths["config"], "w") as f:
        f.write(f"""[upstream]
base_url = "http://127.0.0.1:{sim_port}/api"
api_key_file = "{paths['key']}"
{upstream}
[[workspaces]]
organization_id = 1
workspace_id = 1
{sync_table}[cache]
path = "{paths['cache']}"
[socket]
path = "{paths['socket']}"
{socket_extra}
{extra}""")
    return paths


class UnixConnection(http.client.HTTPConnection):
    """HTTP over focussyncd's Unix socket."""

    def __init__(self, path, timeout=30):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.unix_path)
