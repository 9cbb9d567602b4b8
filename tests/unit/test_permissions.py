"""fix-permissions as a feature: which trees, which rules, guard, lock and log."""

from __future__ import annotations

import json
import os
import pwd
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from datakeeper.config import parse_config
from datakeeper.errors import (
    InvalidInputError,
    LockBusyError,
    RefusedError,
    StorageNotPersistentError,
)
from datakeeper.features import permissions
from datakeeper.storage import write_marker
from datakeeper.system import accounts

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (chown, storage marker)")
GID = 4321  # the site group "gpu-users" as these tests see it (no such group is needed)


@pytest.fixture(autouse=True)
def site_group(monkeypatch):
    """``gpu-users`` exists with GID, whatever this machine has."""
    real = accounts.group_by_name

    def group_by_name(name: str):
        return accounts.GroupInfo(name, GID, ()) if name == "gpu-users" else real(name)

    monkeypatch.setattr(permissions.accounts, "group_by_name", group_by_name)


def _config(tmp_path: Path, extra: str = "", top: str = ""):
    text = f'{top}[storage]\ndata_root = "{tmp_path}/data"\nbackup_root = ""\n'
    return parse_config(text + extra, "test")


@pytest.fixture
def site(tmp_path):
    """The configured folders with their configured modes (and, as root, the site group),
    as init leaves them."""
    cfg = _config(tmp_path)
    for folder in cfg.folders_parents_first():
        path = cfg.storage.data_root / folder.path
        path.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            os.chown(path, -1, GID)
        path.chmod(folder.mode)
    return cfg


def test_shared_trees_are_the_group_writable_folders_not_owned_by_root(site, tmp_path):
    trees = permissions.shared_trees(site)
    data = tmp_path / "data"
    assert [path for path, _rules in trees] == [
        data / p for p in ("models", "cache", "dataset", "code")
    ]
    rules = trees[0][1]
    assert rules.gid == GID
    assert {"models", "models/huggingface/hub", "cache/conda/pkgs"} <= rules.sticky
    assert {"users", "apps", "config"} <= rules.excluded
    assert {"models", "models/huggingface/hub", "code"} <= rules.declared
    assert not rules.declared & rules.excluded
    assert not rules.grant_write
    granting = permissions.shared_trees(site, grant_write=True)
    assert all(rules.grant_write for _path, rules in granting)
    assert granting[0][1].child("huggingface").grant_write


def test_a_shared_folder_inside_a_root_folder_is_walked_on_its_own(tmp_path):
    extra = (
        '[[folders]]\npath = "users"\nmode = "2755"\nowner = "root"\n'
        '[[folders]]\npath = "users/shared"\nmode = "2775"\n'
    )
    cfg = _config(tmp_path, extra)
    trees = permissions.shared_trees(cfg)
    assert [path for path, _rules in trees] == [tmp_path / "data/users/shared"]
    assert trees[0][1].sticky == frozenset()


def test_shared_rules_skip_folders_that_are_not_shared():
    rules = permissions.SharedRules(7, "models", frozenset(), frozenset({"models/private"}))
    assert rules.child("private") is None
    assert rules.child("hub").path == "models/hub"


def test_a_missing_group_is_refused(tmp_path):
    cfg = _config(tmp_path, top='group = "lab-nobody-has"\n')
    with pytest.raises(RefusedError, match="lab-nobody-has does not exist"):
        permissions.shared_trees(cfg)


def test_user_home_needs_an_account_and_a_persistent_home(site):
    with pytest.raises(InvalidInputError, match="does not exist"):
        permissions.user_tree(site, "no-such-user-here")
    name = pwd.getpwuid(os.getuid()).pw_name
    with pytest.raises(InvalidInputError, match="no persistent home"):
        permissions.user_tree(site, name)
    (site.users_dir / name).mkdir()
    path, rules = permissions.user_tree(site, name)
    assert path == site.users_dir / name
    assert (rules.uid, rules.home_mode) == (os.getuid(), 0o750)
    assert os.getgid() in rules.groups


@needs_root
def test_unmarked_storage_is_refused_before_anything_is_read(site):
    with pytest.raises(StorageNotPersistentError):
        permissions.fix_permissions(site, dry_run=True)


@needs_root
def test_dry_run_counts_then_a_run_fixes_and_logs(site, tmp_path):
    data = tmp_path / "data"
    write_marker(data, role="data")
    private = data / "models/huggingface/hub/mine"
    private.mkdir()
    private.chmod(0o700)  # a member's umask-077 folder, without the inherited setgid
    (private / "w.bin").write_bytes(b"w")
    (private / "w.bin").chmod(0o600)
    dry = permissions.fix_permissions(site, dry_run=True)
    assert dry.totals["changed"] >= 2
    assert stat.S_IMODE(os.lstat(private).st_mode) == 0o700
    assert not site.action_log_path.exists()
    report = permissions.fix_permissions(site, dry_run=False)
    assert report.ok
    assert stat.S_IMODE(os.lstat(private).st_mode) == 0o2750  # root's: never group-writable
    assert stat.S_IMODE(os.lstat(private / "w.bin").st_mode) == 0o640
    assert stat.S_IMODE(os.lstat(data / "models").st_mode) & 0o3070 == 0o3070
    records = [json.loads(line) for line in site.action_log_path.read_text().splitlines()]
    assert any(r["resource"] == f"permissions {data}/models" for r in records)
    assert permissions.fix_permissions(site, dry_run=True).totals["changed"] == 0


