"""Archive and purge of a removed user's home: intact, or gone without following links."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from datakeeper.errors import ConflictError
from datakeeper.features.users.remove import home_data as data
from datakeeper.resources.removed_home import HomeArchived, HomePurged
from datakeeper.system import home_move


def _tree(top: Path) -> dict[str, tuple]:
    """Every entry below ``top``: type and mode, and content hash or link target."""
    found = {}
    for root, dirs, files in os.walk(top):
        for name in dirs + files:
            path = Path(root) / name
            info = path.lstat()
            if path.is_symlink():
                content = os.readlink(path)
            elif path.is_file():
                content = hashlib.sha256(path.read_bytes()).hexdigest()
            else:
                content = None
            found[str(path.relative_to(top))] = (info.st_mode, info.st_uid, content)
    return found


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    victim = tmp_path / "etc-passwd"
    victim.write_text("root:x:0:0\n")
    return victim


@pytest.fixture
def home(tmp_path: Path, victim: Path) -> Path:
    home = tmp_path / "data" / "users" / "bob"
    (home / "proj" / "sub").mkdir(parents=True)
    (home / "proj" / "sub" / "w.pt").write_bytes(os.urandom(300_000))
    (home / "notes.txt").write_text("hello\n")
    (home / "notes.txt").chmod(0o640)
    (home / "passwd").symlink_to(victim)
    home.chmod(0o750)
    return home


def test_archive_on_the_same_filesystem_renames_intact(tmp_path, home):
    before = _tree(home)
    state = home_move.inspect_home(home)
    destination = data.archive_destination(tmp_path / "backup", "bob", "20240101-120000")
    destination.parent.mkdir(parents=True)
    [change] = HomeArchived(state, destination).plan()
    assert "rename, same filesystem" in change.summary
    change.action()
    assert not os.path.lexists(home)
    assert _tree(destination) == before
    assert destination.name == "bob-20240101-120000"


def test_archive_across_filesystems_copies_verifies_then_deletes(tmp_path, home, victim):
    before = _tree(home)
    top_mode = home.stat().st_mode
    state = home_move.inspect_home(home)
    destination = tmp_path / "backup" / "archive" / "bob-x"
    destination.parent.mkdir(parents=True)
    home_move.copy_then_delete(state, destination)  # the cross-filesystem path, forced
    assert not os.path.lexists(home)
    assert _tree(destination) == before
    assert destination.stat().st_mode == top_mode
    assert victim.read_text() == "root:x:0:0\n"
    assert sorted(os.listdir(destination.parent)) == ["bob-x"], "no partial copy left"


def test_archive_refuses_an_existing_destination(tmp_path, home):
    destination = tmp_path / "backup" / "archive" / "bob-x"
    destination.mkdir(parents=True)
    with pytest.raises(ConflictError, match="already exists"):
        HomeArchived(home_move.inspect_home(home), destination).plan()


def test_purge_deletes_the_home_and_not_what_links_point_to(home, victim):
    [change] = HomePurged(home_move.inspect_home(home)).plan()
    assert change.summary.startswith("DELETE ")
    change.action()
    assert not os.path.lexists(home)
    assert victim.read_text() == "root:x:0:0\n"


def test_purge_of_a_missing_home_plans_nothing(tmp_path):
    assert HomePurged(home_move.inspect_home(tmp_path / "nobody")).plan() == []


def test_size_is_reported_with_the_home(home):
    state = home_move.inspect_home(home)
    report = state.as_dict()
    assert report["kind"] == "directory"
    assert report["files"] == 3 and report["directories"] == 3
    assert report["allocated_bytes"] >= 300_000
