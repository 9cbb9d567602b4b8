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

import hashlib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from json.encoder import encode_basestring_ascii as _json_string
from pathlib import Path

from datakeeper.errors import ActionFailedError
from datakeeper.features.backup.manifest import (
    Entry,
    file_digest,
    header_line,
    parse_line,
    raw_lines,
    read_lines,
    sampled,
    sort_key,
    walk_runs,
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
    digest: str | None = None  # of the manifest's text, once written

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
    """Walk ``data`` and write its manifest to ``out`` (0600), synced to disk.

    ``Totals.digest`` is the hash of the text written, for ``check_manifest``."""
    totals = Totals()
    old = _Lookup(previous)
    count = _Counter(totals, users_folder)
    advance = current().advance
    written = hashlib.blake2b(digest_size=32)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        lines = [header_line(sample_percent)]
        for folder, run in walk_runs(data, old.data):
            added = size = 0
            loose = folder == count.users  # a file right in the users folder is its own
            for name, found, before in run:
                path = folder + name
                inode = found.inode()
                shared = old.same_file(path, inode, before)
                if shared is not None and (shared[1] or not sampled(path, sample_percent)):
                    lines.append(shared[2])
                    one = shared[0]
                else:
                    entry = _entry(data, path, found, shared, sample_percent)
                    lines.append(entry.line())
                    one = entry.size
                    added += one if before != inode else 0  # not linked to the previous copy
                size += one
                if loose:
                    count.user(name, one)
            count(folder, len(run), size, added)
            if len(lines) >= _BATCH:
                _write(handle, written, lines)
            advance(len(run))
        _write(handle, written, lines)
        handle.flush()
        os.fsync(handle.fileno())
    totals.digest = written.hexdigest()
    return totals


_BATCH = 4096  # lines joined per write: one call and one hash update for many files


def _write(handle, written, lines: list[str]) -> None:
    """Write ``lines`` and add them to the hash of what was written; empties ``lines``."""
    text = "".join(lines)
    written.update(text.encode("ascii"))
    handle.write(text)
    lines.clear()


def _entry(data: Path, path: str, found: os.DirEntry, shared: tuple | None, percent: int) -> Entry:
    """The entry of a new or changed file, or of a shared one still to be hashed."""
    if shared is not None:
        return parse_line(shared[2])._replace(digest=file_digest(data / path))
    info = found.stat(follow_symlinks=False)
    digest = file_digest(data / path) if sampled(path, percent) else None
    return Entry(path, info.st_size, info.st_mtime_ns, digest)


class _Counter:
    """Adds each run of files to the totals, and its size to its user's (the files
    below the users folder); called once per run, so the user is found once. A
    file right in the users folder counts as a user of its own name."""

    def __init__(self, totals: Totals, users_folder: str) -> None:
        self.totals = totals
        self.users = users_folder.rstrip("/") + "/"
        self.skip = len(self.users)

    def __call__(self, folder: str, files: int, size: int, added: int) -> None:
        totals = self.totals
        totals.files += files
        totals.bytes += size
        totals.added_bytes += added
        if folder.startswith(self.users) and len(folder) > self.skip:
            self.user(folder[self.skip :].split("/", 1)[0], size)

    def user(self, name: str, size: int) -> None:
        self.totals.users[name] = self.totals.users.get(name, 0) + size


def check_manifest(path: Path, totals: Totals) -> None:
    """Read the manifest back. Its text must hash to what was written; otherwise it
    is read line by line to say what is wrong (a line that does not parse, totals
    that do not add up, or, failing both, that it differs)."""
    try:
        if totals.digest is not None and _file_digest(path) == totals.digest:
            return
        files = size = 0
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
    if totals.digest is not None:
        raise ActionFailedError(
            _("{path}: the manifest just written reads back different from what was written")
            .format(path=path)
        )  # fmt: skip


def _file_digest(path: Path) -> str:
    written = hashlib.blake2b(digest_size=32)
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            written.update(block)
    return written.hexdigest()


class _Lookup:
    """The previous manifest, read forward as the new walk goes (both in one order).

    Its lines are taken as text: a line our writer wrote starts with the JSON of
    its path and ends in plain numbers and a hex hash (or null), so it is matched
    and its size read without a JSON parse. Any other shape is parsed strictly.
    The previous manifest only saves work: where it is damaged (bit rot, a bad
    edit: ``backup verify`` reports it), it is dropped and every file from there
    on is read and hashed afresh."""

    def __init__(self, previous: Previous | None) -> None:
        self.lines: Iterator[str] = iter(())
        self.data: Path | None = None  # the folder to list beside the new one
        if previous is not None and previous.manifest.is_file():
            self.lines, self.data = raw_lines(previous.manifest), previous.data
        self.current: str | None = None
        self._advance()

    def _advance(self) -> None:
        try:
            self.current = next(self.lines, None)
        except (OSError, ValueError):  # unreadable or not ASCII: nothing more to reuse
            self.current, self.lines = None, iter(())

    def same_file(self, path: str, inode: int, before: int | None) -> tuple | None:
        """(size, whether hashed, line) of ``path``'s previous line, when the file is
        the very same inode as the previous snapshot's ``path`` (``before``): rsync
        linked it, so the line still holds. None for any other file."""
        if before != inode or self.current is None:
            return None
        head = "[" + _json_string(path) + ", "
        line = self.current
        found = _quick(line, len(head)) if line.startswith(head) else None
        if found is None:
            found = self._strict(path)
            if found is None:
                return None
        self._advance()  # the next file is usually the next line
        return found

    def _strict(self, path: str) -> tuple | None:
        """Parse lines forward, past files that are gone, to ``path``'s; None (and
        stay) at the first line after where it would be."""
        key = sort_key(path)
        while self.current is not None:
            try:
                entry = parse_line(self.current)
            except ValueError:  # a damaged line: nothing more to reuse
                self.current, self.lines = None, iter(())
                return None
            if entry.path == path:
                return entry.size, entry.digest is not None, self.current
            if entry.key() > key:
                return None
            self._advance()
        return None


def _quick(line: str, start: int) -> tuple | None:
    """(size, whether hashed, line) from the end of a line as our writer writes it
    (``<size>, <mtime>, null]`` or ``…, "<hex>"]``); None for any other shape."""
    found = _TAIL(line, start)
    if found is None:
        return None
    return int(found.group(1)), found.group(2) != "null", line


# The end of a line after its path, exactly as json.dumps writes an Entry.
_TAIL = re.compile(r'(0|[1-9][0-9]*), -?(?:0|[1-9][0-9]*), (null|"[0-9a-f]{64}")\]\n\Z').match
