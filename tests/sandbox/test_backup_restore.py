"""`datakeeper backup restore` and `browse`: the admin's, and a member's through sudo."""

from __future__ import annotations

import json
import os
import time

import pytest

from tests.support.site_setup import add_linked_member

pytestmark = pytest.mark.sandbox

HOME = "/data/users/alice"
HELPER = "/usr/local/sbin/datakeeper-helper"
ACTIONS = "/data/config/datakeeper/actions.log"


@pytest.fixture
def snapshot(site):
    """alice (files, a link to /etc/shadow, a file of root's in her home) and bob (a
    secret), one snapshot taken, then alice's files deleted; the snapshot's name."""
    server = site
    for name in ("alice", "bob"):
        add_linked_member(server, name)
    script = (
        f"cd {HOME} && mkdir proj && echo v1 > proj/train.py && echo notes > proj/notes.txt"
        " && ln -s /etc/shadow proj/evil && ln -s /data/users/bob elsewhere"
    )
    server.run(["sh", "-c", script], user="alice")
    server.run(["sh", "-c", f"echo root-only > {HOME}/proj/root.txt"])  # root's, 0644
    odd = f"open(b'{HOME}/proj/caf\\xe9.txt', 'w').write('latin-1 name')"  # not UTF-8
    server.run(["python3", "-c", odd], user="alice")
    server.run(["sh", "-c", "echo secret > /data/users/bob/secret"], user="bob")
    time.sleep(1.1)
    name = json.loads(server.datakeeper("--json", "backup", "run").stdout)["snapshot"]["name"]
    gone = [
        f"{HOME}/proj/train.py",
        f"{HOME}/proj/evil",
        os.fsdecode(f"{HOME}/proj/caf\xe9.txt".encode("latin-1")),
    ]
    server.run(["rm", "-rf", *gone], user="alice")
    server.name = name
    return server


def _owner(server, path: str) -> int:
    return os.lstat(server.path(path)).st_uid


def test_the_admin_restores_beside_and_in_place(snapshot):
    server, name = snapshot, snapshot.name
    alice = _owner(server, HOME)
    server.datakeeper("backup", "restore", f"{HOME}/proj/train.py")
    beside = f"{HOME}/proj/train.py.restored-{name}"
    assert server.path(beside).read_text() == "v1\n"
    assert _owner(server, beside) == alice  # owners as in the snapshot
    server.datakeeper("backup", "restore", "--in-place", "/home/alice/proj/evil")
    assert os.readlink(server.path(f"{HOME}/proj/evil")) == "/etc/shadow"  # a link, as it was
    again = server.datakeeper("backup", "restore", "--in-place", f"{HOME}/proj/evil", check=False)
    assert again.returncode == 3 and "exists; pass --overwrite" in again.stderr
    assert "backup restore" in server.path(ACTIONS).read_text()
    dry = server.datakeeper("--dry-run", "backup", "restore", "--in-place", f"{HOME}/proj/train.py")
    assert f"restore {HOME}/proj/train.py from snapshot {name}" in dry.stdout
    assert not server.path(f"{HOME}/proj/train.py").exists()


def _member(server, *args: str, user: str = "alice"):
    return server.datakeeper("backup", *args, user=user, check=False)


def test_a_member_restores_their_own_file_as_themselves(snapshot):
    server, name = snapshot, snapshot.name
    alice = _owner(server, HOME)
    restored = _member(server, "restore", "/home/alice/proj/train.py", "--from", name[:10])
    assert restored.returncode == 0, restored.stderr
    beside = f"{HOME}/proj/train.py.restored-{name}"
    assert server.path(beside).read_text() == "v1\n" and _owner(server, beside) == alice
    twice = _member(server, "restore", "/home/alice/proj/train.py")
    assert twice.returncode == 2 and "exists; pass --overwrite" in twice.stderr
    assert _member(server, "restore", "/home/alice/proj/train.py", "--overwrite").returncode == 0
    folder = _member(server, "restore", "/home/alice/proj", "--in-place", "--overwrite")
    assert folder.returncode == 0, folder.stderr
    assert "1 entry of other accounts left out" in folder.stdout
    assert os.readlink(server.path(f"{HOME}/proj/evil")) == "/etc/shadow"  # never followed
    assert server.path(f"{HOME}/proj/train.py").read_text() == "v1\n"
    assert _owner(server, f"{HOME}/proj/train.py") == alice
    assert _owner(server, f"{HOME}/proj/evil") == alice
    names = sorted(os.listdir(os.fsencode(server.path(f"{HOME}/proj"))))
    assert names == [b"caf\xe9.txt", b"evil", b"notes.txt", b"train.py"]
    assert sorted(os.listdir(server.path(HOME))) == ["elsewhere", "proj"]  # no stage left


def test_a_member_cannot_reach_another_users_files(snapshot):
    server = snapshot
    for path in ("/data/users/bob/secret", "/home/alice/elsewhere/secret", "/home/bob/secret"):
        refused = _member(server, "restore", path)
        assert refused.returncode == 2, (path, refused.stdout)
        assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr
    assert (
        "elsewhere is not a folder in the snapshot"
        in _member(server, "restore", "/home/alice/elsewhere/secret").stderr
    )
    forged = server.run(
        ["sudo", "-n", HELPER, "backup-restore"],
        input="\0../bob/secret\0",
        user="alice",
        check=False,
    )
    assert forged.returncode == 2 and "may not hold '..'" in forged.stderr
    assert not server.path(f"{HOME}/secret").exists()
    assert _member(server, "browse", "/data/users/bob").returncode == 2
    assert not [n for n in os.listdir(server.path(HOME)) if "secret" in n]


def test_a_member_browses_only_their_own_files(snapshot):
    server = snapshot
    listed = _member(server, "browse", "/home/alice/proj")
    assert listed.returncode == 0, listed.stderr
    assert "train.py" in listed.stdout and "notes.txt" in listed.stdout
    assert "evil -> /etc/shadow" in listed.stdout and "caf\\xe9.txt" in listed.stdout
    assert "root.txt" not in listed.stdout and "1 entry of other accounts" in listed.stdout
    # --lang reaches the helper through sudo: its own lines are Korean too.
    korean = _member(server, "browse", "/home/alice/proj", "--lang", "ko")
    assert korean.returncode == 0, korean.stderr
    assert "(다른 계정의 항목 1개는 표시하지 않음)" in korean.stdout
    home = _member(server, "browse")
    assert "proj/" in home.stdout and "secret" not in home.stdout
    admin = json.loads(server.datakeeper("--json", "backup", "browse", "/data/users").stdout)
    assert {entry["name"] for entry in admin["entries"]} >= {"alice", "bob"}
