"""fix-permissions in a real server: umask-077 files become group-readable (writable
only with --grant-write); planted links, hard links and a directory swapped for a link
while it runs change nothing outside."""

from __future__ import annotations

import json
import sys

import pytest

from tests.support.admin_lock import NO_WAIT, hold_admin_lock, release_admin_lock

pytestmark = pytest.mark.sandbox

ACTIONS = "/data/config/datakeeper/actions.log"
SHARED = ("/data/models/huggingface/hub", "/data/cache/conda/pkgs", "/data/dataset", "/data/code")


@pytest.fixture
def site(site):
    """The initialized site; alice and bob are members; bob keeps a private file on /data."""
    server = site
    for name in ("alice", "bob"):
        server.run(["useradd", "--create-home", "--groups", "gpu-users", name])
    server.run(["install", "-d", "-o", "bob", "-g", "bob", "-m", "0700", "/data/users/bob"])
    secret = "echo bob-only > /data/users/bob/secret; chmod 600 /data/users/bob/secret"
    server.run(["sh", "-c", secret], user="bob")
    return server


def _private_files(server) -> None:
    """alice writes into every shared folder with umask 077."""
    script = "; ".join(
        f"mkdir -p {folder}/alice/sub && echo data > {folder}/alice/sub/file "
        f"&& echo run > {folder}/alice/run.sh && chmod 700 {folder}/alice/run.sh"
        for folder in SHARED
    )
    server.run(["sh", "-c", f"umask 077; {script}"], user="alice")


def _mode_group(server, path: str) -> str:
    return server.run(["stat", "-c", "%a %G %U", path]).stdout.strip()


def _protected(server) -> str:
    """Mode, owners and content of what must never change."""
    paths = ["/etc", "/etc/shadow", "/etc/passwd", "/data/users/bob", "/data/users/bob/secret"]
    listing = server.run(["stat", "-c", "%n %a %U %G %i", *paths]).stdout
    digest = server.run(["sha256sum", "/etc/shadow", "/data/users/bob/secret"]).stdout
    return listing + digest


def _bob_appends(server, path: str) -> bool:
    return server.run(["sh", "-c", f"echo b >> {path}"], user="bob", check=False).returncode == 0


def test_shared_repair_makes_private_files_group_readable_and_writable_on_request(site):
    _private_files(site)
    for folder in SHARED:
        assert not _bob_appends(site, f"{folder}/alice/sub/file")
    dry = json.loads(site.datakeeper("--json", "fix-permissions", "--shared", "--dry-run").stdout)
    assert dry["totals"]["changed"] == 4 * len(SHARED)
    assert "write_granted" not in dry["totals"]
    assert _mode_group(site, f"{SHARED[0]}/alice") == "2700 gpu-users alice"  # dry: unchanged
    result = site.datakeeper("fix-permissions", "--shared")
    assert "16 entries changed" in result.stdout
    for folder in SHARED:
        assert _mode_group(site, f"{folder}/alice") == "2750 gpu-users alice"
        assert _mode_group(site, f"{folder}/alice/sub/file") == "640 gpu-users alice"
        assert _mode_group(site, f"{folder}/alice/run.sh") == "750 gpu-users alice"
        assert site.run(["cat", f"{folder}/alice/sub/file"], user="bob").stdout == "data\n"
        assert not _bob_appends(site, f"{folder}/alice/sub/file")  # write is alice's call
    assert _mode_group(site, "/data/models") == "3775 gpu-users admin"
    again = json.loads(site.datakeeper("--json", "fix-permissions", "--shared").stdout)
    assert again["totals"].get("changed", 0) == 0
    granted = site.datakeeper("fix-permissions", "--shared", "--grant-write")
    assert "16 entries changed" in granted.stdout
    for folder in SHARED:
        assert f"+ g+w {folder}/alice/sub/file" in granted.stdout
        assert _mode_group(site, f"{folder}/alice") == "2770 gpu-users alice"
        assert _mode_group(site, f"{folder}/alice/sub/file") == "660 gpu-users alice"
        assert _mode_group(site, f"{folder}/alice/run.sh") == "770 gpu-users alice"
        assert _bob_appends(site, f"{folder}/alice/sub/file")


def test_planted_links_and_hard_links_change_nothing_outside(site):
    _private_files(site)
    plant = (
        "ln -s /etc/shadow /data/dataset/alice/shadow; ln -s /etc /data/dataset/alice/etc; "
        "ln -s /data/users/bob/secret /data/code/alice/bobs; ln -s / /data/code/alice/root"
    )
    site.run(["sh", "-c", plant], user="alice")
    link = ["ln", "/data/users/bob/secret", "/data/code/alice/hl"]
    assert site.run(link, user="alice", check=False).returncode != 0  # alice cannot; root can:
    site.run(["ln", "/data/users/bob/secret", "/data/code/hard-link"])
    before = _protected(site)
    report = json.loads(site.datakeeper("--json", "fix-permissions", "--shared").stdout)
    assert _protected(site) == before
    assert report["totals"]["symlinks"] == 4
    assert report["totals"]["hard_links"] == 1
    assert any("hard links were left alone" in note for note in report["notes"])


