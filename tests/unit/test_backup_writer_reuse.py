"""The manifest writer reads only what rsync did not hard-link, and hashes whole files."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import xxhash

from datakeeper.features.backup import writer
from datakeeper.features.backup.manifest import file_digest, file_stat_digest, read_manifest
from datakeeper.features.backup.writer import Previous, write_manifest


def _write(root: Path, files: dict[str, bytes]) -> None:
    for name, content in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(content)


def _count_reads(monkeypatch, root: Path, log: Path):
    """Record each file the writer reads (in a file: forked workers read too); returns
    a function giving the paths read so far, below ``root``, sorted."""

    def counted(name: bytes, *, dir_fd: int) -> tuple[os.stat_result, str]:
        path = Path(os.readlink(f"/proc/self/fd/{dir_fd}")) / os.fsdecode(name)
        with open(log, "a") as handle:
            handle.write(path.relative_to(root).as_posix() + "\n")
        return file_stat_digest(name, dir_fd=dir_fd)

    monkeypatch.setattr(writer, "file_stat_digest", counted)
    return lambda: sorted(log.read_text().split()) if log.exists() else []


def test_only_new_or_changed_files_are_read_again(tmp_path, monkeypatch):
    first, second = tmp_path / "one", tmp_path / "two"
    names = ["users/a/0", "users/a/1", "users/a/gone", "users/b/2", "users/b/3", "users/c"]
    _write(first, {name: name.encode() for name in names})
    manifest = tmp_path / "one.jsonl"
    write_manifest(first, manifest, users_folder="users", sample_percent=100, previous=None)
    for name in names:  # what rsync --link-dest does for unchanged files
        if name != "users/a/gone":
            (second / name).parent.mkdir(parents=True, exist_ok=True)
            os.link(first / name, second / name)
    os.unlink(second / "users/b/2")
    _write(second, {"users/b/2": b"changed", "users/a/00-new": b"new", "users/z": b"last"})
    read = _count_reads(monkeypatch, second, tmp_path / "read.log")
    out = tmp_path / "two.jsonl"
    totals = write_manifest(
        second, out, users_folder="users", sample_percent=100, previous=Previous(first, manifest)
    )
    assert read() == ["users/a/00-new", "users/b/2", "users/z"]
    assert totals.added_bytes == len(b"changed") + len(b"new") + len(b"last")
    old = {entry.path: entry.digest for entry in read_manifest(manifest)}
    for entry in read_manifest(out):
        expected = xxhash.xxh3_128_hexdigest((second / entry.path).read_bytes())
        assert entry.digest == expected, entry.path
        if entry.path not in read():
            assert entry.digest == old[entry.path]


def _snapshots(tmp_path: Path, percent: int) -> tuple[Path, Path, Previous]:
    """A first snapshot with its manifest and a second one whose files rsync linked."""
    first, second = tmp_path / "one", tmp_path / "two"
    names = ["users/a/kept", "users/a/copied", "users/b/kept"]
    _write(first, {name: name.encode() * 100 for name in names})
    manifest = tmp_path / "one.jsonl"
    write_manifest(first, manifest, users_folder="users", sample_percent=percent, previous=None)
    for name in names:
        (second / name).parent.mkdir(parents=True, exist_ok=True)
        os.link(first / name, second / name)
    return first, second, Previous(first, manifest)


def test_a_linked_file_keeps_its_line_and_a_copy_with_the_same_times_is_read(tmp_path):
    first, second, previous = _snapshots(tmp_path, 100)
    copied = second / "users/a/copied"  # same bytes, size and mtime, another inode
    os.unlink(copied)
    shutil.copy2(first / "users/a/copied", copied)
    with open(copied, "r+b") as handle:  # changed behind an unchanged size and mtime
        handle.write(b"X")
    os.utime(copied, ns=(0, os.stat(first / "users/a/copied").st_mtime_ns))
    out = tmp_path / "two.jsonl"
    totals = write_manifest(
        second, out, users_folder="users", sample_percent=100, previous=previous
    )
    old_lines = previous.manifest.read_text().splitlines()
    new_lines = out.read_text().splitlines()
    assert new_lines[0] == old_lines[0]  # the header
    assert [line for line in new_lines if "kept" in line] == [
        line for line in old_lines if "kept" in line
    ]
    entry = {e.path: e for e in read_manifest(out)}["users/a/copied"]
    assert entry.digest == file_digest(copied) != file_digest(first / "users/a/copied")
    assert totals.added_bytes == entry.size
    assert totals.users == {"a": 1200 + 1400, "b": 1200}  # each name 100 times


def test_a_hash_the_old_sample_left_out_is_taken_when_the_sample_grows(tmp_path):
    _first, second, previous = _snapshots(tmp_path, 0)
    assert {e.digest for e in read_manifest(previous.manifest)} == {None}
    out = tmp_path / "two.jsonl"
    totals = write_manifest(
        second, out, users_folder="users", sample_percent=100, previous=previous
    )
    assert all(e.digest == file_digest(second / e.path) for e in read_manifest(out))
    assert totals.added_bytes == 0


@pytest.mark.parametrize("damage", ['["users/a/copied", 1200, 5\n', "garbage\n", "caf\xe9\n"])
def test_a_damaged_previous_manifest_is_dropped_from_there_on(tmp_path, monkeypatch, damage):
    _first, second, previous = _snapshots(tmp_path, 100)
    lines = previous.manifest.read_bytes().splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if b"users/a/copied" in line)
    lines[at] = damage.encode("latin-1")
    previous.manifest.write_bytes(b"".join(lines))
    read = _count_reads(monkeypatch, second, tmp_path / "read.log")
    out = tmp_path / "two.jsonl"
    totals = write_manifest(
        second, out, users_folder="users", sample_percent=100, previous=previous
    )
    assert read() == ["users/a/copied", "users/a/kept", "users/b/kept"]  # from the damage on
    fresh = tmp_path / "fresh.jsonl"
    write_manifest(second, fresh, users_folder="users", sample_percent=100, previous=None)
    assert out.read_bytes() == fresh.read_bytes()
    assert totals.added_bytes == 0  # still the same inodes as the previous snapshot's


def test_pieces_written_in_parallel_join_into_the_same_manifest(tmp_path):
    """Homes are written by forked workers; the file and totals match one process's."""
    first, second = tmp_path / "one", tmp_path / "two"
    names = [f"users/u{u}/p{p}/f{f}" for u in range(5) for p in range(3) for f in range(4)]
    names += ["top-file", "users/loose", "users/u1/x", "code/lab/a", "code/b", "users/gone/f"]
    _write(first, {name: name.encode() * 3 for name in names})
    with open(os.fsencode(first / "users" / "u2") + b"/caf\xe9", "wb") as handle:
        handle.write(b"raw")
    manifest = tmp_path / "one.jsonl"
    write_manifest(first, manifest, users_folder="users", sample_percent=50, previous=None)
    shutil.copytree(first, second, copy_function=os.link, ignore=shutil.ignore_patterns("gone"))
    os.unlink(second / "users/u3/p1/f2")
    _write(second, {"users/u3/p1/f2": b"changed", "users/u4/new": b"new", "users/u0a/n": b"n"})
    outputs = []
    for jobs in (1, 3):
        out = tmp_path / f"jobs{jobs}.jsonl"
        totals = write_manifest(
            second,
            out,
            users_folder="users",
            sample_percent=50,
            previous=Previous(first, manifest),
            jobs=jobs,
        )
        outputs.append((out.read_bytes(), totals.as_dict(), totals.digest))
    assert outputs[0] == outputs[1]
    assert outputs[0][1]["users"]["loose"] == len(b"users/loose") * 3
    assert outputs[0][1]["added_bytes"] == len(b"changed") + len(b"new") + len(b"n")
