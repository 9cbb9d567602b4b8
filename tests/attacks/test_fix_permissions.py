"""Issue 11, item 4: ``fix-permissions --shared`` must not widen who may write.

The attack: bob keeps a library (0644) and a package folder (0755) in /data/code,
root keeps a script there (0755). The admin repairs the shared folders; the old
repair made all of them group-writable (``chmod g+rwX``), so alice could then
rewrite bob's code (she runs as bob when he imports it), add a module to bob's
package, or rewrite root's script (she runs as root). Now the repair adds the
group, setgid and group read only; group write is added only with
``--grant-write``, never on root's entries, and its dry run names each entry.
"""

from __future__ import annotations

import json

import pytest

BOB_FILE = "/data/code/bob/lib.py"
BOB_DIR = "/data/code/bob/pkg"
ROOT_SCRIPT = "/data/code/nightly.sh"


@pytest.fixture
def site(site):
    """alice and bob are members; bob's code and root's script are in /data/code."""
    server = site
    for name in ("alice", "bob"):
        server.run(["useradd", "--create-home", "--groups", "gpu-users", name])
    bob = (
        f"umask 022; mkdir -p {BOB_DIR} && echo 'print(1)' > {BOB_FILE} "
        f"&& echo 'print(2)' > {BOB_DIR}/__init__.py"
    )
    server.run(["sh", "-c", bob], user="bob")
    script = ["install", "-m", "0755", "-o", "root", "-g", "root", "/dev/null", ROOT_SCRIPT]
    server.run(script)
    return server


def _alice_can_write(server, path: str) -> bool:
    """Append to the file, or create a file in the directory, as alice."""
    target = f"{path}/evil.py" if path == BOB_DIR else path
    attack = ["sh", "-c", f"echo 'import os' >> {target}"]
    return server.run(attack, user="alice", check=False).returncode == 0


def _mode_owner_group(server, path: str) -> str:
    return server.run(["stat", "-c", "%a %U %G", path]).stdout.strip()


def test_shared_repair_does_not_let_a_member_write_another_members_or_roots_code(site):
    for path in (BOB_FILE, BOB_DIR, ROOT_SCRIPT):
        assert not _alice_can_write(site, path)
    site.datakeeper("--yes", "fix-permissions", "--shared")
    for path in (BOB_FILE, BOB_DIR, ROOT_SCRIPT):
        assert not _alice_can_write(site, path), path
    assert _mode_owner_group(site, BOB_FILE) == "644 bob gpu-users"
    assert _mode_owner_group(site, BOB_DIR) == "2755 bob gpu-users"
    assert _mode_owner_group(site, ROOT_SCRIPT) == "755 root gpu-users"  # group: repaired
    assert site.run(["cat", BOB_FILE], user="alice").stdout == "print(1)\n"


def test_grant_write_dry_run_names_each_entry_and_never_roots(site):
    before = site.snapshot()
    dry = site.datakeeper("--dry-run", "fix-permissions", "--shared", "--grant-write")
    assert site.snapshot() == before
    listed = {line.split("+ g+w ", 1)[1] for line in dry.stdout.splitlines() if "+ g+w " in line}
    bobs = {"/data/code/bob", BOB_FILE, BOB_DIR, f"{BOB_DIR}/__init__.py"}
    assert listed == bobs
    as_json = site.datakeeper("--json", "--dry-run", "fix-permissions", "--shared", "--grant-write")
    [code] = [tree for tree in json.loads(as_json.stdout)["trees"] if tree["path"] == "/data/code"]
    assert set(code["granted"]) == bobs
    site.datakeeper("--yes", "fix-permissions", "--shared", "--grant-write")
    assert _alice_can_write(site, BOB_FILE) and _alice_can_write(site, BOB_DIR)  # as asked
    assert not _alice_can_write(site, ROOT_SCRIPT)
    assert _mode_owner_group(site, ROOT_SCRIPT) == "755 root gpu-users"
