"""fix-permissions in a real server: umask-077 files become shared; planted links,
hard links and a directory swapped for a link while it runs change nothing outside."""

from __future__ import annotations

import json
import sys

import pytest

from tests.sandbox.test_init import _init, _prepare

pytestmark = pytest.mark.sandbox

SHARED = ("/data/models/huggingface/hub", "/data/cache/conda/pkgs", "/data/dataset", "/data/code")


@pytest.fixture
def site(server):
    """An initialized site; alice and bob are members; bob keeps a private file on /data."""
    _prepare(server)
    _init(server)
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


def test_shared_repair_makes_private_files_group_writable(site):
    _private_files(site)
    for folder in SHARED:
        denied = site.run(
            ["sh", "-c", f"echo b >> {folder}/alice/sub/file"], user="bob", check=False
        )
        assert denied.returncode != 0
    dry = json.loads(site.datakeeper("--json", "fix-permissions", "--shared", "--dry-run").stdout)
    assert dry["totals"]["changed"] == 4 * len(SHARED)
    assert _mode_group(site, f"{SHARED[0]}/alice") == "2700 gpu-users alice"  # dry: unchanged
    result = site.datakeeper("fix-permissions", "--shared")
    assert "16 entries changed" in result.stdout
    for folder in SHARED:
        assert _mode_group(site, f"{folder}/alice") == "2770 gpu-users alice"
        assert _mode_group(site, f"{folder}/alice/sub/file") == "660 gpu-users alice"
        assert _mode_group(site, f"{folder}/alice/run.sh") == "770 gpu-users alice"
        site.run(["sh", "-c", f"echo b >> {folder}/alice/sub/file"], user="bob")
    assert _mode_group(site, "/data/models") == "3775 gpu-users admin"
    again = json.loads(site.datakeeper("--json", "fix-permissions", "--shared").stdout)
    assert again["totals"].get("changed", 0) == 0


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
    result = site.datakeeper("fix-permissions", "--shared", user="alice", check=False)
    assert result.returncode == 3
    assert "needs root" in result.stderr
    both = site.datakeeper("fix-permissions", "--shared", "--user", "alice", check=False)
    assert both.returncode == 2
    unknown = site.datakeeper("fix-permissions", "--user", "nosuch", check=False)
    assert unknown.returncode == 2
    assert "does not exist" in unknown.stderr
