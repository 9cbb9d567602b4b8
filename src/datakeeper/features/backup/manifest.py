"""The manifest of a snapshot: path, size, mtime and content hash of every regular file.

Written while walking the snapshot (one JSON line per file, never the whole
tree in memory) and read back the same way. Paths are stored as Python reads
raw file names (``surrogateescape``); ``json`` writes an undecodable byte as a
``\\udcXX`` escape, so a name that is not UTF-8 comes back byte for byte.

Both the walk and the manifest are in one order, the tuple of a path's
components as bytes (a sorted depth-first walk), so two of them are compared
by a merge, file by file, in constant memory: ``verify`` against the tree, a
new manifest against the previous one (an unchanged file, hard-linked to the
previous snapshot's, keeps its line instead of being read again).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import stat
import sys
from collections.abc import Iterator
from functools import partial
from json.encoder import encode_basestring_ascii as _json_string
from operator import attrgetter
from pathlib import Path
from typing import NamedTuple

import xxhash

# The content hash of new manifests. xxh128 is the whole-file checksum rsync
# computes as it copies, so the copy hands the manifest its hashes for free (see
# ``system.rsync_hashes``). It is not cryptographic, and need not be: a manifest
# catches bit rot and changes made to a snapshot behind datakeeper's back, and
# whoever can rewrite a snapshot (root, or someone holding the disk) can rewrite
# its manifest as well. Manifests written before it name blake2b in their header
# and are still verified with it. (docs/architecture.md, "The backup manifest's hash".)
HASH = "xxh128"
_HASHES = {"xxh128": xxhash.xxh3_128, "blake2b": partial(hashlib.blake2b, digest_size=32)}
FORMAT = 1
_READ = 1 << 16  # one read for most files, and no large buffer per read


class Entry(NamedTuple):
    """One regular file: path below the snapshot's data, size, mtime (ns), and its
    content hash, or None when the sample left it out. (A named tuple: a manifest
    has one per file, and it is made faster than a frozen dataclass.)"""

    path: str
    size: int
    mtime_ns: int
    digest: str | None = None

    def key(self) -> tuple[bytes, ...]:
        """The walk's order (see the module docstring)."""
        return sort_key(self.path)

    def line(self) -> str:
        return entry_line(self.path, self.size, self.mtime_ns, self.digest)


def entry_line(path: str, size: int, mtime_ns: int, digest: str | None) -> str:
    """One manifest line, exactly as ``json.dumps([path, size, mtime_ns, digest])``
    writes it (ensure_ascii keeps lone surrogates, undecodable bytes, as \\udcXX
    escapes), without its dispatch: it ran once per file of a first snapshot.
    ``line_head`` and ``match_tail`` recognise its two parts."""
    hashed = "null" if digest is None else f'"{digest}"'
    return f"{line_head(path)}{size:d}, {mtime_ns:d}, {hashed}]\n"


def line_head(path: str) -> str:
    """How the line of ``path`` begins: the JSON of its path, then the separator."""
    return f"[{_json_string(path)}, "


# The rest of a line after its head, exactly as ``entry_line`` writes it: groups are
# the size and the hash (or ``null``).
match_tail = re.compile(
    r'(0|[1-9][0-9]*), -?(?:0|[1-9][0-9]*), (null|"[0-9a-f]{32}(?:[0-9a-f]{32})?")\]\n\Z'
).match


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


def walk_runs(
    top: Path, previous: Path | None, *, prefix: bytes = b"", cut: int | None = None
) -> Iterator[tuple[str | bytes, list[tuple] | None]]:
    """The regular files under ``top`` in the manifest's order, as runs: (relative
    folder with its trailing ``/``, or "" at the top; [(name, directory entry, inode of
    the same path in ``previous`` or None), ...]), one run per stretch of a folder's
    files between its subfolders. Nothing is stat'ed per file: both inodes come from
    the folders' listings (a folder of ``previous`` on another filesystem, or not a
    folder, gives none). Names are ``str`` as Python reads raw file names.

    ``prefix`` is ``top``'s own relative path (``b"users/alice/"``). With ``cut``, a
    folder that deep (``users/alice`` is 2) is not entered but given in its place,
    as (its relative path as bytes, with the ``/``; None): a piece for another walk."""
    old = os.fsencode(previous) if previous else None
    stack = [_folder(os.fsencode(top), old, prefix)]
    while stack:
        entries, inodes, old, folder, start = stack[-1]
        run = []
        for position in range(start, len(entries)):
            entry = entries[position]
            if entry.is_dir(follow_symlinks=False):
                stack[-1][4] = position + 1  # go on after this folder once it is done
                relative = folder + entry.name + b"/"
                if cut is not None and relative.count(b"/") >= cut:
                    if run:
                        yield folder.decode(*_FS), run
                    yield relative, None
                    run = []
                    continue
                below = old + b"/" + entry.name if old is not None else None
                stack.append(_folder(entry.path, below, relative))
                break
            if entry.is_file(follow_symlinks=False):
                run.append((entry.name.decode(*_FS), entry, inodes.get(entry.name)))
        else:
            stack.pop()
        if run:
            yield folder.decode(*_FS), run


def _folder(folder: bytes, old: bytes | None, prefix: bytes) -> list:
    """[entries sorted by name, name -> inode in ``old``, ``old``, prefix, next position]
    of one folder; both listings are read whole and closed (no descriptors held)."""
    try:
        with os.scandir(folder) as listing:
            entries = sorted(listing, key=_NAME)
        device = os.lstat(folder).st_dev
    except FileNotFoundError:
        return [[], {}, None, prefix, 0]
    inodes = _inodes(old, device) if old is not None else {}
    return [entries, inodes, old, prefix, 0]


