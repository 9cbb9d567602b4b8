"""Cache cleanup in a real server: members through sudo, root in-process, links planted."""

from __future__ import annotations

import json
import sys

import pytest

from tests.support.admin_lock import NO_WAIT, hold_admin_lock, release_admin_lock
from tests.support.sandbox import PROJECT_ROOT

pytestmark = pytest.mark.sandbox

HUB = "/data/models/huggingface/hub"
TORCH = "/data/models/torch/hub"
PKGS = "/data/cache/conda/pkgs"
HELPER = "/usr/local/sbin/datakeeper-helper"
INSIDE = {"PYTHONPATH": str(PROJECT_ROOT)}
ACTIONS = "/data/config/datakeeper/actions.log"


@pytest.fixture
def site(site):
    """The initialized site; alice is a member, bob is a member with private files."""
    server = site
    for name in ("alice", "bob"):
        server.run(["useradd", "--create-home", "--groups", "gpu-users", name])
    server.run(["chmod", "0700", "/home/bob"])
    secret = "echo bob-only > /home/bob/secret; chmod 600 /home/bob/secret"
    server.run(["sh", "-c", secret], user="bob")
    return server


def _python(server, code: str, *, user: str | None = None) -> str:
    return server.run([sys.executable, "-c", code], user=user, env=INSIDE).stdout


def _plant(server, hub: str, user: str) -> None:
    code = f"from pathlib import Path; from tests.support.hf_hub import plant; plant(Path({hub!r}))"
    _python(server, code, user=user)


def _tree(server, root: str) -> set[str]:
    code = (
        "import json; from pathlib import Path; from tests.support.hf_hub import tree; "
        f"print(json.dumps(sorted(tree(Path({root!r})))))"
    )
    return set(json.loads(_python(server, code)))


def _expected(server, days: int) -> set[str]:
    code = (
        "import json, time; from pathlib import Path; "
        "from tests.support.hf_hub import expected_after; "
        f"print(json.dumps(sorted(expected_after(Path({HUB!r}), {days}, time.time()))))"
    )
    return set(json.loads(_python(server, code)))


def _protected(server) -> dict[str, str]:
    """What no cleanup may touch: /etc/shadow and bob's private file (mode, owner, content)."""
    paths = ("/etc/shadow", "/home/bob/secret", "/etc")
    stat = server.run(["stat", "-c", "%n %a %U %G", *paths]).stdout
    digest = server.run(["sha256sum", "/etc/shadow", "/home/bob/secret"]).stdout
    return {"stat": stat, "digest": digest}


