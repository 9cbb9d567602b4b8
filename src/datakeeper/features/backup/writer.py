"""Write a snapshot's manifest, and add up its sizes on the way.

One walk of the new snapshot's data does both. It goes in step with the
previous snapshot's manifest (same order, see ``manifest``): a file that rsync
hard-linked to the previous snapshot's copy is the same inode, so its hash is
taken over instead of read again, and it adds no bytes.
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
    read_manifest,
    sampled,
    sort_key,
    walk_files,
)
from datakeeper.i18n import _
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
    users = users_folder.rstrip("/") + "/"
    progress = current()
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(header_line(sample_percent))
        for path, info in walk_files(data):
            shared = old.same_file(path, info)
            digest = shared.digest if shared is not None else None
            if digest is None and sampled(path, sample_percent):
                digest = file_digest(data / path)
            handle.write(Entry(path, info.st_size, info.st_mtime_ns, digest).line())
            _count(totals, path, info.st_size, shared is None, users)
            progress.advance(1)
        handle.flush()
        os.fsync(handle.fileno())
    return totals


def _count(totals: Totals, path: str, size: int, added: bool, users: str) -> None:
    totals.files += 1
    totals.bytes += size
    totals.added_bytes += size if added else 0
    if path.startswith(users):
        name = path[len(users) :].split("/", 1)[0]
        totals.users[name] = totals.users.get(name, 0) + size


def check_manifest(path: Path, totals: Totals) -> None:
    """Read the manifest back: every line parses and it adds up to ``totals``."""
    files = size = 0
    try:
        for entry in read_manifest(path):
            files, size = files + 1, size + entry.size
    except (OSError, ValueError) as error:
        raise ActionFailedError(
            _("{path}: the manifest just written cannot be read back: {why}").format(
                path=path, why=error
            )
        ) from error
    if (files, size) != (totals.files, totals.bytes):
        raise ActionFailedError(
            _("{path}: the manifest just written lists {n} files, {b} bytes; expected {en}, {eb}")
            .format(path=path, n=files, b=size, en=totals.files, eb=totals.bytes)
        )  # fmt: skip


class _Lookup:
    """The previous manifest, read forward as the new walk goes (both in one order)."""

    def __init__(self, previous: Previous | None) -> None:
        self.previous = previous
        self.data_prefix = f"{previous.data}/" if previous is not None else ""
        self.entries: Iterator[Entry] = iter(())
        if previous is not None and previous.manifest.is_file():
            self.entries = read_manifest(previous.manifest)
        self.current: Entry | None = next(self.entries, None)

    def same_file(self, path: str, info: os.stat_result) -> Entry | None:
        """The previous entry of ``path`` when it is the very same file (inode, size,
        mtime): rsync linked it, so its hash still holds."""
        found = self.current
        if found is not None and found.path != path:  # the usual case needs no keys
            key = sort_key(path)
            while found is not None and found.key() < key:
                found = next(self.entries, None)
            self.current = found
        if found is None or found.path != path or self.previous is None:
            return None
        if (found.size, found.mtime_ns) != (info.st_size, info.st_mtime_ns):
            return None
        try:
            old = os.lstat(self.data_prefix + path)  # a str join: pathlib costs more per file
        except OSError:
            return None
        return found if (old.st_ino, old.st_dev) == (info.st_ino, info.st_dev) else None
