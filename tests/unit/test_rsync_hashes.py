"""The hashes a real rsync prints as it copies are the manifest's, for every name.

The manifest trusts them instead of reading new files again, so these tests run
the real rsync over awkward names and sizes and compare each printed hash with
the file's own, read back from the copy.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

import pytest

from datakeeper.config import parse_config
from datakeeper.features.backup import layout, writer
from datakeeper.features.backup.manifest import (
    HASH,
    entry_line,
    file_digest,
    file_stat_digest,
    header_line,
    manifest_hash,
    read_manifest,
)
from datakeeper.features.backup.verify import verify_snapshot
from datakeeper.features.backup.writer import Previous, write_manifest
from datakeeper.system import rsync
from datakeeper.system.rsync_hashes import OPTIONS, TransferHashes, unescape

needs_xxh128 = pytest.mark.skipif(not rsync.has_xxh128(), reason="this rsync has no xxh128")

# Names rsync escapes, or that look like its escapes, or that hold its separators.
NAMES = [
    b"plain.txt",
    b"new\nline",
    b"tab\tand space",
    b" leading and trailing ",
    b"latin1-\xe9-\xff",
    "한글.ipynb".encode(),
    b"del-\x7f",
    b"back\\slash",
    b"looks-escaped-\\#012",
    b"\\#999-not-octal",
    b"\\#1",
    b"arrow => not a link",
    b"ctrl-\x01\x1b[31m",
]
SIZES = [0, 1, 65535, 65536, 65537, 300_000, 3 * 1024 * 1024 + 7]


def _write(path: bytes, content: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(content)


def _source(root: Path) -> bytes:
    """users/alice/<each name>, users/bob/sizes/<n>, a file at the top of users, a
    -H hard link and a symlink; returns the source given to rsync (``/./``)."""
    top = os.fsencode(root / "src")
    alice, sizes = top + b"/users/alice/", top + b"/users/bob/sizes/"
    os.makedirs(alice)
    os.makedirs(sizes)
    for number, name in enumerate(NAMES):
        _write(alice + name, b"content %d\n" % number)
    for size in SIZES:
        _write(sizes + b"%d" % size, os.urandom(size))
    _write(top + b"/users/loose.txt", b"right in the users folder\n")
    os.link(alice + b"plain.txt", alice + b"plain-hardlink.txt")
    os.symlink("/etc/shadow", alice + b"link")
    return top + b"/./users"


def _copy(source: bytes, dest: Path, output) -> None:
    dest.mkdir()
    argv = ["rsync", "-aHAX", "--numeric-ids", "--relative", *OPTIONS, "--", source, f"{dest}/"]
    subprocess.run(argv, stdout=output, check=True, env={"LC_ALL": "C", "PATH": os.defpath})


def _files(data: Path) -> dict[bytes, bytes]:
    """relative path -> folder of every regular file below ``data``, as bytes."""
    found = {}
    for folder, _dirs, files in os.walk(os.fsencode(data)):
        for name in files:
            path = os.path.join(folder, name)
            if not os.path.islink(path):
                relative = os.path.relpath(path, os.fsencode(data))
                found[relative] = relative[: relative.rfind(b"/") + 1]
    return found


@needs_xxh128
def test_rsync_prints_each_copied_file_with_its_own_hash(tmp_path):
    source = _source(tmp_path)
    with tempfile.TemporaryFile(dir=tmp_path) as output:
        _copy(source, tmp_path / "data", output)
        hashes = TransferHashes(output.fileno())
        files = _files(tmp_path / "data")
        given = {}
        for path, folder in files.items():
            names = hashes.names(folder)
            given[path] = names.get(path[len(folder) :])
    for name in NAMES:
        assert b"users/alice/" + name in given, name
    hashed = {path: digest for path, digest in given.items() if digest is not None}
    # every file but one of the hard-linked pair (rsync links it, printing no hash)
    assert len(hashed) == len(files) - 1
    assert {b"users/alice/plain.txt", b"users/alice/plain-hardlink.txt"} - set(hashed)
    for path, digest in hashed.items():
        assert digest == file_digest(tmp_path / "data" / os.fsdecode(path)), path


def _lines(tmp_path: Path, *lines: bytes) -> int:
    """A descriptor of a file holding ``lines`` (closed with the test's folder)."""
    path = tmp_path / "output"
    path.write_bytes(b"".join(lines))
    return os.open(path, os.O_RDONLY)


def test_only_well_formed_lines_count_and_a_name_printed_twice_has_no_hash(tmp_path):
    a, b = "a" * 32, "b" * 32
    text = [
        b"created directory /backup/x\n",  # rsync's own words, not a file
        b"                                 users/\n",  # a folder: no hash
        f"{a} users/alice/one\n".encode(),
        f"{b} users/bob/x\n".encode(),
        f"{a} users/alice/two\n".encode(),  # alice again, after bob: a second stretch
        f"{a} users/alice/redone\n".encode(),
        f"{b} users/alice/redone\n".encode(),  # failed verification, sent again
        f"{a} top-level\n".encode(),
        f"{a.upper()} users/alice/upper\n".encode(),  # not rsync's hex
        f"{a}  leading space\n".encode(),  # a name that starts with a space
        f"{a} users/alice/sub/deep\\#012name\n".encode(),
    ]
    fd = _lines(tmp_path, *text)
    try:
        hashes = TransferHashes(fd)
        alice = hashes.names(b"users/alice/")
        assert alice == {b"one": a, b"two": a, b"redone": None}
        assert hashes.names(b"users/bob/") == {b"x": b}
        assert hashes.names(b"") == {b"top-level": a, b" leading space": a}
        assert hashes.names(b"users/alice/sub/") == {b"deep\nname": a}
        assert hashes.names(b"users/nobody/") == {}
        assert hashes.names(b"users/alice/") is alice  # read once, then the same dict
    finally:
        os.close(fd)


def test_escapes_are_undone_and_nothing_else_is():
    assert unescape(b"new\\#012line") == b"new\nline"
    assert unescape(b"\\#134#012") == b"\\#012"  # a literal backslash, then "#012"
    assert unescape(b"\\#999 \\#1 back\\slash") == b"\\#999 \\#1 back\\slash"
    assert unescape(b"caf\\#351") == b"caf\xe9"


def _count_reads(monkeypatch, log: Path):
    """Record the name of each file the writer reads (in a file: forked workers
    read too); returns a function giving the names read so far."""

    def counted(name: bytes, *, dir_fd: int) -> tuple[os.stat_result, str]:
        with open(log, "ab") as handle:
            handle.write(name + b"\0")
        return file_stat_digest(name, dir_fd=dir_fd)

    monkeypatch.setattr(writer, "file_stat_digest", counted)
    return lambda: sorted(log.read_bytes().split(b"\0")[:-1]) if log.exists() else []


@needs_xxh128
@pytest.mark.parametrize("percent", [100, 50])
@pytest.mark.parametrize("jobs", [1, 2])  # here, and in forked workers
def test_the_manifest_from_printed_hashes_is_the_one_reading_gives(
    tmp_path, monkeypatch, percent, jobs
):
    data, fast, slow = tmp_path / "data", tmp_path / "fast.jsonl", tmp_path / "slow.jsonl"
    with tempfile.TemporaryFile(dir=tmp_path) as output:
        _copy(_source(tmp_path), data, output)
        read = _count_reads(monkeypatch, tmp_path / "read.log")
        transferred = TransferHashes(output.fileno())
        write_manifest(
            data, fast, users_folder="users", sample_percent=percent, previous=None,
            transferred=transferred, jobs=jobs,
        )  # fmt: skip
    # only the file rsync made as a hard link to its twin was read, if sampled
    assert set(read()) <= {b"plain.txt", b"plain-hardlink.txt"}
    assert len(read()) <= 1
    if jobs == 1:
        # every hash was taken out as its file was written, sampled or not: memory
        # for the folders at hand, not for the whole tree
        assert transferred._loaded and not any(transferred._loaded.values())
    monkeypatch.undo()
    write_manifest(data, slow, users_folder="users", sample_percent=percent, previous=None)
    assert fast.read_bytes() == slow.read_bytes()
    entries = list(read_manifest(fast))
    assert len(entries) == len(_files(data))
    if percent == 50:
        assert 0 < sum(e.digest is not None for e in entries) < len(entries)


def _config(tmp_path):
    text = f'[storage]\ndata_root = "{tmp_path}/data"\nbackup_root = "{tmp_path}/backup"\n'
    return parse_config(text, "site.toml")


def test_an_older_blake2b_manifest_is_verified_with_blake2b_and_not_reused(tmp_path):
    """Snapshots taken before the switch to xxh128 stay verifiable; the first one after
    it reads its files once and writes xxh128."""
    old = layout.snapshots_dir(tmp_path / "backup") / "2026-12-01T010000Z"
    (old / "data" / "users" / "alice").mkdir(parents=True)
    (old / "meta").mkdir()
    lines = [header_line(100, "blake2b")]
    for name in ("a.txt", "b.txt"):
        path = old / "data" / "users" / "alice" / name
        path.write_text(f"{name}\n")
        info = path.stat()
        digest = file_digest(path, kind="blake2b")
        lines.append(entry_line(f"users/alice/{name}", info.st_size, info.st_mtime_ns, digest))
    manifest = old / "meta" / layout.MANIFEST
    manifest.write_text("".join(lines))
    (old / "meta" / layout.SUMMARY).write_text("{}")
    cfg = _config(tmp_path)
    verdict = verify_snapshot(cfg, old.name)
    assert (verdict.ok, verdict.hashed) == (True, 2)

    new = tmp_path / "new"
    (new / "users" / "alice").mkdir(parents=True)
    for name in ("a.txt", "b.txt"):  # what rsync --link-dest makes of unchanged files
        os.link(old / "data" / "users" / "alice" / name, new / "users" / "alice" / name)
    out = tmp_path / "new.jsonl"
    totals = write_manifest(
        new, out, users_folder="users", sample_percent=100,
        previous=Previous(old / "data", manifest),
    )  # fmt: skip
    assert totals.added_bytes == 0  # still linked, so nothing added
    assert manifest_hash(out) == HASH != "blake2b"
    for entry in read_manifest(out):
        assert entry.digest == file_digest(new / entry.path)  # read again, in xxh128

    path = old / "data" / "users" / "alice" / "b.txt"
    info = path.stat()
    path.write_text("B.txt\n")  # a flipped byte, same size and times
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))
    verdict = verify_snapshot(cfg, old.name)
    assert verdict.changed == ["users/alice/b.txt"]
