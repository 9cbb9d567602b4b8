"""The manifest of a snapshot: path, size, mtime and content hash of every regular file.

Written while walking the snapshot (one JSON line per file, never the whole
tree in memory) and read back the same way. Paths are stored as Python reads
raw file names (``surrogateescape``); ``json`` writes an undecodable byte as a
``\\udcXX`` escape, so a name that is not UTF-8 comes back byte for byte.

Both the walk and the manifest are in one order, the tuple of a path's
components as bytes (a sorted depth-first walk), so two of them are compared
by a merge, file by file, in constant memory: ``verify`` against the tree, a
new manifest against the previous one (an unchanged file, hard-linked to the
previous snapshot's, keeps its hash instead of being read again).
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

HASH = "blake2b"
FORMAT = 1
_READ = 1 << 16  # one read for most files, and no large buffer per read


@dataclass(frozen=True)
class Entry:
    """One regular file: path below the snapshot's data, size, mtime (ns), and its
    content hash, or None when the sample left it out."""

    path: str
    size: int
    mtime_ns: int
    digest: str | None = None

    def key(self) -> tuple[bytes, ...]:
        """The walk's order (see the module docstring)."""
        return sort_key(self.path)

    def line(self) -> str:
        # ensure_ascii keeps lone surrogates (undecodable bytes) as \\udcXX escapes.
        return json.dumps([self.path, self.size, self.mtime_ns, self.digest]) + "\n"


def sort_key(path: str) -> tuple[bytes, ...]:
    return tuple(os.fsencode(path).split(b"/"))


def walk_files(top: Path) -> Iterator[tuple[str, os.stat_result]]:
    """(relative path, lstat) of every regular file under ``top``, in the manifest's
    order (depth first, names sorted as bytes); links are never followed."""
    stack = [_sorted_entries(os.fsencode(top), b"")]
    while stack:
        found = next(stack[-1], None)
        if found is None:
            stack.pop()
            continue
        path, relative, info = found
        if stat.S_ISDIR(info.st_mode):
            stack.append(_sorted_entries(path, relative + b"/"))
        elif stat.S_ISREG(info.st_mode):
            yield os.fsdecode(relative), info


def _sorted_entries(folder: bytes, prefix: bytes) -> Iterator[tuple[bytes, bytes, os.stat_result]]:
    """(path, relative path, lstat) of a folder's entries sorted by name; the listing
    is read whole and closed, so a deep tree holds no descriptors open."""
    try:
        with os.scandir(folder) as listing:
            entries = sorted((entry.name, entry.path) for entry in listing)
    except FileNotFoundError:
        return iter(())
    return ((path, prefix + name, os.lstat(path)) for name, path in entries)


def file_digest(path: Path) -> str:
    """The content hash of a regular file, opened without following a link."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    digest = hashlib.blake2b(digest_size=32)
    try:  # plain reads: most files are small, a buffered file object costs more than they do
        while chunk := os.read(fd, _READ):
            digest.update(chunk)
    finally:
        os.close(fd)
    return digest.hexdigest()


def sampled(path: str, percent: int) -> bool:
    """Whether ``path`` is in the hashed sample: the same files at every run."""
    if percent >= 100:
        return True
    bucket = hashlib.blake2b(os.fsencode(path), digest_size=2).digest()
    return int.from_bytes(bucket, "big") % 100 < percent


def read_manifest(path: Path) -> Iterator[Entry]:
    """The entries of a manifest file, streamed (the header line is checked)."""
    with open(path, encoding="ascii") as handle:
        header = json.loads(handle.readline() or "{}")
        if header.get("manifest") != FORMAT:
            raise ValueError(f"{path}: not a datakeeper manifest (format {FORMAT})")
        for line in handle:
            name, size, mtime_ns, digest = json.loads(line)
            yield Entry(name, size, mtime_ns, digest)


def header_line(sample_percent: int) -> str:
    return json.dumps({"manifest": FORMAT, "hash": HASH, "sample_percent": sample_percent}) + "\n"
