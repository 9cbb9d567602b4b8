"""The manifest: streamed, lossless for names that are not UTF-8, compared by merge."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
import xxhash

from datakeeper.errors import ActionFailedError
from datakeeper.features.backup.manifest import (
    HASH,
    entry_line,
    file_digest,
    file_stat_digest,
    read_manifest,
    sampled,
    walk_files,
)
from datakeeper.features.backup.writer import Previous, check_manifest, write_manifest

RAW_NAME = b"caf\xe9-\xff.bin"  # Latin-1, not UTF-8


def _tree(root: Path) -> Path:
    data = root / "data"
    (data / "users" / "alice" / "proj").mkdir(parents=True)
    (data / "users" / "bob").mkdir(parents=True)
    (data / "users" / "alice" / "proj" / "train.py").write_text("print(1)\n")
    (data / "users" / "alice.txt").write_text("not a home\n")
    (data / "users" / "bob" / "big").write_bytes(b"x" * 5000)
    with open(os.fsencode(data / "users" / "bob") + b"/" + RAW_NAME, "wb") as handle:
        handle.write(b"raw")
    os.symlink("/etc/shadow", data / "users" / "bob" / "link")
    return data


def test_non_utf8_names_survive_the_round_trip(tmp_path):
    data = _tree(tmp_path)
    out = tmp_path / "manifest.jsonl"
    totals = write_manifest(data, out, users_folder="users", sample_percent=100, previous=None)
    entries = list(read_manifest(out))
    raw = [e for e in entries if os.fsencode(e.path).endswith(RAW_NAME)]
    assert len(raw) == 1
    assert (os.fsencode(data) + b"/" + os.fsencode(raw[0].path)) == os.fsencode(
        data / "users" / "bob"
    ) + b"/" + RAW_NAME
    assert os.path.getsize(os.fsencode(data) + b"/" + os.fsencode(raw[0].path)) == 3
    out.read_bytes().decode("ascii")  # every line is plain ASCII JSON
    assert totals.files == 4 == len(entries)
    check_manifest(out, totals)


def test_links_are_not_files_and_sizes_add_up_per_user(tmp_path):
    data = _tree(tmp_path)
    out = tmp_path / "manifest.jsonl"
    totals = write_manifest(data, out, users_folder="users", sample_percent=100, previous=None)
    paths = [entry.path for entry in read_manifest(out)]
    assert "users/bob/link" not in paths
    assert totals.users == {"alice": 9, "alice.txt": 11, "bob": 5003}
    assert totals.bytes == totals.added_bytes == 9 + 11 + 5003
    assert os.stat(out).st_mode & 0o777 == 0o600


def test_the_walk_is_in_the_manifest_order(tmp_path):
    data = _tree(tmp_path)
    paths = [path for path, _info in walk_files(data)]
    keys = [tuple(os.fsencode(p).split(b"/")) for p in paths]
    assert keys == sorted(keys)
    assert paths.index("users/alice/proj/train.py") < paths.index("users/alice.txt")


def test_a_hard_linked_file_keeps_its_hash_and_adds_nothing(tmp_path):
    first = _tree(tmp_path / "one")
    manifest = tmp_path / "one.jsonl"
    write_manifest(first, manifest, users_folder="users", sample_percent=100, previous=None)
    second = tmp_path / "two" / "data"
    for path, _info in walk_files(first):  # what rsync --link-dest does for unchanged files
        (second / path).parent.mkdir(parents=True, exist_ok=True)
        os.link(first / path, second / path)
    os.unlink(second / "users" / "bob" / "big")
    (second / "users" / "bob" / "big").write_bytes(b"y" * 10)
    out = tmp_path / "two.jsonl"
    totals = write_manifest(
        second, out, users_folder="users", sample_percent=100, previous=Previous(first, manifest)
    )
    assert totals.added_bytes == 10
    old = {e.path: e.digest for e in read_manifest(manifest)}
    new = {e.path: e.digest for e in read_manifest(out)}
    assert new["users/alice.txt"] == old["users/alice.txt"]
    assert new["users/bob/big"] != old["users/bob/big"]


def test_a_sample_hashes_the_same_files_every_time(tmp_path):
    data = _tree(tmp_path)
    out = tmp_path / "manifest.jsonl"
    write_manifest(data, out, users_folder="users", sample_percent=1, previous=None)
    for entry in read_manifest(out):
        assert (entry.digest is not None) == sampled(entry.path, 1)
    names = [f"users/u{i}/f" for i in range(2000)]
    share = sum(sampled(name, 25) for name in names) / len(names)
    assert 0.2 < share < 0.3


def test_a_manifest_that_does_not_add_up_is_refused(tmp_path):
    data = _tree(tmp_path)
    out = tmp_path / "manifest.jsonl"
    totals = write_manifest(data, out, users_folder="users", sample_percent=100, previous=None)
    with open(out, "a") as handle:
        handle.write(json.dumps(["users/ghost", 1, 0, None]) + "\n")
    with pytest.raises(ActionFailedError, match="lists 5 files"):
        check_manifest(out, totals)


@pytest.mark.parametrize(
    "damage", ['["users/x", 1, 2, null] ["users/y", 1, 2, null]\n', '["users/x", 1, 2\n', " \n"]
)
def test_a_line_that_is_not_exactly_one_entry_is_refused(tmp_path, damage):
    data = _tree(tmp_path)
    out = tmp_path / "manifest.jsonl"
    totals = write_manifest(data, out, users_folder="users", sample_percent=100, previous=None)
    with open(out, "a", encoding="ascii") as handle:
        handle.write(damage)
    with pytest.raises(ActionFailedError, match="cannot be read back"):
        check_manifest(out, totals)
    with pytest.raises(ValueError):
        list(read_manifest(out))


def test_a_manifest_changed_behind_the_same_totals_is_refused(tmp_path):
    data = _tree(tmp_path)
    out = tmp_path / "manifest.jsonl"
    totals = write_manifest(data, out, users_folder="users", sample_percent=100, previous=None)
    check_manifest(out, totals)
    text = out.read_text(encoding="ascii")
    digest = next(entry.digest for entry in read_manifest(out))
    flipped = ("0" if digest[0] != "0" else "1") + digest[1:]
    out.write_text(text.replace(digest, flipped, 1), encoding="ascii")
    with pytest.raises(ActionFailedError, match="reads back different from what was written"):
        check_manifest(out, totals)


@pytest.mark.parametrize(
    "name",
    ["plain.txt", 'quote " and \\ back', "tab\tnew\nline", "한글.ipynb", "bad-\udcff-byte", "\x7f"],
)
def test_a_line_is_written_exactly_as_json_writes_the_entry(name):
    for digest in (None, "ab" * 32):
        for size, mtime in ((0, 0), (12345, 1764547200123456789), (7, -1)):
            line = entry_line(f"users/alice/{name}", size, mtime, digest)
            assert line == json.dumps([f"users/alice/{name}", size, mtime, digest]) + "\n"


KINDS = {  # new manifests' hash, and the one older manifests hold
    "xxh128": lambda content: xxhash.xxh3_128_hexdigest(content),
    "blake2b": lambda content: hashlib.blake2b(content, digest_size=32).hexdigest(),
}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("size", [0, 1, 65535, 65536, 65537, 300_000])
def test_a_digest_covers_the_whole_file_at_every_size(tmp_path, size, kind):
    path = tmp_path / "data.bin"
    content = os.urandom(size)
    path.write_bytes(content)
    expected = KINDS[kind](content)
    info, digest = file_stat_digest(os.fsencode(path), kind=kind)
    assert (info.st_size, digest) == (size, expected)
    if kind == HASH:
        assert file_digest(path) == expected
    folder = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        assert file_digest(b"data.bin", dir_fd=folder, kind=kind) == expected
    finally:
        os.close(folder)
    os.symlink(path, tmp_path / "link")
    with pytest.raises(OSError):  # never through a link
        file_digest(tmp_path / "link")
