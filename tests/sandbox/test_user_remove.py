"""`datakeeper user remove` end to end: real accounts, real files, real processes."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import shutil
import stat
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.sandbox

STATE = "/data/config/datakeeper"
ACCOUNT_FILES = {"passwd", "shadow", "group", "gshadow", "subuid", "subgid"}
REGISTER = """
import sys
from datakeeper.registry import open_registry
from datakeeper.registry.live import entry_from_system
with open_registry(__import__("pathlib").Path(sys.argv[1])) as registry:
    registry.upsert(entry_from_system(sys.argv[2]))
"""
HOLD_LOCK = """
import sys, time
from pathlib import Path
from datakeeper.system.lock import exclusive_lock
with exclusive_lock(Path(sys.argv[1]), timeout=5, what="test"):
    time.sleep(120)
"""


def _add_user(server, name: str) -> int:
    """An account made by hand the way `user add` lays it out, registered for recovery."""
    server.run(["useradd", "--user-group", "--no-create-home", "--home-dir", f"/home/{name}",
                "--shell", "/bin/bash", "--groups", "gpu-users", name])  # fmt: skip
    server.run(["install", "-d", "-o", name, "-g", name, "-m", "0750", f"/data/users/{name}"])
    server.run(["ln", "-s", f"/data/users/{name}", f"/home/{name}"])
    server.run([sys.executable, "-c", REGISTER, f"{STATE}/registry.json", name])
    return int(server.run(["id", "-u", name]).stdout)


def _write_files(server, name: str) -> None:
    script = (
        "mkdir -p ~/proj/run1 ~/.cache && echo results > ~/proj/run1/out.csv && "
        "head -c 200000 /dev/urandom > ~/proj/weights.pt && echo hi > ~/.bashrc && "
        "chmod 600 ~/.bashrc && ln -s proj/weights.pt ~/latest.pt"
    )
    server.run(["sh", "-c", script], user=name, login=True)


@pytest.fixture
def bob(site) -> int:
    uid = _add_user(site, "bob")
    _write_files(site, "bob")
    return uid


def _remove(server, *args: str, env: dict | None = None):
    return server.datakeeper("--json", "user", "remove", *args, check=False, env=env)


def _gone(server, name: str) -> bool:
    return server.run(["getent", "passwd", name], check=False).returncode == 2


def _registered(server) -> list[str]:
    registry = json.loads(server.path(f"{STATE}/registry.json").read_text())
    return sorted(registry["users"])


def _files(top: Path) -> dict[str, tuple]:
    """Relative path -> (mode, uid, gid, sha256 or link target) for everything below."""
    found = {}
    for root, dirs, names in os.walk(top):
        for name in dirs + names:
            path = Path(root) / name
            info = path.lstat()
            if stat.S_ISREG(info.st_mode):
                content = hashlib.sha256(path.read_bytes()).hexdigest()
            else:
                content = os.readlink(path) if stat.S_ISLNK(info.st_mode) else None
            found[str(path.relative_to(top))] = (info.st_mode, info.st_uid, info.st_gid, content)
    return found


def test_remove_keeps_the_data_by_default(site, bob):
    before = _files(site.path("/data/users/bob"))
    result = _remove(site, "bob", "--yes")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["data_location"] == "/data/users/bob"
    assert report["user"]["data"]["allocated_bytes"] >= 200_000
    assert report["user"]["data"]["files"] == 4
    assert report["user"]["groups"] == ["bob", "gpu-users"]
    assert report["user"]["sessions"] == [] and report["user"]["processes"] == []
    assert _gone(site, "bob")
    assert site.run(["getent", "group", "bob"], check=False).returncode == 2
    assert "bob" not in site.run(["getent", "group", "gpu-users"]).stdout
    assert not os.path.lexists(site.path("/home/bob"))
    assert _registered(site) == ["admin"]
    assert _files(site.path("/data/users/bob")) == before, "every file still there, still uid"
    assert site.path("/data/users/bob").lstat().st_uid == bob
    log = site.path(f"{STATE}/actions.log").read_text()
    assert "delete account bob" in log and "forget bob in the registry" in log


def test_archive_moves_the_data_intact(site, bob):
    before = _files(site.path("/data/users/bob"))
    top = site.path("/data/users/bob").lstat()
    result = _remove(site, "bob", "--archive", "--yes")
    assert result.returncode == 0, result.stderr
    location = json.loads(result.stdout)["data_location"]
    assert location.startswith("/backup/archive/bob-")
    assert not os.path.lexists(site.path("/data/users/bob"))
    assert _files(site.path(location)) == before
    moved = site.path(location).lstat()
    assert (moved.st_mode, moved.st_uid, moved.st_gid) == (top.st_mode, top.st_uid, top.st_gid)
    archive = site.path("/backup/archive").lstat()
    assert (stat.S_IMODE(archive.st_mode), archive.st_uid) == (0o700, 0)
    assert _gone(site, "bob")


def test_purge_removes_only_the_users_tree(site, bob):
    _add_user(site, "amy")
    site.run(["sh", "-c", "echo mine > ~/thesis.tex"], user="amy", login=True)
    plants = (
        "ln -s /etc ~/etc && ln -s /etc/passwd ~/passwd && ln -s /etc/shadow ~/proj/shadow && "
        "ln -s /data/users/amy ~/amy && ln -s /data/users/amy/thesis.tex ~/proj/run1/thesis.tex"
    )
    site.run(["sh", "-c", plants], user="bob", login=True)
    before = {path: _files(site.path(path)) for path in ("/etc", "/data/users/amy")}
    passwd = site.path("/etc/passwd").read_text().splitlines()
    result = _remove(site, "bob", "--purge", "--yes", "--yes-delete-data")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["data_location"] is None
    assert not os.path.lexists(site.path("/data/users/bob"))
    after = {path: _files(site.path(path)) for path in ("/etc", "/data/users/amy")}
    assert after["/data/users/amy"] == before["/data/users/amy"]
    assert site.path("/data/users/amy/thesis.tex").read_text() == "mine\n"
    assert set(after["/etc"]) == set(before["/etc"]), "nothing deleted from /etc"
    for name, (mode, uid, gid, content) in before["/etc"].items():
        if name.rstrip("-") in ACCOUNT_FILES:  # userdel rewrote these: same owner and mode
            assert after["/etc"][name][:3] == (mode, uid, gid), name
        else:
            assert after["/etc"][name] == (mode, uid, gid, content), name
    left = site.path("/etc/passwd").read_text().splitlines()
    assert left == [line for line in passwd if not line.startswith("bob:")]


def test_purge_without_the_second_confirmation_is_refused(site, bob):
    snapshot = site.snapshot()
    result = _remove(site, "bob", "--purge", "--yes")
    assert result.returncode == 2
    assert "--yes-delete-data" in result.stderr
    assert site.snapshot() == snapshot


def test_logged_in_user_is_refused_then_removed_with_kill_sessions(site, bob):
    site.run(["sh", "-c", "runuser -u bob -- sleep 300 >/dev/null 2>&1 &"])
    _wait_for(lambda: str(bob) in _uids(site))
    snapshot = site.snapshot()
    refused = _remove(site, "bob", "--yes")
    assert refused.returncode == 3
    assert "--kill-sessions" in refused.stderr and len(refused.stderr.splitlines()) == 1
    assert site.snapshot() == snapshot
    result = _remove(site, "bob", "--yes", "--kill-sessions")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert [p["name"] for p in report["user"]["processes"]] == ["sleep"]
    assert any("end 1 process of bob" in c["change"] for c in report["applied"])
    assert str(bob) not in _uids(site)
    assert _gone(site, "bob")


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["admin", "--yes"], 3, "site admin"),
        (["root", "--yes"], 3, "refusing to remove root"),
        (["daemon", "--yes"], 3, "system account"),
        (["ghost", "--yes"], 2, "no such account"),
        (["a;id", "--yes"], 2, "user name"),
        (["bob", "--archive", "--purge", "--yes"], 2, "exclude each other"),
        (["bob"], 2, "pass --yes"),
    ],
)
def test_refusals_change_nothing(site, bob, args, code, message):
    snapshot = site.snapshot()
    result = _remove(site, *args)
    assert result.returncode == code, result.stderr
    assert message in result.stderr and len(result.stderr.splitlines()) == 1
    assert site.snapshot() == snapshot


def test_dry_run_prints_the_plan_and_changes_nothing(site, bob):
    snapshot = site.snapshot()
    result = site.datakeeper("--dry-run", "user", "remove", "bob", "--purge", check=False)
    assert result.returncode == 0, result.stderr
    assert "would DELETE /data/users/bob" in result.stdout
    assert "would delete account bob" in result.stdout
    assert site.snapshot() == snapshot


def test_a_held_lock_times_out_with_a_clear_error_and_nothing_changes(site, bob):
    lock = f"{STATE}/run.lock"
    site.run(["sh", "-c", f"{sys.executable} -c '{HOLD_LOCK}' {lock} >/dev/null 2>&1 &"])
    _wait_for(lambda: site.path(lock).read_text().strip() != "")
    snapshot = site.snapshot()
    started = time.monotonic()
    result = _remove(site, "bob", "--yes", env={"DATAKEEPER_LOCK_TIMEOUT": "2"})
    assert result.returncode == 4, result.stderr
    assert 2 <= time.monotonic() - started < 30
    assert "locked by another process (pid" in result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert site.snapshot() == snapshot
    assert not _gone(site, "bob")


def _uids(server) -> list[str]:
    return server.run(["ps", "-e", "-o", "uid="]).stdout.split()


def _wait_for(condition, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def _interactive(server, args: str, answers: str):
    """Run datakeeper on a terminal (``script`` gives it one) and type ``answers``."""
    command = shlex.join([sys.executable, "-m", "datakeeper"]) + " " + args
    return server.run(["script", "-qec", command, "/dev/null"], input=answers, check=False)


@pytest.mark.skipif(shutil.which("script") is None, reason="needs script(1) for a terminal")
def test_on_a_terminal_purge_needs_the_name_and_then_delete(site, bob):
    snapshot = site.snapshot()
    wrong_name = _interactive(site, "user remove bob --purge", "bobby\n")
    assert wrong_name.returncode == 2 and "did not match" in wrong_name.stdout
    no_delete = _interactive(site, "user remove bob --purge", "bob\nyes\n")
    assert no_delete.returncode == 2 and "not confirmed" in no_delete.stdout
    assert site.snapshot() == snapshot
    confirmed = _interactive(site, "user remove bob --purge", "bob\nDELETE\n")
    assert confirmed.returncode == 0, confirmed.stdout
    assert "Type DELETE to confirm" in confirmed.stdout
    assert not os.path.lexists(site.path("/data/users/bob"))
    assert _gone(site, "bob")


def test_a_registered_user_whose_account_is_gone_is_still_forgotten(site, bob):
    site.run(["userdel", "bob"])
    result = _remove(site, "bob", "--yes")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["user"]["account"] is False and report["user"]["uid"] == bob
    assert _registered(site) == ["admin"]
    assert not os.path.lexists(site.path("/home/bob"))
    assert site.path("/data/users/bob").lstat().st_uid == bob


def test_a_real_home_directory_is_left_and_reported(site):
    site.run(["useradd", "--create-home", "carl"])
    result = _remove(site, "carl", "--yes")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["user"]["home_link"]["kind"] == "directory"
    assert report["data_location"] is None  # no persistent home under /data/users
    assert site.path("/home/carl").is_dir()
    assert _gone(site, "carl")


def test_purge_of_a_symlinked_persistent_home_is_refused_before_asking(site):
    _add_user(site, "eve")
    site.run(["rmdir", "/data/users/eve"])
    site.run(["ln", "-s", "/etc", "/data/users/eve"])
    snapshot = site.snapshot()
    result = _remove(site, "eve", "--purge", "--yes", "--yes-delete-data")
    assert result.returncode == 3
    assert "not a real directory" in result.stderr
    assert site.snapshot() == snapshot
    assert site.path("/etc/passwd").is_file() and not _gone(site, "eve")


def _marked(output: str, mark: str) -> list[str]:
    """The sentences printed after ``mark`` (``would``, ``✓``, ``-``), archive stamps
    made comparable between runs (a prompt may precede one on its line)."""
    found = re.findall(rf"  {re.escape(mark)} (.*)", output.replace("\r", ""))
    return [re.sub(r"bob-\d{8}-\d{6}", "bob-STAMP", line) for line in found]


@pytest.mark.skipif(shutil.which("script") is None, reason="needs script(1) for a terminal")
@pytest.mark.parametrize(
    ("option", "answers"), [("", "bob\n"), ("--archive", "bob\n"), ("--purge", "bob\nDELETE\n")]
)
def test_the_confirmation_lists_what_dry_run_prints_and_the_run_applies(site, bob, option, answers):
    dry_run = site.datakeeper("--dry-run", "user", "remove", "bob", *option.split())
    would = _marked(dry_run.stdout, "would")
    confirmed = _interactive(site, f"user remove bob {option}", answers)
    assert confirmed.returncode == 0, confirmed.stdout
    output = confirmed.stdout.replace("\r", "")
    assert output.index("Changes:") < output.index("Type the user name to confirm")
    shown, applied = _marked(output, "-"), _marked(output, "✓")
    assert shown == would == applied
    assert "delete account bob (uid" in shown[-1] and len(shown) >= 4
    assert _gone(site, "bob")
