"""Issue 11, item 6: trees a member nests thousands of directories deep, against root.

The attacks:

- bob nests his home 3000 directories deep; root's ``user remove bob --archive``
  died with a RecursionError and left ``.bob-….partial`` on /backup;
- alice nests a snapshot of her HuggingFace repo 2000 deep; root's
  ``cache clean --hf`` printed a traceback;
- a stray real ``/home/alice`` nested 3000 deep after a wipe: root's
  ``recover`` died with a RecursionError, the other users were not
  recovered, and no done marker was written, so every login waited.

Every walk root makes over a user's tree is now a loop that holds a few
descriptors however deep the tree goes (``system/lockstep.py``,
``system/safe_delete.py``, ``system/safewalk.py``, ``helper/walk.py``), a
failed archive copy removes its partial folder whatever the error, and
``recover`` isolates each step: an unexpected error skips that step, is
reported, and the others and the done marker go on.
"""

from __future__ import annotations

import json
import sys

import pytest

from tests.support.sandbox import PROJECT_ROOT

INSIDE = {"PYTHONPATH": str(PROJECT_ROOT)}
HUB = "/data/models/huggingface/hub"
BUILD = (
    "import sys; from pathlib import Path; from tests.support.deep_tree import build_chain; "
    "build_chain(Path(sys.argv[1]), int(sys.argv[2]))"
)
FIND_LEAF = "find {top} -name leaf -type f | wc -l"


@pytest.fixture
def deep(site):
    """Shell patterns of the deep trees a test leaves in the server, removed after it
    (``rm`` walks any depth; pytest's own clean-up of old runs recurses and fails)."""
    patterns: list[str] = []
    yield patterns
    site.run(["sh", "-c", f"rm -rf {' '.join(patterns)}"], check=False)


def _nest(server, top: str, depth: int, *as_member: str) -> None:
    """``top/d/d/…`` ``depth`` deep with a file ``leaf`` at the bottom, made by the
    member (``as_member``: how to run a command as them)."""
    server.run([*as_member, sys.executable, "-c", BUILD, top, str(depth)], env=INSIDE)


def _as(name: str) -> tuple[str, ...]:
    return ("runuser", "-u", name, "--")


def _no_traceback(result) -> None:
    assert "Traceback" not in result.stdout + result.stderr, result.stdout + result.stderr


def test_member_deep_home_cannot_crash_root_archive_or_leave_a_partial_copy(site, deep):
    deep += ["/backup/archive/*", "/data/users/bob"]
    site.datakeeper("user", "add", "bob", "--yes")
    _nest(site, "/home/bob/deep", 3000, *_as("bob"))
    result = site.datakeeper("--json", "user", "remove", "bob", "--archive", "--yes", check=False)
    _no_traceback(result)
    assert result.returncode == 0, result.stdout + result.stderr
    location = json.loads(result.stdout)["data_location"]
    assert location.startswith("/backup/archive/bob-")
    assert site.run(["ls", "-A", "/backup/archive"]).stdout.split() == [location.split("/")[-1]]
    assert site.run(["sh", "-c", FIND_LEAF.format(top=location)]).stdout.strip() == "1"
    assert site.run(["test", "-e", "/data/users/bob"], check=False).returncode == 1


def test_member_deep_hf_snapshot_cannot_crash_root_hf_cleanup(site, deep):
    site.run(["useradd", "--create-home", "--groups", "gpu-users", "alice"])
    repo = f"{HUB}/models--e--f"
    deep.append(repo)
    rev = "0" * 40
    plant = f"umask 002 && mkdir -p {repo}/blobs {repo}/refs {repo}/snapshots/{rev}"
    site.run(["sh", "-c", plant], user="alice")
    _nest(site, f"{repo}/snapshots/{rev}/deep", 2000, *_as("alice"))
    for args in (("--dry-run", "cache", "clean", "--hf"), ("cache", "clean", "--hf", "--yes")):
        result = site.datakeeper("--json", *args, check=False)
        _no_traceback(result)
        assert result.returncode == 0, result.stdout + result.stderr
        hub = next(c for c in json.loads(result.stdout)["caches"] if c["path"] == HUB)
        left = [n for n in hub["notes"] if n.startswith(f"left alone: {repo} ")]
        assert len(left) == 1 and "deeper than" in left[0], hub["notes"]
    assert site.run(["sh", "-c", FIND_LEAF.format(top=repo)]).stdout.strip() == "1"


@pytest.fixture
def wiped(site):
    """alice and bob added, then the SSD wiped: ``recover`` has every account to bring back."""
    for name in ("alice", "bob"):
        site.datakeeper("user", "add", name, "--yes")
    ids = {n: site.run(["id", "-u", n]).stdout.strip() for n in ("alice", "bob")}
    site.reboot()
    return site, ids


def test_deep_stray_home_cannot_stop_recovery_of_the_others_or_the_done_marker(wiped, deep):
    server, ids = wiped
    deep += ["/home/alice", "/home/.alice.*", "/data/users/alice/deep"]
    server.run(["install", "-d", "-o", ids["alice"], "-g", ids["alice"], "/home/alice"])
    as_alice = ("setpriv", "--reuid", ids["alice"], "--regid", ids["alice"], "--clear-groups")
    _nest(server, "/home/alice/deep", 3000, *as_alice)
    result = server.datakeeper("--json", "recover", check=False)
    _no_traceback(result)
    report = json.loads(result.stdout)
    assert result.returncode == 0 and report["ok"], result.stdout + result.stderr
    assert {u["title"]: u["status"] for u in report["users"]} == {
        "admin": "changed",
        "alice": "changed",
        "bob": "changed",
    }
    for name in ("admin", "alice", "bob"):
        assert server.run(["id", "-un", name]).stdout.strip() == name
    assert server.run(["test", "-s", "/run/datakeeper/recovery-done"]).returncode == 0
    assert server.run(["readlink", "/home/alice"]).stdout.strip() == "/data/users/alice"
    merged = FIND_LEAF.format(top="/data/users/alice/deep")
    assert server.run(["sh", "-c", merged]).stdout.strip() == "1"