def test_member_cleans_the_hf_cache_through_sudo_exactly_as_the_scan_says(site):
    _plant(site, HUB, "alice")
    expected = _expected(site, 30)
    assert expected != _tree(site, HUB)  # something is old enough to go
    result = site.datakeeper("cache", "clean", "--hf", "--yes", user="alice", check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "sudo helper" in result.stdout
    assert _tree(site, HUB) == expected
    again = site.datakeeper("--json", "cache", "clean", "--hf", "--yes", user="alice")
    assert json.loads(again.stdout)["caches"][0]["status"] == "nothing"


def test_root_cleans_the_hf_cache_exactly_as_huggingface_hubs_scan_says(site):
    _plant(site, HUB, "alice")
    expected = _expected(site, 90 - 1)
    result = site.datakeeper("--json", "cache", "clean", "--hf", "--older-than", "89d", "--yes")
    report = json.loads(result.stdout)["caches"][0]
    # The helper's native scan, in-process: never huggingface_hub's, which opens refs
    # with a plain open() (tests/attacks/test_hf_cache.py).
    assert (report["method"], report["status"]) == ("built-in", "done")
    assert (report["removed"], report["freed_bytes"]) == (
        report["planned_files"],
        report["planned_bytes"],
    )
    assert _tree(site, HUB) == expected


def test_member_cannot_pass_a_path_or_another_age_through_sudo(site):
    for argv in (
        [HELPER, "cache-clean", "/etc"],
        [HELPER, "cache-clean", "huggingface", "--older-than", "1d"],
        [HELPER, "cache-clean", "huggingface", "--older-than", "30d", "/etc"],
        [HELPER, "cache-clean", "huggingface", "--older-than=30d"],
        [HELPER, "cache-clean", "huggingface", f"{HUB}/../../../../etc"],
    ):
        refused = site.run(["sudo", "-n", *argv], user="alice", check=False)
        assert refused.returncode == 1, argv
        assert "a password is required" in refused.stderr
    result = site.datakeeper(
        "cache", "clean", "--hf", "--older-than", "14d", "--yes", user="alice", check=False
    )
    assert result.returncode == 2
    assert "7d, 30d, 90d" in result.stderr


def test_a_members_environment_does_not_choose_what_root_cleans(site):
    _plant(site, "/home/bob/hub", "bob")
    bobs = _tree(site, "/home/bob/hub")
    env = {**INSIDE, "HF_HUB_CACHE": "/home/bob/hub", "HF_HOME": "/home/bob"}
    result = site.run(
        [sys.executable, "-m", "datakeeper", "cache", "clean", "--hf", "--yes"],
        user="alice",
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert _tree(site, "/home/bob/hub") == bobs


def test_planted_links_lead_no_cleanup_outside_the_caches(site):
    _plant(site, HUB, "alice")
    commit = "from tests.support.hf_hub import commit; print(commit({!r}), end='')"
    old_rev = f"{HUB}/models--org--bert/snapshots/" + _python(site, commit.format("old"))
    nested = f"{HUB}/datasets--org--data/snapshots/" + _python(site, commit.format("nested"))
    plant = (
        f"ln -s /home/bob/secret {old_rev}/bob.bin; touch -h -d '100 days ago' {old_rev}/bob.bin; "
        f"ln -s /etc/shadow {nested}/evil.bin; touch -h -d '100 days ago' {nested}/evil.bin; "
        f"ln -s /home/bob {HUB}/models--bob--home; "
        f"mkdir -p {TORCH}; ln -s /etc {TORCH}/checkpoints; ln -s /home/bob {TORCH}/bob_repo_main; "
        f"ln -s /etc/shadow {PKGS}/evil.tar.bz2; ln -s /home/bob/secret {PKGS}/bob.conda"
    )
    site.run(["sh", "-c", plant], user="alice")
    before = _protected(site)  # reads /etc/shadow: its atime moves, so age it after
    site.run(["touch", "-d", "100 days ago", "/etc/shadow", "/home/bob/secret"])
    kinds = ("--hf", "--torch", "--conda", "--older-than", "30d", "--yes")
    root = site.datakeeper("cache", "clean", *kinds, check=False)
    # A snapshot link that names no blob of its repo makes the repo odd: left alone
    # whole and named, with the link and why (nothing is opened through it).
    assert root.returncode == 0, root.stdout + root.stderr
    odd = "(not the standard layout: snapshots/{rev}/{name}: links outside the repo's blobs)"
    assert (
        f"left alone: {HUB}/models--org--bert "
        + odd.format(rev=old_rev.rsplit("/", 1)[1], name="bob.bin")
        in root.stdout
    )
    assert (
        f"left alone: {HUB}/datasets--org--data "
        + odd.format(rev=nested.rsplit("/", 1)[1], name="evil.bin")
        in root.stdout
    )
    member = site.datakeeper("cache", "clean", *kinds, user="alice", check=False)
    assert _protected(site) == before, member.stdout + root.stdout
    assert site.run(["test", "-L", f"{TORCH}/checkpoints"]).returncode == 0


def test_cache_list_shows_shared_and_personal_caches(site):
    _plant(site, HUB, "alice")
    pip = "mkdir -p ~/.cache/pip/http && echo x > ~/.cache/pip/http/a"
    site.run(["sh", "-c", pip], user="alice", login=True)
    rows = json.loads(site.datakeeper("--json", "cache", "list", user="alice").stdout)
    by_label = {row["label"]: row for row in rows}
    assert by_label["huggingface hub"]["path"] == HUB
    assert by_label["huggingface hub"]["files"] == 12  # blobs, refs, .incomplete, lock
    assert by_label["pip"]["path"] == "/home/alice/.cache/pip"
    assert by_label["pip"]["files"] == 1
    assert by_label["conda packages"]["exists"]


OLD_FILES = (f"{TORCH}/checkpoints/old.pth", f"{PKGS}/numpy.conda", f"{PKGS}/scipy.tar.bz2")


def _old_files(server) -> None:
    """alice leaves conda tarballs and a torch checkpoint."""
    script = (
        f"mkdir -p {TORCH}/checkpoints && head -c 3000 /dev/zero > {OLD_FILES[0]} && "
        f"head -c 5000 /dev/zero > {OLD_FILES[1]} && echo x > {OLD_FILES[2]}"
    )
    server.run(["sh", "-c", script], user="alice")


def _age(server) -> None:
    """Nobody used them for 100 days (reading them, as a snapshot does, uses them)."""
    server.run(["touch", "-d", "100 days ago", *OLD_FILES])


def _actions(server, prefix: str) -> list[dict]:
    lines = server.path(ACTIONS).read_text().splitlines()
    return [e for e in map(json.loads, lines) if e["resource"].startswith(prefix)]


def test_roots_cleanup_takes_the_lock_logs_each_cache_and_does_what_the_dry_run_said(site):
    _old_files(site)
    snapshot = site.snapshot()
    _age(site)
    dry = site.datakeeper("--json", "--dry-run", "cache", "clean", "--all")
    planned = {c["kind"]: c["change"] for c in json.loads(dry.stdout)["caches"]}
    assert planned["conda"] == f"remove 2 entries (4.9 KiB) from {PKGS}"
    assert planned["torch"] == f"remove 1 entry (2.9 KiB) unused for 30 days from {TORCH}"
    assert site.snapshot() == snapshot  # the dry run changed nothing, logged nothing
    _age(site)
    holder = hold_admin_lock(site)
    try:
        busy = site.datakeeper("cache", "clean", "--all", "--yes", env=NO_WAIT, check=False)
        assert busy.returncode == 4, busy.stdout + busy.stderr
        assert "locked by another process" in busy.stderr
        assert site.path(f"{PKGS}/numpy.conda").exists()
    finally:
        release_admin_lock(site, holder)
    done = site.datakeeper("--json", "cache", "clean", "--all", "--yes", env=NO_WAIT, check=False)
    caches = {c["kind"]: c for c in json.loads(done.stdout)["caches"]}
    refused = [k for k, c in caches.items() if c["status"] == "refused"]  # uv: not installed
    assert done.returncode == (1 if refused else 0), done.stderr
    assert set(refused) <= {"pip", "uv"}
    assert {k: c["change"] for k, c in caches.items()} == planned
    assert (caches["conda"]["status"], caches["conda"]["removed"]) == ("done", 2)
    assert not site.path(f"{PKGS}/numpy.conda").exists()
    assert not site.path(f"{TORCH}/checkpoints/old.pth").exists()
    records = _actions(site, "cache ")
    assert [(r["change"], r["outcome"]) for r in records] == [
        (planned["conda"], "applied"),
        (planned["torch"], "applied"),
    ]
    assert records[0]["resource"] == f"cache conda {PKGS}"
    assert records[0]["details"] == {"result": "removed 2 entries, freed 4.9 KiB"}


def test_a_member_cleans_a_personal_cache_while_an_admin_holds_the_lock(site):
    pip = "mkdir -p ~/.cache/pip/http/a/b && echo x > ~/.cache/pip/http/a/b/c"
    site.run(["sh", "-c", pip], user="alice", login=True)
    holder = hold_admin_lock(site)
    try:
        result = site.datakeeper(
            "--json", "cache", "clean", "--pip", "--yes", user="alice", env=NO_WAIT
        )
    finally:
        release_admin_lock(site, holder)
    [pip_cache] = json.loads(result.stdout)["caches"]
    assert (pip_cache["status"], pip_cache["removed"]) == ("done", 1)
    assert pip_cache["change"] == "remove 1 entry (4.0 KiB) from /home/alice/.cache/pip"
    assert not site.path("/home/alice/.cache/pip/http/a/b/c").exists()
    assert _actions(site, "cache ") == []  # the admin's log is root's
