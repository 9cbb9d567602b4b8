"""The disposable server itself: isolated from the host, wiped by reboot, storage kept."""

from __future__ import annotations

import grp
import hashlib
import pwd
from pathlib import Path

import pytest

pytestmark = pytest.mark.sandbox


def _digest(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def test_accounts_created_inside_do_not_exist_on_the_host(server):
    host_group = _digest("/etc/group")
    server.run(["groupadd", "dk-leak-probe"])
    server.run(["useradd", "--no-create-home", "dk-leak-user"])

    assert "dk-leak-probe" in server.path("/etc/group").read_text()
    with pytest.raises(KeyError):
        grp.getgrnam("dk-leak-probe")
    with pytest.raises(KeyError):
        pwd.getpwnam("dk-leak-user")
    assert _digest("/etc/group") == host_group


def test_reboot_wipes_the_ssd_and_keeps_storage(server):
    server.run(["sh", "-c", "echo kept > /data/note; echo lost > /etc/note; mkdir /home/x"])
    server.run(["groupadd", "wiped-group"])

    server.reboot()

    assert server.run(["cat", "/data/note"]).stdout == "kept\n"
    assert not server.path("/etc/note").exists()
    assert not server.path("/home/x").exists()
    assert "wiped-group" not in server.path("/etc/group").read_text()


def test_storage_roots_are_separate_mounts(server):
    out = server.run(["findmnt", "--noheadings", "--output", "TARGET", "/data"]).stdout
    assert out.strip() == "/data"
    root_fs = server.run(["findmnt", "--noheadings", "--output", "FSTYPE", "/"]).stdout
    assert root_fs.strip() == "overlay"


def test_a_disk_that_failed_to_mount_leaves_an_empty_ssd_directory(server):
    server.run(["touch", "/data/on-disk"])
    server.reboot(mounted={"/data": False})

    result = server.run(["findmnt", "/data"], check=False)
    assert result.returncode != 0
    assert server.run(["ls", "-A", "/data"]).stdout == ""

    server.reboot()
    assert server.path("/data/on-disk").exists()


def test_ext4_storage_is_a_real_filesystem_that_survives_reboot(ext4_server):
    fstype = ext4_server.run(["findmnt", "-n", "-o", "FSTYPE", "/data"]).stdout.strip()
    assert fstype == "ext4"
    ext4_server.run(["sh", "-c", "echo 1 > /data/f"])
    ext4_server.reboot()
    assert ext4_server.run(["cat", "/data/f"]).stdout == "1\n"


def test_commands_run_as_a_user_with_that_users_identity(server):
    server.run(["useradd", "--create-home", "alice"])
    out = server.run(["id", "-un"], user="alice").stdout.strip()
    assert out == "alice"
    denied = server.run(["touch", "/etc/alice-was-here"], user="alice", check=False)
    assert denied.returncode != 0


def test_processes_end_with_the_server(server):
    server.run(["sh", "-c", "sleep 300 >/dev/null 2>&1 & echo $! > /run/sleeper"])
    pid_inside = server.path("/run/sleeper").read_text().strip()
    assert pid_inside
    init_pid = server.pid
    server.reboot()
    assert not Path(f"/proc/{init_pid}").exists()
