"""The fd-relative permission walk: it changes what it examined and nothing outside the tree.

The victims are files outside the walked tree in the test's temporary directory
(the sandbox tests plant links to the real /etc/shadow). Changing groups and
owners needs root; without it those tests are skipped.
"""

from __future__ import annotations

import os
import socket
import stat
from pathlib import Path

import pytest

from datakeeper.errors import RefusedError
from datakeeper.features.permissions import SharedRules, UserRules
from datakeeper.system import safewalk
from datakeeper.system.safewalk import fix_tree, open_directory, survey_tree

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="changing groups needs root")
GID = 4321  # a group id nobody in the tests' trees has
BOB = 1234  # a member who owns entries in the tree (no such account is needed)


def _shared(
    path: str = "cache", sticky=frozenset(), excluded=frozenset(), **options
) -> SharedRules:
    return SharedRules(GID, path, frozenset(sticky), frozenset(excluded), **options)


def _lstat(mode: int, uid: int = BOB, gid: int = GID) -> os.stat_result:
    """What lstat would say about an entry with this type and mode, owner and group."""
    return os.stat_result((mode, 1, 1, 1, uid, gid, 0, 0, 0, 0))


def _chown_tree(top: Path, uid: int) -> None:
    for path in [top, *top.rglob("*")]:
        os.chown(path, uid, -1, follow_symlinks=False)


