"""Write a snapshot's manifest, and add up its sizes on the way.

One walk of the new snapshot's data does both. It goes in step with the
previous snapshot's manifest (same order, see ``manifest``) and lists the
previous snapshot's folders beside the new ones: a file that rsync hard-linked
to the previous snapshot's copy is the very same inode, so the previous
manifest's line, hash included, still describes it. That line is written again
as it was, nothing is stat'ed or read for the file, and it adds no bytes. Only
new or changed files (and files whose hash the previous manifest left out but
the sample now wants) are stat'ed, and hashed when sampled.

A file rsync transferred comes with its hash: rsync printed the xxh128 it
checked the file with (``system.rsync_hashes``), so such a file is only
stat'ed. A file without one (a copy that did not exit cleanly, an rsync without
xxh128, a hash printed twice, a file made by ``-H`` as a link) is read and
hashed here. Reading the files again after the copy took 2.3-2.7 s for 300k new
files on two cores; hashing them in a thread while rsync still copied (at nice
19, then ``SCHED_IDLE``) saved 1.2 s of that but slowed rsync by 1.8-3 s, and
was dropped (issue 15).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from datakeeper.errors import ActionFailedError
from datakeeper.features.backup.manifest import (
    HASH,
    content_hash,
    entry_line,
    file_digest,
    file_stat_digest,
    header_line,
    line_head,
    manifest_hash,
    match_tail,
    parse_line,
    raw_lines,
    read_lines,
    sampled,
    sort_key,
    walk_runs,
)
from datakeeper.i18n import _, ngettext
from datakeeper.progress import current
from datakeeper.system.rsync_hashes import TransferHashes
from datakeeper.system.workers import default_jobs, run_forked


@dataclass
class Totals:
    """What a snapshot holds: files and bytes, bytes it added (not shared with the
    previous snapshot), and bytes per user (below the users folder)."""

    files: int = 0
    bytes: int = 0
    added_bytes: int = 0
    users: dict[str, int] = field(default_factory=dict)
    digest: str | None = None  # of the manifest's text, once written

    def add(self, other: Totals) -> None:
        self.files += other.files
        self.bytes += other.bytes
        self.added_bytes += other.added_bytes
        for name, size in other.users.items():
            self.users[name] = self.users.get(name, 0) + size

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


CUT = 2  # each folder this deep (a home: users/<name>) is a piece written on its own


def write_manifest(
    data: Path,
    out: Path,
    *,
    users_folder: str,
    sample_percent: int,
    previous: Previous | None,
    transferred: TransferHashes | None = None,
    jobs: int | None = None,
) -> Totals:
    """Walk ``data`` and write its manifest to ``out`` (0600); the caller syncs it
    to the disk, with the rest of the snapshot. ``transferred``: the hashes of the
    files the copy into ``data`` transferred, which are then not read again.

    The tree is cut into pieces: each folder two deep (a home), and the files
    above them. ``jobs`` forked processes (one per CPU by default) write the
    pieces, each in step with its own stretch of the previous manifest, and they
    are joined here in order. ``Totals.digest`` is the hash of the text written,
    for ``check_manifest``."""
    manifest = _reusable(previous.manifest) if previous is not None else None
    old_data = previous.data if previous is not None else None  # for the bytes added, too
    pieces = list(walk_runs(data, old_data, cut=CUT))
    starts = _starts(manifest, pieces) if manifest is not None else [None] * len(pieces)
    write_piece = _PieceWriter(
        data, old_data, manifest, pieces, starts,
        users_folder=users_folder, percent=sample_percent, transferred=transferred,
    )  # fmt: skip
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        joined = _Joined(handle, header_line(sample_percent))
        workers = default_jobs(len(pieces)) if jobs is None else min(jobs, len(pieces))
        if workers > 1 and len(pieces) > 1:
            run_forked(write_piece, len(pieces), workers, started=_nothing, done=joined.take)
        for index in joined.missing(len(pieces)):  # one CPU, or a worker that was lost
            joined.take(index, write_piece(index))
    joined.totals.digest = joined.written.hexdigest()
    return joined.totals


def _nothing() -> None:
    """Workers need nothing once they all exist."""


def _reusable(manifest: Path) -> Path | None:
    """The previous manifest, when its lines can be reused: it exists and holds
    hashes of our kind (a manifest of an older hash is not reused; its files are
    read once more, and the next snapshot reuses this one's lines)."""
    try:
        return manifest if manifest_hash(manifest) == HASH else None
    except (OSError, ValueError):  # missing, or a damaged header: nothing to reuse
        return None


class _Joined:
    """The manifest file, written piece by piece in order as the pieces come in."""

    def __init__(self, handle, header: str) -> None:
        self.handle = handle
        self.written = content_hash()  # of the text written: check_manifest reads it back
        self.totals = Totals()
        self.waiting: dict[int, tuple[str, Totals]] = {}
        self.next = 0
        self.advance = current().advance
        self._put(header)

    def take(self, index: int, result: tuple[str, Totals]) -> None:
        """Piece ``index`` is done: write it, and any after it that came in early."""
        self.waiting[index] = result
        while self.next in self.waiting:
            text, part = self.waiting.pop(self.next)
            self._put(text)
            self.totals.add(part)
            self.advance(part.files)
            self.next += 1

    def missing(self, count: int) -> list[int]:
        """The pieces not done yet, in order."""
        return [i for i in range(self.next, count) if i not in self.waiting]

    def _put(self, text: str) -> None:
        self.written.update(text.encode("ascii"))
        self.handle.write(text)


class _PieceWriter:
    """Writes one piece's lines: (text, its totals). Run in a forked worker or here."""

    def __init__(
        self, data, old_data, manifest, pieces, starts, *,
        users_folder: str, percent: int, transferred: TransferHashes | None,
    ) -> None:  # fmt: skip
        self.data, self.old_data, self.manifest = data, old_data, manifest
        self.pieces, self.starts = pieces, starts
        self.users_folder, self.percent = users_folder, percent  # percent: of files hashed
        self.transferred = transferred

    def __call__(self, index: int) -> tuple[str, Totals]:
        where, run = self.pieces[index]
        if run is not None:  # files above the cut
            runs: Iterable = [(where, run)]
        else:  # a folder walked on its own
            top = os.fsencode(self.data) + b"/" + where
            old = os.fsencode(self.old_data) + b"/" + where if self.old_data else None
            runs = walk_runs(top, old, prefix=where)
        part = Totals()
        count = _Counter(part, self.users_folder)
        lookup = _Lookup(self.manifest, self.starts[index])
        lines: list[str] = []
        for folder, files in runs:
            self._run(folder, files, lookup, count, lines)
        return "".join(lines), part

    def _run(self, folder: str, run: list, lookup: _Lookup, count: _Counter, lines: list) -> None:
        """The lines of one run of files, reused or made; adds them up."""
        percent = self.percent
        added = size = 0
        loose = folder == count.users  # a file right in the users folder is its own
        here = _Folder()
        if self.transferred is not None:
            here.hashes = self.transferred.names(os.fsencode(folder))
        try:
            for name, found, before in run:
                path = folder + name
                inode = found.inode()
                shared = lookup.same_file(path, inode, before)
                if shared is not None and (shared[1] or not sampled(path, percent)):
                    lines.append(shared[2])
                    one = shared[0]
                else:
                    line, one = _entry(path, found, shared, percent, here)
                    lines.append(line)
                    added += one if before != inode else 0  # not linked to the previous copy
                size += one
                if loose:
                    count.user(name, one)
        finally:
            here.close()
        count(folder, len(run), size, added)


def _starts(manifest: Path, pieces: list[tuple]) -> list[int | None]:
    """Where each piece's stretch of the previous manifest begins: the offset of its
    first line at or after the piece. One pass; a line inside the piece before is
    recognised by its text alone. None for the pieces after a damaged line (their
    files are read afresh) or after the last line (nothing to reuse)."""
    keys = [_piece_key(where, run) for where, run in pieces]
    heads = [_json_head(where) if run is None else None for where, run in pieces]
    starts: list[int | None] = [None] * len(pieces)
    index, inside = 0, None
    try:
        with open(manifest, "rb") as handle:
            position = len(handle.readline())  # the header: raw_lines checks it
            for line in handle:
                if inside is None or not line.startswith(inside):
                    key = parse_line(line.decode("ascii")).key()
                    while index < len(pieces) and key >= keys[index]:
                        starts[index] = position
                        index += 1
                    if index == len(pieces):
                        break
                    inside = heads[index - 1] if index else None
                position += len(line)
    except (OSError, ValueError):
        return [start if i < index else None for i, start in enumerate(starts)]
    return starts


def _piece_key(where: bytes | str, run: list | None) -> tuple[bytes, ...]:
    if run is None:
        return tuple(where.rstrip(b"/").split(b"/"))
    return sort_key(where + run[0][0])


def _json_head(where: bytes) -> bytes:
    """How every manifest line of a file below folder ``where`` begins."""
    return line_head(os.fsdecode(where))[: -len('", ')].encode("ascii")  # path left open


def _entry(
    path: str, found: os.DirEntry, shared: tuple | None, percent: int, folder: _Folder
) -> tuple[str, int]:
    """(line, size) of a new or changed file, or of a shared one still to be hashed.
    No ``Path`` is made per file: a file is read by name in its open ``folder``."""
    if shared is not None:
        old = parse_line(shared[2])
        return entry_line(old.path, old.size, old.mtime_ns, folder.digest(found)[1]), old.size
    # rsync's hash, when it copied the file; taken out whether used or not, so that
    # the folder's hashes are gone once its files are written
    digest = folder.hashes.pop(found.name, None)
    if not sampled(path, percent):
        info, digest = found.stat(follow_symlinks=False), None
    elif digest is not None:
        info = os.stat(found.name, dir_fd=folder.open(found), follow_symlinks=False)
    else:
        info, digest = folder.digest(found)
    return entry_line(path, info.st_size, info.st_mtime_ns, digest), info.st_size


class _Folder:
    """The folder of one run of files, opened the first time one of them is read:
    each file is then opened by its name in it, instead of a lookup of its whole
    path (a tenth of the time of a first snapshot's manifest, per file). ``hashes``:
    the hashes rsync gave of the files it transferred into the folder, by name."""

    def __init__(self) -> None:
        self.fd: int | None = None
        self.hashes: dict[bytes, str | None] = {}

    def open(self, found: os.DirEntry) -> int:
        """The folder's descriptor; ``found`` is one of its entries, listed by byte path."""
        if self.fd is None:
            where = found.path[: len(found.path) - len(found.name)]
            self.fd = os.open(where, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        return self.fd

    def digest(self, found: os.DirEntry) -> tuple[os.stat_result, str]:
        """(stat, hash) of the file of ``found``, read in the folder."""
        return file_stat_digest(found.name, dir_fd=self.open(found))

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


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
        if totals.digest is not None and file_digest(path) == totals.digest:
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


class _Lookup:
    """The previous manifest, read forward as the new walk goes (both in one order).

    Its lines are taken as text: a line our writer wrote starts with the JSON of
    its path and ends in plain numbers and a hex hash (or null), so it is matched
    and its size read without a JSON parse. Any other shape is parsed strictly.
    The previous manifest only saves work: where it is damaged (bit rot, a bad
    edit: ``backup verify`` reports it), it is dropped and every file from there
    on is read and hashed afresh."""

    def __init__(self, manifest: Path | None, start: int | None) -> None:
        """Read ``manifest`` from byte ``start`` (a line's start); nothing when either is None."""
        self.lines: Iterator[str] = iter(())
        if manifest is not None and start is not None:
            self.lines = raw_lines(manifest, start)
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
        head = line_head(path)
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
    found = match_tail(line, start)
    if found is None:
        return None
    return int(found.group(1)), found.group(2) != "null", line
