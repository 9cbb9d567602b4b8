"""The seal of the shared hub cache: downloads become unchangeable by other members,
while the folders huggingface_hub shares (locks, refs) keep working."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from datakeeper.features.setup import cache_seal
from datakeeper.features.setup.cache_seal import HUB, hub_cache_path, sealed_hub
from datakeeper.resources.tree_permissions import TreePermissions
from datakeeper.system.safewalk import KEEP

REPO = "models--org--tiny"


@pytest.fixture
def mine(monkeypatch):
    """Root gives sealed folders to root; without root, to whoever runs the test."""
    monkeypatch.setattr(cache_seal, "ROOT", os.geteuid())


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def _as_downloaded_with_umask_002(hub: Path) -> None:
    """The layout huggingface_hub leaves under umask 002: nothing sticky, all group-writable."""
    for folder in (f"{REPO}/blobs", f"{REPO}/snapshots/c0ffee", f"{REPO}/refs", f".locks/{REPO}"):
        (hub / folder).mkdir(parents=True)
    for path, text in ((f"{REPO}/blobs/ab12", "weights"), (f"{REPO}/refs/main", "c0ffee")):
        (hub / path).write_text(text)
    (hub / f".locks/{REPO}/ab12.lock").write_text("")
    (hub / f"{REPO}/snapshots/c0ffee/model.bin").symlink_to("../../blobs/ab12")
    for path in [hub, *hub.rglob("*")]:
        if not path.is_symlink():
            os.chmod(path, 0o2775 if path.is_dir() else 0o664)


def _seal(hub: Path) -> list[str]:
    resource = TreePermissions(hub, HUB)
    changes = resource.plan()
    for change in changes:
        change.action()
    return [change.summary for change in changes]


def test_downloads_lose_group_write_and_their_folders_get_the_sticky_bit(tmp_path, mine):
    _as_downloaded_with_umask_002(tmp_path)
    [summary] = _seal(tmp_path)
    assert "group write" not in summary  # nobody gains write access
    assert _mode(tmp_path / f"{REPO}/blobs/ab12") == 0o644
    for folder in (REPO, f"{REPO}/blobs", f"{REPO}/snapshots", f"{REPO}/snapshots/c0ffee"):
        assert _mode(tmp_path / folder) == 0o3775, folder
    assert _mode(tmp_path) == 0o2775  # the hub folder itself is the FOLDERS step's


def test_sealed_folders_are_given_to_root_so_no_member_owns_one(tmp_path):
    """Under the sticky bit a folder's owner may still remove anyone's entry in it."""
    info = os.lstat(tmp_path)
    assert cache_seal.REPO.directory(info)[0] == cache_seal.SEALED.directory(info)[0] == 0
    assert cache_seal.LOCKS.directory(info)[0] == cache_seal.REFS.directory(info)[0] == KEEP
    assert cache_seal.HUB.directory(info) == (KEEP, KEEP, stat.S_IMODE(info.st_mode))


def test_locks_and_refs_stay_shared_and_replaceable(tmp_path, mine):
    _as_downloaded_with_umask_002(tmp_path)
    _seal(tmp_path)
    # filelock refuses another account's lock file in a sticky folder, and a ref is
    # replaced by a rename when its branch moves: neither folder may be sticky
    for folder in (".locks", f".locks/{REPO}", f"{REPO}/refs"):
        assert _mode(tmp_path / folder) == 0o2775, folder
    assert _mode(tmp_path / f".locks/{REPO}/ab12.lock") == 0o664
    assert _mode(tmp_path / f"{REPO}/refs/main") == 0o664


def test_a_sealed_cache_plans_nothing(tmp_path, mine):
    _as_downloaded_with_umask_002(tmp_path)
    _seal(tmp_path)
    assert TreePermissions(tmp_path, HUB).plan() == []


def test_the_hub_comes_from_the_shared_environment():
    assert hub_cache_path({"HF_HOME": "/d/hf"}) == Path("/d/hf/hub")
    assert hub_cache_path({"HF_HOME": "/d/hf", "HF_HUB_CACHE": "/d/hub"}) == Path("/d/hub")
    assert sealed_hub({"TORCH_HOME": "/d/torch"}) == []
