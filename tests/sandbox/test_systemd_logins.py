"""Under the real systemd: member logins are refused while recovery runs (root gets in),
the hook path (rc.local in the image) arms the shutdown password sync, and a recovery
that fails for one user brings the others back and lifts the block."""

from __future__ import annotations

import json
import time

import pytest

from tests.support.server_fixtures import SYSTEMD_MEMBERS
from tests.support.sshd import ssh_login

pytestmark = [pytest.mark.sandbox, pytest.mark.systemd]

SERVICE = "datakeeper-recovery.service"
NOLOGIN = "/run/nologin"
FAILED = "/run/datakeeper/recovery-failed"
MEMBER = "user03"


def _passwd(server) -> list[str]:
    lines = server.run(["getent", "passwd"]).stdout.splitlines()
    return sorted(line for line in lines if line.split(":")[0] in SYSTEMD_MEMBERS)


def _hash(server, name: str) -> str:
    return server.run(["getent", "shadow", name]).stdout.split(":")[1]


def _register(server, names: list[str]) -> None:
    """Record the fixture's members (made with useradd) so recovery brings them back."""
    loop = 'for name in "$@"; do datakeeper user register "$name" >/dev/null || exit 1; done'
    server.run(["sh", "-c", loop, "register", *names])


def _wait_until(predicate, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def _keys(server) -> str:
    """A key pair whose public half lets root and MEMBER in; the private key's path."""
    server.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", "/root/login-key"])
    public = server.run(["cat", "/root/login-key.pub"]).stdout
    for user, home in (("root", "/root"), (MEMBER, f"/data/users/{MEMBER}")):
        server.run(["install", "-d", "-o", user, "-m", "0700", f"{home}/.ssh"])
        server.run(["sh", "-c", f"cat > {home}/.ssh/authorized_keys"], input=public)
        server.run(["chown", user, f"{home}/.ssh/authorized_keys"])
    server.run(["systemctl", "start", "ssh.service"])
    return "/root/login-key"


def test_members_are_refused_while_recovery_runs_and_root_gets_in(systemd_site):
    server = systemd_site
    key = _keys(server)
    assert ssh_login(server, MEMBER, key, "id -un").stdout.strip() == MEMBER
    server.run(["systemctl", "start", "--no-block", SERVICE])
    _wait_until(lambda: server.path(NOLOGIN).exists(), "recovery to block logins")
    # Freeze the recovery mid-way (the unit's processes, by cgroup) to log in during it.
    server.run(["systemctl", "kill", "--signal=SIGSTOP", SERVICE])
    try:
        assert "restoring accounts" in server.path(NOLOGIN).read_text()
        refused = ssh_login(server, MEMBER, key, "id -un")
        assert refused.returncode != 0 and MEMBER not in refused.stdout, refused
        admitted = ssh_login(server, "root", key, "id -un")
        assert admitted.stdout.strip() == "root", admitted.stderr
    finally:
        server.run(["systemctl", "kill", "--signal=SIGCONT", SERVICE])
    active = ["systemctl", "is-active", SERVICE]
    _wait_until(lambda: server.run(active, check=False).stdout.strip() == "active", SERVICE)
    assert not server.path(NOLOGIN).exists()
    assert ssh_login(server, MEMBER, key, "id -un").stdout.strip() == MEMBER


def test_hook_boot_restores_every_account_and_arms_the_shutdown_sync(systemd_site):
    server = systemd_site
    _register(server, SYSTEMD_MEMBERS)
    accounts = _passwd(server)
    assert len(accounts) == len(SYSTEMD_MEMBERS)
    hook = server.run(["datakeeper", "recovery", "hook"]).stdout.strip()
    rc_local = {"/etc/rc.local": {"content": f"#!/bin/sh\n{hook}\n", "mode": 0o755}}
    server.reboot(wipe=True, image=rc_local)  # /etc/systemd is wiped: only rc.local recovers
    assert _passwd(server) == accounts
    assert not server.path(NOLOGIN).exists() and not server.path(FAILED).exists()
    journal = server.journal("-u", "rc-local.service")
    assert "16 users recovered" in journal or "users recovered" in journal, journal[-2000:]
    for unit in ("datakeeper-shutdown-sync.service", "datakeeper-password-sync.path"):
        state = server.run(["systemctl", "is-active", unit], check=False).stdout.strip()
        assert state == "active", unit
    # A change the watch cannot see is saved by the shutdown sync's stop command.
    server.run(["systemctl", "stop", "datakeeper-password-sync.path"])
    server.run(["chpasswd"], input=f"{MEMBER}:a-new-secret-42\n")
    changed = _hash(server, MEMBER)
    server.reboot(wipe=True)
    assert _hash(server, MEMBER) == changed


def test_a_recovery_that_fails_for_one_user_recovers_the_others(systemd_site):
    server = systemd_site
    broken = "user05"
    _register(server, SYSTEMD_MEMBERS[:8])
    server.run(["mv", f"/data/users/{broken}", f"/data/users/{broken}.moved"])
    server.run(["sh", "-c", f"echo not a home > /data/users/{broken}"])
    for name in SYSTEMD_MEMBERS[:8]:  # gone as after a wipe; the SSD keeps the units
        server.run(["userdel", name])
    server.reboot(wipe=False)
    back = {line.split(":")[0] for line in _passwd(server)}
    assert set(SYSTEMD_MEMBERS) - {broken} <= back  # the broken one's home is not
    assert server.run(["systemctl", "is-active", SERVICE], check=False).stdout.strip() == "failed"
    assert not server.path(NOLOGIN).exists()  # logins are open again
    assert "1 skipped" in server.path(FAILED).read_text()
    journal = server.journal("-u", SERVICE)
    assert f"skipped {broken}" in journal and "finished with problems" in journal, journal
    status = json.loads(server.run(["datakeeper", "--json", "recovery", "status"]).stdout)
    assert status["last_run"]["ok"] is False
    assert "1 skipped" in status["last_run"]["summary"]
    login = server.run(["bash", "-l", "-i", "-c", "true"], user="user03", check=False)
    assert "the recovery after the last reboot had problems" in login.stderr