def _inodes(folder: bytes, device: int) -> dict[bytes, int]:
    """Name -> inode of a previous snapshot's folder on ``device`` (never through a
    link); empty when it is missing or elsewhere."""
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return {}
    try:
        if os.fstat(fd).st_dev != device:
            return {}
        with os.scandir(fd) as listing:
            return {entry.name.encode(*_FS): entry.inode() for entry in listing}
    finally:
        os.close(fd)


_NAME = attrgetter("name")
# os.fsencode and os.fsdecode, inlined: they cost as much as the rest of a file's work.
_FS = (sys.getfilesystemencoding(), sys.getfilesystemencodeerrors())


def _sorted_entries(folder: bytes, prefix: bytes) -> Iterator[tuple[bytes, bytes, os.stat_result]]:
    """(path, relative path, lstat) of a folder's entries sorted by name; the listing
    is read whole and closed, so a deep tree holds no descriptors open."""
    try:
        with os.scandir(folder) as listing:
            entries = sorted((entry.name, entry.path) for entry in listing)
    except FileNotFoundError:
        return iter(())
    return ((path, prefix + name, os.lstat(path)) for name, path in entries)


def content_hash(kind: str = HASH):
    """A new hash of ``kind`` (a manifest's ``hash``), for file contents."""
    return _HASHES[kind]()


def file_digest(path: Path | bytes, *, dir_fd: int | None = None, kind: str = HASH) -> str:
    """The content hash of a regular file, opened without following a link."""
    return file_stat_digest(path, dir_fd=dir_fd, kind=kind)[1]


def file_stat_digest(
    path: Path | bytes, *, dir_fd: int | None = None, kind: str = HASH
) -> tuple[os.stat_result, str]:
    """(stat, content hash) of a regular file, opened once without following a
    link (``path`` relative to ``dir_fd`` when given): the stat comes from the open
    file, not from a second lookup of its path."""
    fd = os.open(path, _OPEN, dir_fd=dir_fd)
    try:
        info = os.fstat(fd)
        return info, _digest(fd, info.st_size, kind)
    finally:
        os.close(fd)


_OPEN = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


def _digest(fd: int, size: int, kind: str) -> str:
    """The hash of an open file's contents. Plain reads: most files are small, and a
    buffered file object costs more than they do. A short read that reaches the
    size the file had when opened is its end: no further read that returns nothing
    (half of a small file's reads)."""
    digest = content_hash(kind)
    done = 0
    while chunk := os.read(fd, _READ):
        digest.update(chunk)
        done += len(chunk)
        if len(chunk) < _READ and done >= size:
            break
    return digest.hexdigest()


def sampled(path: str, percent: int) -> bool:
    """Whether ``path`` is in the hashed sample: the same files at every run."""
    if percent >= 100:
        return True
    bucket = hashlib.blake2b(os.fsencode(path), digest_size=2).digest()
    return int.from_bytes(bucket, "big") % 100 < percent


def read_manifest(path: Path) -> Iterator[Entry]:
    """The entries of a manifest file, streamed (the header line is checked)."""
    for entry, _line in read_lines(path):
        yield entry


def read_lines(path: Path) -> Iterator[tuple[Entry, str]]:
    """Each entry of a manifest file with its line as written (the header checked)."""
    for line in raw_lines(path):
        yield parse_line(line), line


def raw_lines(path: Path, start: int | None = None) -> Iterator[str]:
    """The lines of a manifest file after its header (checked), each ending in a
    newline; from byte ``start`` (a line's start) when given."""
    with open(path, "rb") as handle:
        _check_header(path, handle.readline())
        if start is not None:
            handle.seek(start)
        # Decoded a block at a time; a byte that is not ASCII raises ValueError.
        for line in io.TextIOWrapper(handle, encoding="ascii", newline="\n"):
            yield line if line[-1:] == "\n" else line + "\n"


def manifest_hash(path: Path) -> str:
    """The content hash a manifest file's lines hold (``HASH``, or an older one)."""
    with open(path, "rb") as handle:
        return _check_header(path, handle.readline())


def _check_header(path: Path, line: bytes) -> str:
    """The hash named by a manifest's header line; ValueError for anything but ours."""
    try:
        header = json.loads(line or b"{}")
    except ValueError:
        header = None
    if not isinstance(header, dict) or header.get("manifest") != FORMAT:
        raise ValueError(f"{path}: not a datakeeper manifest (format {FORMAT})")
    kind = header.get("hash")
    if kind not in _HASHES:
        raise ValueError(f"{path}: a manifest of an unknown content hash: {kind!r}")
    return kind


def header_line(sample_percent: int, kind: str = HASH) -> str:
    return json.dumps({"manifest": FORMAT, "hash": kind, "sample_percent": sample_percent}) + "\n"


_DECODE = json.JSONDecoder().raw_decode


def parse_line(line: str) -> Entry:
    """One manifest line, as ``json.loads`` reads it but without its checks per call
    (a third of the time on a manifest's short lines); anything after the entry
    but the line's end is refused as ``json.loads`` refuses it."""
    row, end = _DECODE(line)
    if end != len(line) and line[end:] != "\n":
        raise ValueError(f"extra data after a manifest entry: {line[:200]!r}")
    if not isinstance(row, list) or len(row) != len(Entry._fields):
        raise ValueError(f"not a manifest entry: {line[:200]!r}")
    return Entry(*row)
