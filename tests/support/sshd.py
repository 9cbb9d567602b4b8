"""The real OpenSSH server inside a disposable server, listening on its own loopback.

``start_sshd(server)`` runs ``/usr/sbin/sshd`` with fresh host keys and the
settings a lab server has (StrictModes on, keys only, PAM), logging VERBOSE
to a file that ``sshd_log(server)`` returns for assertion messages.
``ssh_login(server, user, key, command)`` logs in as ``user`` with a private
key, from inside the server, as root.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence

SSHD_DIR = "/run/dk-sshd"
LOG = f"{SSHD_DIR}/sshd.log"
CONFIG = f"{SSHD_DIR}/sshd_config"
HOST_KEY_TYPES = ("ed25519", "ecdsa", "rsa")
WAIT_FOR_PORT = """
import socket, sys, time
deadline = time.monotonic() + 15
while time.monotonic() < deadline:
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit(1)
"""


def _config(port: int) -> str:
    host_keys = "".join(f"HostKey {SSHD_DIR}/ssh_host_{t}_key\n" for t in HOST_KEY_TYPES)
    return (
        f"Port {port}\n"
        "ListenAddress 127.0.0.1\n"
        f"{host_keys}"
        f"PidFile {SSHD_DIR}/sshd.pid\n"
        "StrictModes yes\n"
        "PubkeyAuthentication yes\n"
        "AuthorizedKeysFile .ssh/authorized_keys\n"
        "PasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\n"
        "PermitRootLogin no\n"
        "UsePAM yes\n"
        "PrintMotd no\n"
        "LogLevel VERBOSE\n"
    )


def start_sshd(server, port: int = 22, extra: str = "") -> None:
    """Start sshd on 127.0.0.1:``port`` inside ``server`` and wait until it accepts;
    ``extra`` lines are added to its config (e.g. the image's ``AcceptEnv``)."""
    server.run(["mkdir", "-p", "-m", "0755", "/run/sshd"])
    server.run(["mkdir", "-p", "-m", "0700", SSHD_DIR])
    for kind in HOST_KEY_TYPES:
        key = f"{SSHD_DIR}/ssh_host_{kind}_key"
        server.run(["ssh-keygen", "-q", "-t", kind, "-N", "", "-C", "dk-sandbox", "-f", key])
    server.run(["sh", "-c", f"cat > {CONFIG}"], input=_config(port) + extra)
    server.run(["/usr/sbin/sshd", "-t", "-f", CONFIG])
    server.run(
        [
            "sh",
            "-c",
            f"/usr/sbin/sshd -D -f {CONFIG} -E {LOG} </dev/null >/dev/null 2>&1 &",
        ]
    )
    waited = server.run([sys.executable, "-I", "-c", WAIT_FOR_PORT, str(port)], check=False)
    assert waited.returncode == 0, f"sshd does not accept on port {port}:\n{sshd_log(server)}"


def ssh_login(
    server,
    user: str,
    key_path: str,
    command: str,
    *,
    port: int = 22,
    options: Sequence[str] = (),
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess:
    """Log in as ``user`` with the private key ``key_path`` (a path inside), run ``command``;
    ``options`` are more ``-o`` settings (``SendEnv=LANG``), ``env`` the client's
    environment beyond the sandbox's own."""
    argv = [
        "ssh",
        "-i",
        key_path,
        "-o",
        "BatchMode=yes",
        "-o",
        "IdentitiesOnly=yes",
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
        "-o",
        "LogLevel=ERROR",
        "-o",
        "ConnectTimeout=10",
        *(part for option in options for part in ("-o", option)),
        "-p",
        str(port),
        f"{user}@127.0.0.1",
        command,
    ]
    return server.run(argv, check=False, timeout=60, env=env)


def sshd_log(server) -> str:
    """What sshd logged so far (for assertion messages)."""
    path = server.path(LOG)
    return path.read_text(errors="replace") if path.exists() else "(no sshd log)"
