"""One tree split between walks (issue 19): when a worker has nothing left, a busy one
hands it the names left in one of its directories. The totals stay du's to the byte:
a file linked from two pieces once, marked folders, owners; and a piece whose folder
was swapped for a link or another folder is not followed."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections import deque
from pathlib import Path

import pytest

from datakeeper.features.disk import scan as disk_scan
from datakeeper.features.disk.scan import ScanRequest, scan_tree, scan_trees
from datakeeper.system import workers
from datakeeper.system.workers import run_forked

needs_du = pytest.mark.skipif(shutil.which("du") is None, reason="needs du (coreutils)")


def du(path: Path) -> int:
    out = subprocess.run(["du", "-sxB1", str(path)], capture_output=True, text=True, check=True)
    return int(out.stdout.split()[0])


@pytest.fixture
def tree(tmp_path) -> Path:
    """Six folders of five, files of several sizes, hard links within one folder and
    across folders (so across pieces), a folder whose name is not UTF-8, a symlink
    and a sparse file."""
    top = tmp_path / "top"
    for a in range(6):
        for b in range(5):
            folder = top / f"d{a}" / f"s{b}"
            folder.mkdir(parents=True)
            for c in range(4):
                (folder / f"f{c}").write_bytes(b"x" * (a * 5000 + b * 700 + c))
    os.link(top / "d0/s0/f1", top / "d5/s4/across")  # two pieces, one file
    os.link(top / "d2/s1/f2", top / "d4/s0/across")
    os.link(top / "d1/s0/f3", top / "d1/s3/within")  # one marked folder, two pieces
    odd = top / os.fsdecode(b"d\xe9\nname")  # not UTF-8, a newline: sent to another worker
    odd.mkdir()
    (odd / "f").write_bytes(b"x" * 9000)
    os.link(odd / "f", top / "d3/odd-link")
    os.symlink("/usr", top / "d3/link")
    with open(top / "d3/sparse", "wb") as handle:
        handle.truncate(20 * 1024 * 1024)
        handle.write(b"end")
    return top


def split_everywhere(top: Path, marks=(), by_owner=False, every: int = 1):
    """Walk ``top`` in this process, handing work over at every ``every``-th directory,
    then walk each piece handed over (which may hand over again); return the scan
    assembled from every part, and how many parts there were."""
    pieces: deque = deque()
    calls = [0]

    def wanted() -> bool:
        calls[0] += 1
        return calls[0] % every == 0

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(disk_scan, "split_wanted", wanted)
        patch.setattr(disk_scan, "give", pieces.append)
        parts = [disk_scan._Walk(top, marks, by_owner, None).run()]
        while pieces:
            piece = pieces.popleft()
            parts.append(disk_scan._Walk(top, marks, by_owner, None).run_piece(piece))
    assert disk_scan._complete(parts)
    return disk_scan._assemble(top, parts), len(parts)


@needs_du
@pytest.mark.parametrize("every", [1, 3])
def test_a_tree_split_into_pieces_adds_up_to_du(tree, every):
    whole = scan_tree(tree)
    split, parts = split_everywhere(tree, every=every)
    assert parts > 5
    assert split.total.bytes == whole.total.bytes == du(tree)
    assert split.total.entries == whole.total.entries
    assert split.errors == 0 and split.skipped_mounts == []


def test_marked_folders_and_owners_are_the_same_split_or_whole(tree):
    marks = [tree / "d1", tree / "d1" / "s2", tree / "d3"]
    whole = scan_tree(tree, marks=marks, by_owner=True)
    split, _parts = split_everywhere(tree, marks=marks, by_owner=True)
    assert list(split.usage) != [] and set(split.usage) == set(whole.usage)
    for path, usage in whole.usage.items():
        assert (split.usage[path].bytes, split.usage[path].entries) == (usage.bytes, usage.entries)
        assert split.usage[path].owners == usage.owners
        assert sum(usage.owners.values()) == usage.bytes


def test_a_piece_whose_folder_became_a_symlink_is_not_followed(tree, tmp_path):
    outside = tmp_path / "outside"
    (outside / "secret").mkdir(parents=True)
    (outside / "secret" / "big").write_bytes(b"x" * 2_000_000)
    info = os.lstat(tree / "d2")
    piece = disk_scan._Piece(0, f"{tree}/d2", (info.st_dev, info.st_ino), tree, ("s0",))
    shutil.rmtree(tree / "d2")
    os.symlink(outside, tree / "d2")  # a member swaps the folder after it was handed over
    part = disk_scan._Walk(tree, (), False, None).run_piece(piece)
    assert part.errors == 1 and part.usage[tree].bytes == 0
    assert part.error_samples[0].startswith(f"{tree}/d2: ")


def test_a_piece_whose_folder_was_replaced_counts_nothing(tree):
    info = os.lstat(tree / "d2")
    piece = disk_scan._Piece(0, f"{tree}/d2", (info.st_dev, info.st_ino), tree, ("s0", "s1"))
    os.rename(tree / "d2", tree / "old")
    os.rename(tree / "d4", tree / "d2")  # another folder of the tree in its place
    part = disk_scan._Walk(tree, (), False, None).run_piece(piece)
    assert part.errors == 1 and "replaced during the scan" in part.error_samples[0]
    assert (part.usage[tree].bytes, part.usage[tree].entries) == (0, 0)


@needs_du
def test_one_tree_alone_is_split_between_the_workers(tree, monkeypatch):
    """The pool asks the only busy worker for work as soon as the other is idle. Each
    folder takes the walk 10 ms here (0.36 s in all), so that the request, sent at
    once, surely comes while it walks, even on a loaded machine."""
    seen: list[int] = []
    real, real_enter = disk_scan._assemble, disk_scan._Walk.enter

    def assemble(top, parts):
        seen.append(len(parts))
        return real(top, parts)

    def slow_enter(*args):
        time.sleep(0.01)
        return real_enter(*args)

    monkeypatch.setattr(disk_scan, "_assemble", assemble)
    monkeypatch.setattr(disk_scan._Walk, "enter", slow_enter)
    (scan,) = scan_trees([ScanRequest(tree)], jobs=2)
    assert scan.total.bytes == du(tree)
    assert seen and seen[0] > 1


def test_work_handed_back_is_run_by_another_worker():
    """run_forked: a job that hands work back while the pool asks; every piece's
    result comes back once, and more than one process did the work."""

    def job(work):
        numbers = list(range(2000)) if work == 0 else list(work)
        total = 0
        while numbers:
            if workers.split_wanted() and len(numbers) > 1:
                half = len(numbers) // 2
                workers.give(tuple(numbers[half:]))
                numbers = numbers[:half]
            total += numbers.pop()
            os.sched_yield()
        return total, os.getpid()

    results: list[tuple[int, int]] = []
    run_forked(job, 1, 2, started=lambda: None, done=lambda work, result: results.append(result))
    assert sum(total for total, _pid in results) == sum(range(2000))
    assert len({pid for _total, pid in results}) == 2


def test_give_outside_a_worker_is_refused():
    assert workers.split_wanted() is False
    with pytest.raises(RuntimeError):
        workers.give(("anything",))


def test_a_file_taken_back_leaves_no_owner_of_nothing():
    """A folder whose only file of an owner was linked from an earlier part: the owner
    is gone from it, as in a walk that was never split (which never counted it here)."""
    usage = disk_scan.Usage(bytes=8192, entries=2, owners={1000: 4096, 1001: 4096})
    disk_scan._take_back(usage, 4096, 1001)
    assert (usage.bytes, usage.entries, usage.owners) == (4096, 1, {1000: 4096})
