"""Write a snapshot's manifest, and add up its sizes on the way.

One walk of the new snapshot's data does both. It goes in step with the
previous snapshot's manifest (same order, see ``manifest``) and lists the
previous snapshot's folders beside the new ones: a file that rsync hard-linked
to the previous snapshot's copy is the very same inode, so the previous
manifest's line, hash included, still describes it. That line is written again
as it was, nothing is stat'ed or read for the file, and it adds no bytes. Only
new or changed files (and files whose hash the previous manifest left out but
the sample now wants) are stat'ed, and hashed when sampled.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from datakeeper.errors import ActionFailedError
from datakeeper.features.backup.manifest import (
    Entry,
    file_digest,
    header_line,
    read_lines,
    sampled,
    sort_key,
    walk_beside,
)
from datakeeper.i18n import _, ngettext
from datakeeper.progress import current


@dataclass
class Totals:
    """What a snapshot holds: files and bytes, bytes it added (not shared with the
    previous snapshot), and bytes per user (below the users folder)."""

    files: int = 0
    bytes: int = 0
    added_bytes: int = 0
    users: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            "files": self.files,
            "bytes": self.bytes,
            "added_bytes": self.added_bytes,
            "users": dict(sorted(self.users.items())),
        }


@dataclass(frozen=True)
class Previous:
    """The previous complete snapshot's data folder and manifest."""

    data: Path
    manifest: Path


def write_manifest(
    data: Path, out: Path, *, users_folder: str, sample_percent: int, previous: Previous | None
) -> Totals:
    """Walk ``data`` and write its manifest to ``out`` (0600), synced to disk."""
    totals = Totals()
    old = _Lookup(previous)
    count = _Counter(totals, users_folder)
    advance = current().advance
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        write = handle.write
        write(header_line(sample_percent))
        for path, found, before in walk_beside(data, old.data):
            shared = old.same_file(path, found.inode(), before)
            if shared is not None and (shared[0].digest or not sampled(path, sample_percent)):
                write(shared[1])
                count(path, shared[0].size, False)
            else:
                entry = _entry(data, path, found, shared[0] if shared else None, sample_percent)
                write(entry.line())
                count(path, entry.size, shared is None)
            advance(1)
        handle.flush()
        os.fsync(handle.fileno())
    return totals


def _entry(data: Path, path: str, found: os.DirEntry, shared: Entry | None, percent: int) -> Entry:
    """The entry of a new or changed file, or of a shared one still to be hashed."""
    if shared is not None:
        return shared._replace(digest=file_digest(data / path))
    info = found.stat(follow_symlinks=False)
    digest = file_digest(data / path) if sampled(path, percent) else None
    return Entry(path, info.st_size, info.st_mtime_ns, digest)


class _Counter:
    """Adds each file to the totals, and its size to its user's (below the users
    folder); called once per file, so it keeps the user's prefix at hand."""

    def __init__(self, totals: Totals, users_folder: str) -> None:
        self.totals = totals
        self.users = users_folder.rstrip("/") + "/"
        self.skip = len(self.users)

    def __call__(self, path: str, size: int, added: bool) -> None:
        totals = self.totals
        totals.files += 1
        totals.bytes += size
        if added:
            totals.added_bytes += size
        if path.startswith(self.users):
            name = path[self.skip :].split("/", 1)[0]
            totals.users[name] = totals.users.get(name, 0) + size


def check_manifest(path: Path, totals: Totals) -> None:
    """Read the manifest back: every line parses and it adds up to ``totals``."""
    files = size = 0
    try:
        for entry, _line in read_lines(path):
            files, size = files + 1, size + entry.size
    except (OSError, ValueError) as error:
        raise ActionFailedError(
            _("{path}: the manifest just written cannot be read back: {why}").format(
                path=path, why=error
            )
        ) from error
    if (files, size) != (totals.files, totals.bytes):
        raise ActionFailedError(
            ngettext(
                "{path}: the manifest just written lists {n} file, {b} bytes; expected {en}, {eb}",
                "{path}: the manifest just written lists {n} files, {b} bytes; expected {en}, {eb}",
                files,
            ).format(path=path, n=files, b=size, en=totals.files, eb=totals.bytes)
        )  # fmt: skip


class _Lookup:
    """The previous manifest, read forward as the new walk goes (both in one order)."""

    def __init__(self, previous: Previous | None) -> None:
        self.lines: Iterator[tuple[Entry, str]] = iter(())
        self.data: Path | None = None  # the folder to list beside the new one
        if previous is not None and previous.manifest.is_file():
            self.lines, self.data = read_lines(previous.manifest), previous.data
        self.current: tuple[Entry, str] | None = next(self.lines, None)

    def same_file(self, path: str, inode: int, before: int | None) -> tuple[Entry, str] | None:
        """The previous entry of ``path`` and its line, when the file is the very
        same inode as the previous snapshot's ``path`` (``before``): rsync linked
        it, so the line still holds. None for any other file."""
        if before != inode:
            return None
        found = self.current
        if found is not None and found[0].path != path:  # the usual case needs no keys
            key = sort_key(path)
            while found is not None and found[0].key() < key:
                found = next(self.lines, None)
            self.current = found
        if found is None or found[0].path != path:
            return None
        self.current = next(self.lines, None)  # the next file is usually the next line
        return found
