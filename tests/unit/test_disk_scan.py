"""The tree scanner: the same totals as ``du -sxB1``, hard links once, symlinks never followed."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from datakeeper.features.disk import scan as disk_scan
from datakeeper.features.disk.scan import ScanRequest, scan_tree, scan_trees

needs_du = pytest.mark.skipif(shutil.which("du") is None, reason="needs du (coreutils)")
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to chown")


def du(path: Path) -> int:
    """What ``du -s -x --block-size=1`` says, the reference."""
    out = subprocess.run(
        ["du", "-s", "-x", "--block-size=1", str(path)], capture_output=True, text=True, check=True
    ).stdout
    return int(out.split()[0])


def write(path: Path, size: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    return path


@pytest.fixture
def tree(tmp_path) -> Path:
    """Nested folders, empty, small, page-sized, sparse files, a FIFO and a symlink."""
    top = tmp_path / "top"
    write(top / "a" / "small.txt", 10)
    write(top / "a" / "b" / "c" / "page.bin", 4096)
    write(top / "a" / "b" / "big.bin", 300_000)
    write(top / "empty", 0)
    (top / "emptydir").mkdir()
    with open(top / "sparse", "wb") as handle:
        handle.truncate(50 * 1024 * 1024)
        handle.seek(10 * 1024 * 1024)
        handle.write(b"data")
    os.mkfifo(top / "fifo")
    os.symlink("a/small.txt", top / "link")
    return top


@needs_du
def test_total_equals_du(tree):
    scan = scan_tree(tree)
    assert scan.total.bytes == du(tree)
    assert scan.errors == 0
    assert scan.total.entries == 12  # the top, 4 folders below it, 7 other entries


@needs_du
def test_sparse_file_counts_allocated_blocks_not_length(tree):
    assert scan_tree(tree).total.bytes < 10 * 1024 * 1024


@needs_du
def test_hard_links_count_once(tmp_path):
    top = tmp_path / "top"
    original = write(top / "one" / "model.bin", 1_000_000)
    (top / "two").mkdir()
    os.link(original, top / "two" / "model.bin")
    os.link(original, top / "model-again.bin")
    total = scan_tree(top).total.bytes
    assert total == du(top)
    assert total < 2 * 1_000_000


@needs_du
def test_symlinks_are_not_followed(tmp_path):
    outside = write(tmp_path / "outside" / "huge.bin", 5_000_000).parent
    top = tmp_path / "top"
    write(top / "f", 100)
    os.symlink(outside, top / "to-dir")
    os.symlink(outside / "huge.bin", top / "to-file")
    total = scan_tree(top).total.bytes
    assert total == du(top)
    assert total < 1_000_000


def test_symlink_as_top_is_not_followed(tmp_path):
    write(tmp_path / "real" / "f", 100_000)
    os.symlink(tmp_path / "real", tmp_path / "link")
    scan = scan_tree(tmp_path / "link")
    assert scan.total.entries == 1
    assert scan.total.bytes < 100_000


@needs_du
def test_marked_folders_get_their_own_totals(tree):
    inner, deepest = tree / "a" / "b", tree / "a" / "b" / "c"
    scan = scan_tree(tree, marks=[inner, deepest, tree / "missing"])
    assert scan.usage[tree].bytes == du(tree)
    assert scan.usage[inner].bytes == du(inner)
    assert scan.usage[deepest].bytes == du(deepest)
    assert tree / "missing" not in scan.usage


@needs_root
def test_by_owner_splits_the_total(tmp_path):
    top = tmp_path / "shared"
    os.chown(write(top / "alice.bin", 100_000), 40001, 40001)
    os.chown(write(top / "bob" / "bob.bin", 300_000), 40002, 40002)
    usage = scan_tree(top, by_owner=True).total
    assert sum(usage.owners.values()) == usage.bytes
    assert usage.owners[40002] > usage.owners[40001] > 0


def test_a_directory_it_cannot_open_is_counted_as_an_error(tree, monkeypatch):
    real_open = os.open

    def refuse_b(name, flags, *args, **kwargs):
        if name == "b":
            raise PermissionError(errno.EACCES, "Permission denied", name)
        return real_open(name, flags, *args, **kwargs)

    monkeypatch.setattr(disk_scan.os, "open", refuse_b)
    scan = scan_tree(tree)
    assert scan.errors == 1
    assert scan.error_samples == [f"{tree}/a/b: Permission denied"]
    assert scan.total.bytes > 0  # the rest is still counted


def test_a_directory_swapped_mid_scan_is_not_followed(tree, tmp_path, monkeypatch):
    outside = write(tmp_path / "outside" / "secret.bin", 2_000_000).parent
    real_open = os.open

    def swapped(name, flags, *args, dir_fd=None, **kwargs):
        if name == "b":  # a user replaced a/b with a link to another tree after we listed it
            return real_open(outside, flags)
        return real_open(name, flags, *args, dir_fd=dir_fd, **kwargs)

    monkeypatch.setattr(disk_scan.os, "open", swapped)
    scan = scan_tree(tree)
    assert scan.errors == 1 and "replaced during the scan" in scan.error_samples[0]
    assert scan.total.bytes < 1_000_000


def test_missing_top_is_an_error_not_a_crash(tmp_path):
    scan = scan_tree(tmp_path / "nope")
    assert (scan.errors, scan.total.bytes) == (1, 0)


def test_progress_reports_growing_counts(tree):
    seen: list[int] = []
    scan_tree(tree, progress=seen.append)
    assert seen == sorted(seen)
    assert seen


@needs_du
@pytest.mark.parametrize("jobs", [1, 3])
def test_scan_trees_keeps_order_and_matches_du(tmp_path, jobs):
    tops = []
    for name, size in (("u1", 10), ("u2", 200_000), ("u3", 5000)):
        write(tmp_path / name / "deep" / "f", size)
        tops.append(tmp_path / name)
    events: list[str] = []

    class Listener:
        def started(self, trees):
            events.append(f"started {trees}")

        def scanning(self, top, entries):
            pass

        def finished(self, scan):
            events.append("finished")

    scans = scan_trees([ScanRequest(t) for t in tops], jobs=jobs, listener=Listener())
    assert [s.top for s in scans] == tops
    assert [s.total.bytes for s in scans] == [du(t) for t in tops]
    assert events == ["started 3", "finished", "finished", "finished"]
