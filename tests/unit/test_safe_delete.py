"""Deleting and measuring a user's tree never follows a symlink out of it."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from datakeeper.errors import RefusedError
from datakeeper.system import safe_delete
from datakeeper.system.safe_delete import delete_tree, measure_tree, walk


def _state(path: Path) -> tuple:
    info = path.lstat()
    content = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None
    return info.st_mode, info.st_uid, info.st_gid, content


@pytest.fixture
def victims(tmp_path: Path) -> dict[str, Path]:
    """Files outside the tree that a planted symlink points at."""
    outside = tmp_path / "outside"
    (outside / "etc").mkdir(parents=True)
    (outside / "etc" / "passwd").write_text("root:x:0:0\n")
    (outside / "etc" / "passwd").chmod(0o644)
    (outside / "other-user").mkdir()
    (outside / "other-user" / "thesis.tex").write_text("precious\n")
    return {
        "etc": outside / "etc",
        "passwd": outside / "etc" / "passwd",
        "other_dir": outside / "other-user",
        "other_file": outside / "other-user" / "thesis.tex",
    }


@pytest.fixture
def home(tmp_path: Path, victims: dict[str, Path]) -> Path:
    """A user's tree with nested folders and symlinks planted to the victims."""
    home = tmp_path / "users" / "bob"
    (home / "code" / "deep" / "deeper").mkdir(parents=True)
    (home / "code" / "main.py").write_text("print(1)\n")
    (home / "code" / "deep" / "deeper" / "data.bin").write_bytes(b"x" * 10000)
    (home / "etc-link").symlink_to(victims["etc"])
    (home / "code" / "passwd-link").symlink_to(victims["passwd"])
    (home / "code" / "deep" / "theirs").symlink_to(victims["other_dir"])
    (home / "thesis-link").symlink_to(victims["other_file"])
    (home / "dangling").symlink_to(home.parent / "nowhere")
    os.link(home / "code" / "main.py", home / "hardlink.py")
    (home / "locked").mkdir(mode=0o500)  # a folder the user made read-only
    return home


def test_delete_removes_the_tree_and_leaves_every_symlink_target(home, victims):
    before = {name: _state(path) for name, path in victims.items()}
    listing = sorted(os.listdir(victims["etc"])), sorted(os.listdir(victims["other_dir"]))
    report = delete_tree(home.parent, "bob")
    assert not os.path.lexists(home)
    assert {name: _state(path) for name, path in victims.items()} == before
    assert (sorted(os.listdir(victims["etc"])), sorted(os.listdir(victims["other_dir"]))) == listing
    assert report.directories == 5  # bob, code, deep, deeper, locked
    assert report.files == 8


def test_a_symlinked_top_is_refused_and_its_target_untouched(tmp_path, victims):
    (tmp_path / "users").mkdir()
    (tmp_path / "users" / "bob").symlink_to(victims["other_dir"])
    with pytest.raises(RefusedError, match="symbolic link"):
        delete_tree(tmp_path / "users", "bob")
    assert victims["other_file"].read_text() == "precious\n"
    assert (tmp_path / "users" / "bob").is_symlink()


def test_a_file_at_the_top_is_refused(tmp_path):
    (tmp_path / "bob").write_text("not a home")
    with pytest.raises(RefusedError, match="not a directory"):
        delete_tree(tmp_path, "bob")
    assert (tmp_path / "bob").read_text() == "not a home"


def test_a_symlinked_parent_is_refused(tmp_path, victims):
    (tmp_path / "users").symlink_to(victims["other_dir"])
    with pytest.raises(RefusedError, match="not a real directory"):
        delete_tree(tmp_path / "users", "thesis.tex")
    assert victims["other_file"].exists()


def test_missing_top_is_refused(tmp_path):
    with pytest.raises(RefusedError, match="does not exist"):
        delete_tree(tmp_path, "bob")


def test_a_top_replaced_since_planning_is_refused(home):
    planned = safe_delete.ident(home.lstat())
    os.rename(home, home.with_name("bob-old"))
    home.mkdir()
    with pytest.raises(RefusedError, match="changed"):
        delete_tree(home.parent, "bob", expected=planned)
    assert home.is_dir() and home.with_name("bob-old").is_dir()


def test_a_directory_swapped_for_a_symlink_during_the_walk_stops_it(home, victims):
    def visit(fd: int, rel: str) -> list[str]:
        if rel == "":  # the attacker swaps code/ for a link once it was listed
            os.rename("code", "code-old", src_dir_fd=fd, dst_dir_fd=fd)
            os.symlink(victims["etc"], "code", dir_fd=fd)
            return ["code"]
        raise AssertionError(f"must not enter {rel}")

    with pytest.raises(RefusedError, match="changed"):
        walk(safe_delete.open_dir(home), visit)
    assert victims["passwd"].read_text() == "root:x:0:0\n"


def test_a_tree_deeper_than_the_open_file_limit_is_deleted(tmp_path):
    fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    os.mkdir("deep", dir_fd=fd)
    for _level in range(3000):  # deeper than the recursion limit and 1024 descriptors
        child = os.open("deep", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
        os.close(fd)
        fd = child
        os.mkdir("deep", dir_fd=fd)
    with open(os.open("file", os.O_WRONLY | os.O_CREAT, 0o600, dir_fd=fd), "w") as handle:
        handle.write("bottom")
    os.close(fd)
    report = delete_tree(tmp_path, "deep")
    assert report.directories == 3001 and report.files == 1
    assert os.listdir(tmp_path) == []


def test_measure_counts_allocated_bytes_once_per_inode_and_follows_no_link(home, victims):
    big = victims["other_dir"] / "big.bin"
    big.write_bytes(b"y" * 1_000_000)
    (home / "big-link").symlink_to(big)
    usage = measure_tree(home)
    assert usage.files == 9  # 2 regular (hard link counted once as bytes), 6 links, 1 hard link
    assert usage.directories == 5
    assert usage.other_filesystems == []
    expected = 0
    seen = set()
    for root, dirs, files in os.walk(home):
        for name in [*dirs, *files, ""]:
            info = os.lstat(os.path.join(root, name)) if name else os.lstat(root)
            if (info.st_dev, info.st_ino) not in seen:
                seen.add((info.st_dev, info.st_ino))
                expected += info.st_blocks * 512
    assert usage.allocated_bytes == expected
    assert usage.allocated_bytes < 1_000_000, "the link's target is not counted"


def test_measure_refuses_a_symlinked_top(tmp_path, victims):
    (tmp_path / "bob").symlink_to(victims["other_dir"])
    with pytest.raises(RefusedError):
        measure_tree(tmp_path / "bob")


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can empty another's 0500 folder")
def test_read_only_folders_with_content_are_deleted(home):
    (home / "locked").chmod(0o700)
    (home / "locked" / "inner").write_text("x")
    (home / "locked").chmod(0o500)
    delete_tree(home.parent, "bob")
    assert not home.exists()