def test_a_directory_swapped_for_a_link_while_it_runs_changes_nothing_outside(site):
    # Many files so the walk takes a while; alice swaps "d" for a link to /etc (or to
    # bob's home) and back, as fast as she can, for the whole run.
    fill = "umask 077; mkdir -p /data/dataset/race/d && cd /data/dataset/race/d && "
    fill += "for i in $(seq 1500); do echo $i > f$i; done"
    site.run(["sh", "-c", fill], user="alice")
    swap = (
        "cd /data/dataset/race; end=$(($(date +%s) + 6)); while [ $(date +%s) -lt $end ]; do "
        "mv d d.real; ln -s /etc d; rm d; ln -s /data/users/bob d; rm d; mv d.real d; done"
    )
    before = _protected(site)
    script = (
        f"runuser -u alice -- sh -c '{swap}' & "
        f"for n in 1 2 3 4 5; do {sys.executable} -m datakeeper fix-permissions --shared "
        ">/dev/null || true; done; wait"
    )
    site.run(["sh", "-c", script], timeout=120)
    assert _protected(site) == before


def test_user_repair_fixes_the_persistent_home(site):
    home = "/data/users/alice"
    setup = (
        f"install -d -o root -g gpu-users -m 2777 {home} && mkdir -p {home}/.ssh {home}/bin && "
        f"echo k > {home}/.ssh/authorized_keys && chmod 755 {home}/.ssh && "
        f"chmod 666 {home}/.ssh/authorized_keys && echo x > {home}/left-by-root && "
        f"chgrp root {home}/left-by-root && "
        f"echo s > {home}/shared.txt && chgrp gpu-users {home}/shared.txt && "
        f"chmod 664 {home}/shared.txt && ln -s /etc/shadow {home}/shadow"
    )
    site.run(["sh", "-c", setup])
    before = _protected(site)
    site.datakeeper("fix-permissions", "--user", "alice")
    assert _mode_group(site, home) == "750 alice alice"
    assert _mode_group(site, f"{home}/.ssh") == "700 alice alice"
    assert _mode_group(site, f"{home}/.ssh/authorized_keys") == "600 alice alice"
    assert _mode_group(site, f"{home}/left-by-root") == "644 alice alice"
    assert _mode_group(site, f"{home}/shared.txt") == "644 gpu-users alice"
    assert _protected(site) == before


def test_it_needs_root_and_one_target(site):
    home = site.datakeeper("fix-permissions", "--user", "alice", "--grant-write", check=False)
    assert home.returncode == 2
    assert "--grant-write applies to --shared only" in home.stderr
    result = site.datakeeper("fix-permissions", "--shared", user="alice", check=False)
    assert result.returncode == 3
    assert "needs root" in result.stderr
    both = site.datakeeper("fix-permissions", "--shared", "--user", "alice", check=False)
    assert both.returncode == 2
    unknown = site.datakeeper("fix-permissions", "--user", "nosuch", check=False)
    assert unknown.returncode == 2
    assert "does not exist" in unknown.stderr


def _records(server) -> list[dict]:
    lines = server.path(ACTIONS).read_text().splitlines()
    return [e for e in map(json.loads, lines) if e["resource"].startswith("permissions ")]


def _repair_waits_for_the_lock_then_does_what_the_dry_run_said(server, *target: str) -> list:
    """The dry run changes nothing; with the admin lock held the repair exits 4 having
    changed nothing; then it applies exactly the dry run's changes, one record each."""
    snapshot = server.snapshot()
    dry = json.loads(server.datakeeper("--json", "fix-permissions", *target, "--dry-run").stdout)
    planned = [change["change"] for change in dry["changes"]]
    assert planned and server.snapshot() == snapshot
    holder = hold_admin_lock(server)
    try:
        snapshot = server.snapshot()  # with the holder's mark
        busy = server.datakeeper("fix-permissions", *target, env=NO_WAIT, check=False)
        assert busy.returncode == 4, busy.stdout + busy.stderr
        assert "locked by another process" in busy.stderr
        assert server.snapshot() == snapshot
    finally:
        release_admin_lock(server, holder)
    done = json.loads(server.datakeeper("--json", "fix-permissions", *target, env=NO_WAIT).stdout)
    assert [change["change"] for change in done["changes"]] == planned
    records = _records(server)
    assert [(r["change"], r["outcome"]) for r in records] == [(p, "applied") for p in planned]
    return records


def test_shared_repair_takes_the_lock_and_logs_one_record_per_tree(site):
    _private_files(site)
    records = _repair_waits_for_the_lock_then_does_what_the_dry_run_said(site, "--shared")
    by_tree = {r["resource"]: r for r in records}
    dataset = by_tree["permissions /data/dataset"]
    assert dataset["change"] == "fix 4 entries under /data/dataset (mode)"  # setgid: group ok
    assert dataset["details"]["result"] == "fixed 4 entries (owner 0, group 0, mode 4)"


def test_user_repair_takes_the_lock_and_logs_one_record(site):
    home = "/data/users/alice"
    site.run(["sh", "-c", f"install -d -o root -g root -m 2777 {home} && ln -s /etc {home}/e"])
    [record] = _repair_waits_for_the_lock_then_does_what_the_dry_run_said(site, "--user", "alice")
    assert record["resource"] == f"permissions {home}"
    assert record["change"] == f"fix 1 entry under {home} (owner, group, mode)"
    assert record["details"]["result"] == (
        "fixed 1 entry (owner 1, group 1, mode 1); left alone: 1 symlink"
    )
    assert _mode_group(site, home) == "750 alice alice"