def _make(path: Path, mode: int, data: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    path.chmod(mode)
    return path


def _state(path: Path) -> tuple[int, int, int]:
    info = os.lstat(path)
    return stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid


@pytest.fixture
def tree(tmp_path) -> Path:
    top = tmp_path / "cache"
    top.mkdir(mode=0o700)
    top.chmod(0o700)
    _make(top / "a.bin", 0o600)
    _make(top / "run.sh", 0o700)
    _make(top / "sub/deeper/b.bin", 0o600)
    (top / "sub").chmod(0o700)
    (top / "sub/deeper").chmod(0o700)
    return top


@pytest.fixture
def victim(tmp_path) -> Path:
    """A directory and file outside the tree that must never change."""
    outside = tmp_path / "outside"
    _make(outside / "secret", 0o600, b"precious")
    outside.chmod(0o700)
    return outside


@needs_root
def test_shared_rules_make_a_private_tree_group_readable_not_writable(tree):
    _chown_tree(tree, BOB)
    report = fix_tree(tree, _shared())
    assert _state(tree) == (0o2750, BOB, GID)
    assert _state(tree / "sub/deeper") == (0o2750, BOB, GID)
    assert _state(tree / "a.bin") == (0o640, BOB, GID)
    assert _state(tree / "run.sh") == (0o750, BOB, GID)
    assert report.counts["changed"] == 6
    assert report.counts["write_granted"] == 0 and report.granted == []
    assert fix_tree(tree, _shared()).counts["changed"] == 0


def test_group_write_is_never_added_to_what_its_owner_kept_from_the_group():
    rules = _shared()
    assert rules.file(_lstat(stat.S_IFREG | 0o644)) == (-1, GID, 0o644)  # bob's library
    assert rules.file(_lstat(stat.S_IFREG | 0o755, uid=0, gid=0)) == (-1, GID, 0o755)  # root's
    assert rules.directory(_lstat(stat.S_IFDIR | 0o755)) == (-1, GID, 0o2755)  # bob's package
    assert rules.directory(_lstat(stat.S_IFDIR | 0o700, uid=0)) == (-1, GID, 0o2750)
    assert rules.file(_lstat(stat.S_IFREG | 0o600)) == (-1, GID, 0o640)


def test_group_write_the_owner_gave_the_site_group_stays_and_other_groups_lose_it():
    rules = _shared()
    assert rules.file(_lstat(stat.S_IFREG | 0o664))[2] == 0o664
    assert rules.directory(_lstat(stat.S_IFDIR | 0o2775))[2] == 0o2775
    # write for bob's private group is not write for every member of the site group
    assert rules.file(_lstat(stat.S_IFREG | 0o664, gid=BOB))[2] == 0o644
    assert rules.directory(_lstat(stat.S_IFDIR | 0o775, gid=BOB))[2] == 0o2755
    assert rules.file(_lstat(stat.S_IFREG | 0o775, uid=0, gid=0))[2] == 0o755


def test_the_configured_shared_folders_keep_their_declared_group_write():
    rules = _shared("models", sticky={"models"}, declared=frozenset({"models", "models/hub"}))
    assert rules.directory(_lstat(stat.S_IFDIR | 0o755, uid=0))[2] == 0o3775
    assert rules.child("hub").directory(_lstat(stat.S_IFDIR | 0o755))[2] == 0o2775
    assert rules.child("bob").directory(_lstat(stat.S_IFDIR | 0o755))[2] == 0o2755


def test_grant_write_adds_group_write_except_on_roots_entries():
    rules = _shared(grant_write=True).child("bob")
    assert rules.file(_lstat(stat.S_IFREG | 0o644, gid=BOB))[2] == 0o664
    assert rules.directory(_lstat(stat.S_IFDIR | 0o755))[2] == 0o2775
    assert rules.file(_lstat(stat.S_IFREG | 0o755, uid=0))[2] == 0o755
    assert rules.directory(_lstat(stat.S_IFDIR | 0o755, uid=0))[2] == 0o2755


@needs_root
def test_grant_write_names_every_entry_that_gains_it_in_the_survey_and_the_fix(tree):
    _chown_tree(tree, BOB)
    os.chown(tree / "run.sh", 0, -1)  # root's script: never made group-writable
    survey = survey_tree(tree, _shared(grant_write=True))
    wanted = {tree, tree / "a.bin", tree / "sub", tree / "sub/deeper", tree / "sub/deeper/b.bin"}
    assert {Path(p) for p in survey.granted} == wanted
    assert survey.counts["write_granted"] == 5 and survey.counts["changed"] == 6
    assert _state(tree / "a.bin")[0] == 0o600  # a survey changes nothing
    fixed = fix_tree(tree, _shared(grant_write=True))
    assert sorted(fixed.granted) == sorted(survey.granted)
    assert _state(tree / "a.bin") == (0o660, BOB, GID)
    assert _state(tree / "sub/deeper") == (0o2770, BOB, GID)
    assert _state(tree / "run.sh") == (0o750, 0, GID)
    assert survey_tree(tree, _shared(grant_write=True)).counts["changed"] == 0


@needs_root
def test_dry_run_counts_and_changes_nothing(tree):
    before = {p: _state(p) for p in tree.rglob("*")}
    report = survey_tree(tree, _shared())
    assert report.counts["changed"] == 6
    assert report.counts["group_changed"] == 6
    assert {p: _state(p) for p in tree.rglob("*")} == before
    fixed = fix_tree(tree, _shared())
    assert (fixed.counts, fixed.samples) == (report.counts, report.samples)
    assert len(report.samples) == 5 and report.samples[0] == str(tree)


@needs_root
def test_symlinks_inside_the_tree_are_left_alone(tree, victim):
    (tree / "etc").symlink_to(victim)
    (tree / "shadow").symlink_to(victim / "secret")
    (tree / "sub/up").symlink_to("../..")
    before = _state(victim), _state(victim / "secret")
    report = fix_tree(tree, _shared())
    assert (_state(victim), _state(victim / "secret")) == before
    assert (victim / "secret").read_bytes() == b"precious"
    assert report.counts["symlinks"] == 3
    assert (tree / "etc").is_symlink()


@needs_root
def test_a_directory_swapped_for_a_symlink_mid_walk_is_not_entered(tree, victim):
    def swap(dir_fd: int, name: str) -> None:
        if name == "sub":
            os.rename(name, "sub.moved", src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
            os.symlink(str(victim), name, dir_fd=dir_fd)

    before = _state(victim), _state(victim / "secret")
    report = fix_tree(tree, _shared(), swap)
    assert (_state(victim), _state(victim / "secret")) == before
    assert report.counts["changed_during_walk"] == 1
    assert _state(tree / "sub.moved/deeper/b.bin")[0] == 0o600  # not reached this time


@needs_root
def test_a_file_swapped_for_a_symlink_or_another_inode_is_not_changed(tree, victim):
    def swap(dir_fd: int, name: str) -> None:
        if name == "a.bin":
            os.unlink(name, dir_fd=dir_fd)
            os.symlink(str(victim / "secret"), name, dir_fd=dir_fd)
        elif name == "run.sh":
            os.unlink(name, dir_fd=dir_fd)
            os.link(victim / "secret", name, dst_dir_fd=dir_fd)

    before = _state(victim / "secret")
    report = fix_tree(tree, _shared(), swap)
    assert _state(victim / "secret") == before
    assert report.counts["changed_during_walk"] == 2


@needs_root
def test_files_with_several_hard_links_are_skipped(tree, victim):
    os.link(victim / "secret", tree / "linked")
    before = _state(victim / "secret")
    report = fix_tree(tree, _shared())
    assert _state(victim / "secret") == before
    assert report.counts["hard_links"] == 1
    assert any("linked: several hard links" in p for p in report.problems)


@needs_root
def test_fifos_and_sockets_are_skipped_without_hanging(tree):
    os.mkfifo(tree / "pipe", 0o600)
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(tree / "sock"))
        report = fix_tree(tree, _shared())
    assert report.counts["special_files"] == 2
    assert _state(tree / "pipe")[::2] == (0o600, os.getgid())


def test_a_symlinked_top_or_ancestor_is_refused(tree, tmp_path):
    (tmp_path / "link").symlink_to(tree)
    (tmp_path / "parent").symlink_to(tmp_path)
    for top in (tmp_path / "link", tmp_path / "parent/cache"):
        with pytest.raises(RefusedError, match="symlink"):
            survey_tree(top, _shared())
    with pytest.raises(FileNotFoundError):
        open_directory(tmp_path / "absent")


@needs_root
def test_trees_deeper_than_the_limit_are_cut_off(tree, monkeypatch):
    monkeypatch.setattr(safewalk, "MAX_DEPTH", 1)
    report = fix_tree(tree, _shared())
    assert report.counts["too_deep"] == 1
    assert _state(tree / "sub")[0] == 0o2750
    assert _state(tree / "sub/deeper/b.bin")[0] == 0o600


@needs_root
def test_set_id_bits_go_from_files_and_sticky_comes_on_configured_folders(tmp_path):
    top = tmp_path / "models"
    _make(top / "tool", 0o4755)
    top.chmod(0o755)
    _make(top / "hub/model.bin", 0o2644)
    (top / "hub").chmod(0o755)
    (top / "private").mkdir(mode=0o700)
    configured = frozenset({"models", "models/hub"})
    rules = _shared("models", sticky=configured, excluded={"models/private"}, declared=configured)
    report = fix_tree(top, rules)
    assert _state(top)[0] == 0o3775
    assert _state(top / "tool")[0] == 0o755
    assert _state(top / "hub")[0] == 0o3775
    assert _state(top / "hub/model.bin")[0] == 0o644
    assert _state(top / "private") == (0o700, 0, os.getgid())
    assert report.counts["excluded"] == 1


@needs_root
def test_user_rules_fix_owner_group_modes_and_ssh(tmp_path):
    home = tmp_path / "alice"
    home.mkdir(mode=0o2775)
    _make(home / "notes.txt", 0o666)
    _make(home / "shared.txt", 0o664)
    os.chown(home / "shared.txt", -1, 500)
    _make(home / ".ssh/authorized_keys", 0o644)
    (home / ".ssh").chmod(0o755)
    _make(home / "bin/tool", 0o6755)
    rules = UserRules(1234, 1234, frozenset({1234, 500}), 0o750)
    fix_tree(home, rules)
    assert _state(home) == (0o750, 1234, 1234)
    assert _state(home / "notes.txt") == (0o644, 1234, 1234)
    assert _state(home / "shared.txt") == (0o644, 1234, 500)  # a group alice belongs to
    assert _state(home / ".ssh") == (0o700, 1234, 1234)
    assert _state(home / ".ssh/authorized_keys") == (0o600, 1234, 1234)
    assert _state(home / "bin/tool") == (0o755, 1234, 1234)