@needs_root
def test_hard_links_get_a_note(site, tmp_path):
    data = tmp_path / "data"
    write_marker(data, role="data")
    outside = tmp_path / "outside"
    outside.write_bytes(b"x")
    outside.chmod(0o600)
    os.link(outside, data / "code/linked")
    report = permissions.fix_permissions(site, dry_run=False)
    assert report.totals["hard_links"] == 1
    assert any("hard links were left alone" in note for note in report.notes)
    assert stat.S_IMODE(os.lstat(outside).st_mode) == 0o600


def _private_tree(data: Path) -> Path:
    private = data / "models/huggingface/hub/mine"
    private.mkdir()
    (private / "w.bin").write_bytes(b"w")
    for path, mode in ((private, 0o700), (private / "w.bin", 0o600)):
        os.chown(path, -1, 0)  # moved in with umask 077 and its owner's group
        path.chmod(mode)
    return private


def _records(cfg) -> list[dict]:
    if not cfg.action_log_path.exists():
        return []
    return [json.loads(line) for line in cfg.action_log_path.read_text().splitlines()]


@needs_root
def test_one_record_per_tree_repaired_saying_what_was_planned_and_done(site, tmp_path):
    data = tmp_path / "data"
    write_marker(data, role="data")
    _private_tree(data)
    (data / "code/link").symlink_to("/etc")
    (data / "code/notes").write_text("n")
    (data / "code/notes").chmod(0o600)
    dry = permissions.fix_permissions(site, dry_run=True)
    planned = [change.summary for change in dry.changes]
    report = permissions.fix_permissions(site, dry_run=False)
    assert [change.summary for change in report.changes] == planned
    records = _records(site)
    assert [r["change"] for r in records] == planned  # trees with nothing to fix: none
    by_tree = {r["resource"]: r for r in records}
    models = by_tree[f"permissions {data}/models"]
    counts = dict(dry.trees)[f"{data}/models"].counts
    assert models["change"] == f"fix {counts['changed']} entries under {data}/models (group, mode)"
    assert models["outcome"] == "applied"
    assert models["details"]["result"] == (
        f"fixed {counts['changed']} entries (owner 0, group {counts['group_changed']}, "
        f"mode {counts['mode_changed']})"
    )
    code = by_tree[f"permissions {data}/code"]
    assert code["details"]["result"].endswith("; left alone: 1 symlink")
    first = dry.as_dict()["changes"][0]["before"]["first"]  # the first entries it would fix
    assert first == [
        f"{data}/models/huggingface/hub/mine",
        f"{data}/models/huggingface/hub/mine/w.bin",
    ]


@needs_root
def test_a_held_admin_lock_stops_the_repair_before_anything_changes(site, tmp_path, monkeypatch):
    data = tmp_path / "data"
    write_marker(data, role="data")
    private = _private_tree(data)
    site.state_dir.mkdir(parents=True, exist_ok=True)
    monkeypatch.setenv("DATAKEEPER_LOCK_TIMEOUT", "0")
    hold = (
        "import fcntl,sys,time; f=open(sys.argv[1],'w'); fcntl.lockf(f, fcntl.LOCK_EX); "
        "print('ready', flush=True); time.sleep(30)"
    )
    argv = [sys.executable, "-c", hold, str(site.state_dir / "run.lock")]
    with subprocess.Popen(argv, stdout=subprocess.PIPE) as holder:
        try:
            assert holder.stdout.readline().strip() == b"ready"
            with pytest.raises(LockBusyError):
                permissions.fix_permissions(site, dry_run=False)
        finally:
            holder.kill()
    assert stat.S_IMODE(os.lstat(private).st_mode) == 0o700
    assert _records(site) == []


def test_grant_write_is_refused_for_a_home(site):
    name = pwd.getpwuid(os.getuid()).pw_name
    with pytest.raises(InvalidInputError, match="--grant-write applies to --shared only"):
        permissions.fix_permissions(site, user=name, grant_write=True, dry_run=True)


@needs_root
def test_a_dry_run_with_grant_write_names_each_entry_that_would_get_group_write(site, tmp_path):
    data = tmp_path / "data"
    write_marker(data, role="data")
    private = _private_tree(data)
    for path in (private, private / "w.bin"):
        os.chown(path, 1234, 1234)  # a member's, with the member's private group
    (data / "code/root.sh").write_text("echo root\n")
    (data / "code/root.sh").chmod(0o755)  # root's: never made group-writable
    dry = permissions.fix_permissions(site, grant_write=True, dry_run=True)
    assert stat.S_IMODE(os.lstat(private / "w.bin").st_mode) == 0o600
    [models] = [change for change in dry.changes if change.resource.endswith("/models")]
    assert models.before["write_granted"] == [str(private), f"{private}/w.bin"]
    assert models.summary.endswith("(group, mode); 2 get group write")
    assert str(data / "code/root.sh") not in str(dry.as_dict())  # nothing to change there
    assert dry.totals["write_granted"] == 2
    report = permissions.fix_permissions(site, grant_write=True, dry_run=False)
    assert stat.S_IMODE(os.lstat(private / "w.bin").st_mode) == 0o660
    assert stat.S_IMODE(os.lstat(data / "code/root.sh").st_mode) == 0o755
    assert report.changes[0].summary == models.summary
    records = _records(site)
    assert any(r["details"]["result"].endswith("; group write given to 2") for r in records)
