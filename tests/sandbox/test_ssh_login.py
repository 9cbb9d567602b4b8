"""Keys written by ``AuthorizedKeys`` let a user log in through the real sshd (StrictModes on)."""

from __future__ import annotations

import json
import os
import stat
import sys

import pytest

from tests.support.sandbox import PROJECT_ROOT
from tests.support.sshd import ssh_login, sshd_log, start_sshd

pytestmark = pytest.mark.sandbox

HOME = "/data/users/u"
KEYS = "/data/users/u/.ssh/authorized_keys"


def keys(server, mode: str, *args: str, stdin: str | None = None, code: int = 0) -> dict:
    """Run the keys driver inside the server; assert its exit code."""
    argv = [sys.executable, "-m", "tests.support.keys_driver", mode, *args]
    result = server.run(argv, input=stdin, env={"PYTHONPATH": str(PROJECT_ROOT)}, check=False)
    assert result.returncode == code, result.stdout + result.stderr
    return json.loads(result.stdout)


def converge(server, *public_keys: str, mode: str = "apply", code: int = 0) -> dict:
    return keys(server, mode, "/home/u", "u", "u", stdin="\n".join(public_keys), code=code)


def generate(server, kind: str = "ed25519") -> dict:
    return keys(server, "generate", kind, "u@dk-sandbox", "/root", "/root/keys", "u")


def side_key(server, name: str) -> tuple[str, str]:
    """A key pair made with ssh-keygen outside datakeeper: (private path, public text)."""
    path = f"/root/{name}"
    server.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", path])
    return path, server.run(["cat", f"{path}.pub"]).stdout


def login(server, key: str, command: str = "pwd -P; id -un"):
    return ssh_login(server, "u", key, command)


def assert_logs_in(server, key: str) -> None:
    result = login(server, key)
    assert result.returncode == 0, f"{result.stderr}\n--- sshd log ---\n{sshd_log(server)}"
    assert result.stdout.split() == [HOME, "u"]


def mode_owner(server, path: str) -> tuple[int, int]:
    info = os.lstat(server.path(path))
    return stat.S_IMODE(info.st_mode), info.st_uid


@pytest.fixture
def lab(server):
    """User ``u`` whose /home/u links to /data/users/u (shared group, setgid), sshd running."""
    server.run(["groupadd", "gpu-users"])
    server.run(["install", "-d", "-o", "root", "-g", "gpu-users", "-m", "3775", "/data/users"])
    server.run(["useradd", "-M", "-d", "/home/u", "-s", "/bin/bash", "-G", "gpu-users", "u"])
    server.run(["useradd", "-M", "-G", "gpu-users", "v"])  # the group has other members
    server.run(["mkdir", HOME])  # inherits the shared group from the setgid parent
    server.run(["chown", "u", HOME])
    server.run(["chmod", "2750", HOME])
    server.run(["ln", "-s", HOME, "/home/u"])
    start_sshd(server)
    return server


def test_generated_key_logs_in_through_the_symlinked_home(lab):
    key = generate(lab)
    assert mode_owner(lab, key["private_key"]) == (0o600, 0)
    assert mode_owner(lab, "/root/keys") == (0o700, 0)
    assert key["private_key"] == "/root/keys/u_ed25519"
    outcome = converge(lab, key["public_key"])
    assert len(outcome["applied"]) == 2, outcome  # .ssh, authorized_keys
    uid = int(lab.run(["id", "-u", "u"]).stdout)
    assert mode_owner(lab, f"{HOME}/.ssh") == (0o700, uid)
    assert mode_owner(lab, KEYS) == (0o600, uid)
    assert_logs_in(lab, key["private_key"])
    assert converge(lab, key["public_key"], mode="plan") == {"planned": []}


def test_group_writable_home_is_denied_until_reconverged(lab):
    key = generate(lab)
    converge(lab, key["public_key"])
    lab.run(["chmod", "2775", HOME])  # a member's umask 002 at work
    denied = login(lab, key["private_key"])
    assert denied.returncode == 255, denied.stdout
    assert f"bad ownership or modes for directory {HOME}" in sshd_log(lab)
    planned = converge(lab, key["public_key"], mode="plan")["planned"]
    assert [c["change"] for c in planned] == [
        f"make {HOME} not group- or other-writable (2775 -> 2755): OpenSSH's StrictModes "
        "refuses key logins to a home that others can write"
    ]
    converge(lab, key["public_key"])
    assert mode_owner(lab, HOME)[0] == 0o2755
    assert_logs_in(lab, key["private_key"])


def test_pasted_public_key_logs_in(lab):
    private, public = side_key(lab, "laptop")
    converge(lab, f"# alice's laptop\n\n{public}\n{public}")
    assert lab.run(["cat", KEYS]).stdout == public
    assert_logs_in(lab, private)


def test_a_key_the_user_added_survives_reconverging(lab):
    admin = generate(lab)
    converge(lab, admin["public_key"])
    own_private, own_public = side_key(lab, "own")
    lab.run(["sh", "-c", f"cat >> {KEYS}"], user="u", input=f"no-pty {own_public}")
    second = generate(lab, "ecdsa")
    assert second["private_key"] == "/root/keys/u_ecdsa"
    converge(lab, admin["public_key"], second["public_key"])
    lines = lab.run(["cat", KEYS]).stdout.splitlines()
    assert lines == [admin["public_key"], f"no-pty {own_public.strip()}", second["public_key"]]
    for private in (admin["private_key"], own_private, second["private_key"]):
        assert_logs_in(lab, private)


def test_removed_key_no_longer_logs_in(lab):
    first, second = generate(lab), generate(lab)
    assert second["private_key"].startswith("/root/keys/u_ed25519_")
    converge(lab, first["public_key"], second["public_key"])
    outcome = keys(lab, "remove", "/home/u", "u", "u", first["fp"])
    assert [c["change"] for c in outcome["applied"]] == [
        f"remove 1 SSH key from {KEYS}: {first['fp']}"
    ]
    assert login(lab, first["private_key"]).returncode == 255
    assert_logs_in(lab, second["private_key"])


@pytest.mark.parametrize(
    ("plant", "message"),
    [
        (f"ln -s /root/.ssh {HOME}/.ssh", f"{HOME}/.ssh is a symlink or not a directory"),
        (
            f"install -d -o u -m 700 {HOME}/.ssh && ln -s /etc/shadow {KEYS}",
            f"{KEYS} is a symlink or not a regular file",
        ),
        (f"mv {HOME} /data/users/u.old && ln -s /etc {HOME}", "/etc belongs to uid 0, not to u"),
    ],
)
def test_planted_symlinks_are_refused_and_their_targets_untouched(lab, plant, message):
    lab.run(["mkdir", "-p", "-m", "700", "/root/.ssh"])
    lab.run(["sh", "-c", plant], user="u" if "mv" not in plant else None)
    before = {p: mode_owner(lab, p) for p in ("/etc", "/etc/shadow", "/root/.ssh")}
    shadow = lab.run(["cat", "/etc/shadow"]).stdout
    _private, public = side_key(lab, "k")
    outcome = converge(lab, public, code=3)
    assert outcome["type"] == "ConflictError"
    assert message in outcome["error"]
    assert {p: mode_owner(lab, p) for p in before} == before
    assert lab.run(["cat", "/etc/shadow"]).stdout == shadow
    assert lab.run(["ls", "-A", "/root/.ssh"]).stdout == ""
