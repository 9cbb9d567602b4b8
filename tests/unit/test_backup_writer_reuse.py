"""The manifest writer reads only what rsync did not hard-link, and hashes whole files."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from datakeeper.features.backup import writer
from datakeeper.features.backup.manifest import file_digest, read_manifest
from datakeeper.features.backup.writer import Previous, write_manifest


def _write(root: Path, files: dict[str, bytes]) -> None:
    for name, content in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(content)


def test_a_file_larger_than_one_read_is_hashed_whole(tmp_path):
    content = os.urandom(300_000)
    _write(tmp_path, {"big": content, "empty": b""})
    assert file_digest(tmp_path / "big") == hashlib.blake2b(content, digest_size=32).hexdigest()
    assert file_digest(tmp_path / "empty") == hashlib.blake2b(b"", digest_size=32).hexdigest()


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
    read: list[str] = []

    def counted(path: Path) -> str:
        read.append(path.relative_to(second).as_posix())
        return file_digest(path)

    monkeypatch.setattr(writer, "file_digest", counted)
    out = tmp_path / "two.jsonl"
    totals = write_manifest(
        second, out, users_folder="users", sample_percent=100, previous=Previous(first, manifest)
    )
    assert sorted(read) == ["users/a/00-new", "users/b/2", "users/z"]
    assert totals.added_bytes == len(b"changed") + len(b"new") + len(b"last")
    old = {entry.path: entry.digest for entry in read_manifest(manifest)}
    for entry in read_manifest(out):
        expected = hashlib.blake2b((second / entry.path).read_bytes(), digest_size=32)
        assert entry.digest == expected.hexdigest(), entry.path
        if entry.path not in read:
            assert entry.digest == old[entry.path]
