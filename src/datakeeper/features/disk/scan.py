"""Add up the disk space a tree takes, the way ``du -sx --block-size=1`` does.

Sizes are *allocated* space (``st_blocks * 512``), not file lengths: a sparse
file counts only its written blocks, a small file a whole block, and every
directory, symlink and special file counts its own blocks too. Each inode is
counted once per scan, so a file hard-linked twice takes its space once. The
walk never follows a symlink and never enters another filesystem (a mount
point below the top is skipped and listed, as ``du -x`` does).

Scanning runs as root inside user-writable trees, so every directory is
opened relative to its parent's descriptor with ``O_NOFOLLOW`` and checked to
be the very directory that was stat-ed: a user who swaps a directory for a
symlink mid-scan cannot make the walk wander into ``/etc``. Nothing is
written; errors (permission denied, a directory that vanished) are counted
and sampled, never fatal.

The hot loop is written for speed: one ``fstatat`` per name in its open
directory, no ``Path`` objects, locals instead of attributes
(see ``benchmarks/disk_usage.py``).
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Protocol

from datakeeper.errors import DatakeeperError
from datakeeper.i18n import _
from datakeeper.system import safe_delete
from datakeeper.system.workers import MAX_JOBS, default_jobs, give, run_forked, split_wanted

_OPEN_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
_S_IFMT = 0o170000
_S_IFDIR = stat.S_IFDIR
MAX_ERROR_SAMPLES = 5
MAX_OPEN_LEVELS = 24  # one descriptor each; deeper ones are walked one at a time


@dataclass
class Usage:
    """Allocated bytes and entries below one folder (the folder itself included)."""

    bytes: int = 0
    entries: int = 0
    owners: dict[int, int] = field(default_factory=dict)  # uid -> bytes, when asked for

    def add(self, other: Usage) -> None:
        """Fold ``other`` into this one."""
        self.bytes += other.bytes
        self.entries += other.entries
        for uid, size in other.owners.items():
            self.owners[uid] = self.owners.get(uid, 0) + size


@dataclass
class Scan:
    """The result of one walk: totals of the top and of each marked folder below it."""

    top: Path
    usage: dict[Path, Usage]
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    skipped_mounts: list[str] = field(default_factory=list)

    @property
    def total(self) -> Usage:
        """Usage of the whole tree."""
        return self.usage[self.top]


@dataclass
class _Part:
    """What one walk counted: a whole tree, or a piece another walk handed over.

    ``usage`` holds what was counted directly in each marked folder (the top is
    one), ``parents`` each marked folder found here and the one it lies in.
    ``links`` records every file with more than one link that was counted, by
    (st_dev, st_ino). It goes back with the part only when the tree was split
    between walks, so that a file linked from two parts is counted once
    (``_assemble``). A piece's table says where it counted each such file
    (st_blocks, its folder, its owner), to take it back from there; the whole
    walk's says nothing more (None): its counts are the ones kept, since it is
    put together first. So a walk that is never split keeps no more per file
    than the set of inodes any du keeps."""

    request: int
    whole: bool
    usage: dict[Path, Usage]
    parents: dict[Path, Path | None]
    links: dict[tuple[int, int], tuple[int, Path, int] | None] | None = None
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    skipped_mounts: list[str] = field(default_factory=list)
    gave: int = 0  # pieces handed to other walks


@dataclass(frozen=True)
class _Piece:
    """Names still to count in one directory of a tree, handed from one worker to another.

    ``ident`` is the directory's (st_dev, st_ino) as the giver opened it: the
    taker opens the same path one name at a time without following symlinks,
    and counts nothing unless it reaches that very directory."""

    request: int
    where: str
    ident: tuple[int, int]
    bucket: Path
    names: tuple[str, ...]


class _Walk:
    """State of one walk; ``walk`` is the hot loop."""

    def __init__(
        self, top: Path, marks: Sequence[Path], by_owner: bool, progress, request: int = 0
    ) -> None:
        self.top = top
        self.by_owner = by_owner
        self.progress = progress
        self.mark_ids = _mark_ids(marks)
        self.links: dict[tuple[int, int], tuple[int, Path, int] | None] = {}
        self.dev = 0  # the top's filesystem; set when the walk starts
        self.part = _Part(request, True, {top: Usage()}, {top: None})

    def error(self, where: str, why: OSError) -> None:
        """Count a problem; keep the first few so the report can name them."""
        self.part.errors += 1
        if len(self.part.error_samples) < MAX_ERROR_SAMPLES:
            self.part.error_samples.append(f"{where}: {why.strerror or why}")

    def run(self) -> _Part:
        """Walk the whole tree depth first; return what it counted."""
        self.walk(self.open_top())
        return self.finish()

    def run_piece(self, piece: _Piece) -> _Part:
        """Count the names of a piece another walk handed over, and all below them."""
        self.part = _Part(piece.request, False, {piece.bucket: Usage()}, {})
        self.dev = piece.ident[0]
        fd = self.open_again(piece.where, piece.ident)
        if fd is not None:
            self.walk((fd, iter(piece.names), piece.bucket, piece.where, piece.ident))
        return self.finish()

    def finish(self) -> _Part:
        """The part, with the links table only when the tree was split."""
        if not self.part.whole or self.part.gave:
            self.part.links = self.links
        return self.part

    def open_top(self):
        """Count the top; the stack frame of the top directory, or None."""
        where = str(self.top)
        try:
            info = os.lstat(self.top)
        except OSError as error:
            self.error(where, error)
            return None
        self.count(info, self.top)
        if info.st_mode & _S_IFMT != _S_IFDIR:
            return None
        self.dev = info.st_dev
        fd = self.open_dir(None, where, info, where)
        return None if fd is None else self.frame(fd, self.top, where, safe_delete.ident(info))

    def open_again(self, where: str, ident: tuple[int, int]) -> int | None:
        """Open the directory at ``where`` (below the top) one name at a time, never
        following a symlink, and only if it is still the directory ``ident`` names."""
        names = where[len(str(self.top)) + 1 :].split("/") if where != str(self.top) else []
        try:
            fd = safe_delete.open_below(os.open(str(self.top), _OPEN_DIR), names)
        except OSError as error:
            self.error(where, error)
            return None
        return self.same_dir(fd, ident, where)  # not if moved or replaced since

    def open_dir(self, parent_fd: int | None, name: str, info: os.stat_result, where: str):
        """Open a directory without following symlinks and check it is the one stat-ed."""
        try:
            fd = os.open(name, _OPEN_DIR, dir_fd=parent_fd)
        except OSError as error:
            if error.errno != errno.ENOENT:  # vanished since it was listed: not a problem
                self.error(where, error)
            return None
        return self.same_dir(fd, safe_delete.ident(info), where)

    def same_dir(self, fd: int, ident: tuple[int, int], where: str) -> int | None:
        """``fd`` when it is the directory ``ident`` names; otherwise it was swapped
        during the scan: closed, counted as an error, and followed nowhere."""
        if safe_delete.ident(os.fstat(fd)) == ident:
            return fd
        os.close(fd)
        self.error(where, OSError(errno.ESTALE, _("replaced during the scan")))
        return None

    def count(self, info: os.stat_result, bucket: Path) -> None:
        """Add one entry outside the hot loop (the top, a directory, a deep entry)."""
        usage = self.part.usage[bucket]
        usage.bytes += info.st_blocks * 512
        usage.entries += 1
        if self.by_owner:
            usage.owners[info.st_uid] = usage.owners.get(info.st_uid, 0) + info.st_blocks * 512

    def walk(self, frame) -> None:
        """Depth first from ``frame``, one open directory per level (one descriptor
        each) down to ``MAX_OPEN_LEVELS``; below that, one descriptor at a time
        (``deep``). Between directories, hands work over when the pool asks."""
        stack = [frame] if frame is not None else []
        progress, entries = self.progress, 0
        try:
            while stack:
                fd, names, bucket, where, _ident = stack[-1]
                try:
                    child, added = self.scan_entries(fd, names, bucket, where)
                except OSError as error:  # an entry that could not be stat-ed
                    self.error(where, error)
                    child, added = None, 0
                entries += added
                if child is not None and len(stack) >= MAX_OPEN_LEVELS:
                    self.deep(child)
                elif child is not None:
                    stack.append(child)
                    if progress is not None:
                        progress(entries)
                    if split_wanted():
                        self.hand_over(stack)
                    continue
                else:
                    _close(stack.pop())
        finally:  # interrupted (Ctrl-C): give every descriptor back
            for frame in stack:
                _close(frame)

    def hand_over(self, stack: list) -> None:
        """Give the pool the names left in the directory nearest the top that has any:
        the largest share of the work still ahead, on average."""
        for level, (fd, names, bucket, where, ident) in enumerate(stack):
            rest = tuple(names)
            if rest:
                stack[level] = (fd, iter(()), bucket, where, ident)
                give(_Piece(self.part.request, where, ident, bucket, rest))
                self.part.gave += 1
                return

    def deep(self, frame) -> None:
        """Add up a subtree below ``MAX_OPEN_LEVELS`` open levels, holding one descriptor
        however deep it goes (a user can nest far deeper than the open-file limit)."""
        fd, _names, bucket, where, _ident = frame
        links, piece = self.links, not self.part.whole

        def visit(dir_fd: int, rel: str) -> list[str]:
            subdirs = []
            for name in os.listdir(dir_fd):
                info = safe_delete.lstat_at(name, dir_fd)
                if info is None:
                    continue  # deleted while we looked
                if stat.S_ISDIR(info.st_mode) and info.st_dev != self.dev:
                    self.part.skipped_mounts.append(f"{where}/{rel}{name}")
                    continue
                if stat.S_ISDIR(info.st_mode):
                    subdirs.append(name)
                elif info.st_nlink > 1:
                    key = (info.st_dev, info.st_ino)
                    if key in links:
                        continue
                    links[key] = (info.st_blocks, bucket, info.st_uid) if piece else None
                self.count(info, bucket)
            return subdirs

        try:
            safe_delete.walk(fd, visit)  # closes fd
        except OSError as error:
            self.error(where, error)
        except DatakeeperError as error:  # moved or replaced during the scan
            self.error(where, OSError(errno.ESTALE, str(error)))

    def frame(self, fd: int, bucket: Path, where: str, ident: tuple[int, int]):
        """The stack frame of an opened directory: (fd, its names, bucket, path, its
        (st_dev, st_ino)). The names are read whole (as du's fts does) and each is
        stat-ed in ``fd``: a little less work per entry than ``scandir``'s entries,
        which cache nothing the walk uses but the stat."""
        try:
            return fd, iter(os.listdir(fd)), bucket, where, ident
        except OSError as error:
            os.close(fd)
            self.error(where, error)
            return None

    def scan_entries(self, fd: int, names, bucket: Path, where: str):
        """Count entries of one directory until a subdirectory to enter is found.

        Returns (the subdirectory's stack frame or None when this directory is
        done, the number of entries counted).
        """
        usage = self.part.usage[bucket]
        owners = usage.owners if self.by_owner else None
        links, piece, ifmt, ifdir = self.links, not self.part.whole, _S_IFMT, _S_IFDIR
        stat_at = os.stat
        blocks = count = 0
        try:
            for name in names:
                try:  # safe_delete.lstat_at, inlined: a call more per entry costs ~3% here
                    info = stat_at(name, dir_fd=fd, follow_symlinks=False)
                except FileNotFoundError:
                    continue  # deleted while we looked: it takes no space any more
                if info.st_mode & ifmt == ifdir:
                    frame = self.enter(fd, where, name, info, bucket)
                    if frame is not None:
                        return frame, count
                    continue
                if info.st_nlink > 1:
                    key = (info.st_dev, info.st_ino)
                    if key in links:
                        continue
                    links[key] = (info.st_blocks, bucket, info.st_uid) if piece else None
                blocks += info.st_blocks
                count += 1
                if owners is not None:
                    owners[info.st_uid] = owners.get(info.st_uid, 0) + info.st_blocks * 512
            return None, count
        finally:
            usage.bytes += blocks * 512  # st_blocks counts 512-byte units, whatever the fs
            usage.entries += count

    def enter(self, fd: int, parent: str, name: str, info: os.stat_result, bucket: Path):
        """Count a subdirectory and open it, unless it is on another filesystem."""
        where = f"{parent}/{name}"
        if info.st_dev != self.dev:
            self.part.skipped_mounts.append(where)  # like du -x: neither counted nor entered
            return None
        ident = (info.st_dev, info.st_ino)
        if self.mark_ids and ident in self.mark_ids:
            mark = self.mark_ids[ident]
            self.part.usage[mark] = Usage()
            self.part.parents[mark] = bucket
            bucket = mark
        self.count(info, bucket)
        child_fd = self.open_dir(fd, name, info, where)
        return None if child_fd is None else self.frame(child_fd, bucket, where, ident)


def _close(frame) -> None:
    os.close(frame[0])


def _assemble(top: Path, parts: Sequence[_Part]) -> Scan:
    """One tree's scan from the parts its walks counted: a file linked from two parts
    taken back from the later one (which marked folder keeps it then depends on the
    order the parts came back in, as it depends on the order of the names in a
    single walk), each marked folder's usage rolled up into every marked folder
    above it."""
    direct: dict[Path, Usage] = {}
    parents: dict[Path, Path | None] = {}
    counted: set[tuple[int, int]] = set()
    scan = Scan(top, {})
    for part in sorted(parts, key=lambda part: not part.whole):  # the whole walk first
        for path, usage in part.usage.items():
            direct.setdefault(path, Usage()).add(usage)
        for path, parent in part.parents.items():
            parents.setdefault(path, parent)
        for key, where in (part.links or {}).items():
            if key in counted and where is not None:  # counted by an earlier part too
                blocks, bucket, uid = where
                _take_back(direct[bucket], blocks * 512, uid)
            counted.add(key)
        scan.errors += part.errors
        room = MAX_ERROR_SAMPLES - len(scan.error_samples)
        scan.error_samples += part.error_samples[: max(room, 0)]
        scan.skipped_mounts += part.skipped_mounts
    for path in sorted(direct, key=lambda path: (path != top, str(path))):
        scan.usage[path] = Usage()  # the top first, then by path, however the parts came
    for path, usage in direct.items():
        at: Path | None = path
        while at is not None:
            scan.usage[at].add(usage)
            at = parents.get(at)
    return scan


def _take_back(usage: Usage, size: int, uid: int) -> None:
    """Remove a file counted twice (linked from two parts) from ``usage``."""
    usage.bytes -= size
    usage.entries -= 1
    if uid in usage.owners:
        usage.owners[uid] -= size
        if not usage.owners[uid]:  # its only file here: the owner is not in this folder
            del usage.owners[uid]


def _mark_ids(marks: Sequence[Path]) -> dict[tuple[int, int], Path]:
    ids = {}
    for mark in marks:
        try:
            info = os.lstat(mark)
        except OSError:
            continue
        if stat.S_ISDIR(info.st_mode):
            ids[(info.st_dev, info.st_ino)] = mark
    return ids


@dataclass(frozen=True)
class ScanRequest:
    """One tree to scan: its top, the folders below it to total too, owners or not."""

    top: Path
    marks: tuple[Path, ...] = ()
    by_owner: bool = False


class ScanListener(Protocol):
    """Follows ``scan_trees`` (for a progress display)."""

    def started(self, trees: int) -> None:
        """Scanning begins; any worker processes exist already (safe to start threads)."""

    def scanning(self, top: Path, entries: int) -> None:
        """An in-process walk of ``top`` has counted ``entries`` so far."""

    def finished(self, scan: Scan) -> None:
        """One tree is done (in any process)."""


def scan_tree(
    top: Path,
    *,
    marks: Sequence[Path] = (),
    by_owner: bool = False,
    progress: Callable[[int], None] | None = None,
) -> Scan:
    """Allocated size of ``top`` and of each folder in ``marks`` below it.

    ``by_owner`` also splits each total by the uid owning the files.
    ``progress`` gets the number of entries counted so far each time the walk
    enters a directory.
    """
    top = Path(top)
    return _assemble(top, [_Walk(top, marks, by_owner, progress).run()])


def scan_trees(
    requests: Sequence[ScanRequest],
    *,
    jobs: int | None = None,
    listener: ScanListener | None = None,
) -> list[Scan]:
    """Scan several trees, in parallel processes when there are CPUs to spare.

    Each tree starts whole in one process; when a process has nothing left to
    do, a busy one hands it the names left in one of its directories
    (``_Walk.hand_over``), so one large tree among small ones, or alone, still
    keeps every CPU busy. Hard links are counted once per tree, as a separate
    ``du -s`` of each tree counts them, also across the pieces of a split tree.
    Threads would not help: the walk is interpreter work between system calls,
    serialized by the GIL. Results come back in the order of ``requests``.
    """
    if not requests:
        return []
    jobs = default_jobs(MAX_JOBS) if jobs is None else max(1, min(jobs, MAX_JOBS))
    results: dict[int, Scan] = {}
    told = jobs > 1 and _scan_in_processes(requests, jobs, results, listener)
    if listener is not None and not told:
        listener.started(len(requests))
    for index, request in enumerate(requests):
        if index in results:
            continue  # the workers failed (or were not used): scan the rest here
        progress = None
        if listener is not None:
            progress = partial(listener.scanning, request.top)
        results[index] = _scan_request(request, progress)
        if listener is not None:
            listener.finished(results[index])
    return [results[index] for index in range(len(requests))]


def _scan_in_processes(requests, jobs, results, listener) -> bool:
    """Fill ``results`` from forked workers: each tree once all its parts are back.
    Stops quietly if the workers fail; a tree with a part missing is left out.

    Returns whether ``listener.started`` was called (once the workers exist).
    """
    told = []
    parts: dict[int, list[_Part]] = {}

    def started() -> None:
        told.append(True)
        if listener is not None:
            listener.started(len(requests))

    def done(_work, part: _Part) -> None:
        got = parts.setdefault(part.request, [])
        got.append(part)
        if _complete(got):
            scan = results[part.request] = _assemble(requests[part.request].top, got)
            if listener is not None:
                listener.finished(scan)

    job = partial(_scan_index, requests)
    run_forked(job, len(requests), jobs, started=started, done=done)
    return bool(told)


def _complete(parts: Sequence[_Part]) -> bool:
    """Whether a tree's parts are all back: its whole walk, and one part for each
    piece any of them handed over."""
    return any(part.whole for part in parts) and len(parts) == 1 + sum(p.gave for p in parts)


def _scan_index(requests: Sequence[ScanRequest], work: int | _Piece) -> _Part:
    """A worker's job: the whole tree of ``requests[work]``, or a piece handed over."""
    if isinstance(work, _Piece):
        request = requests[work.request]
        walk = _Walk(request.top, request.marks, request.by_owner, None, work.request)
        return walk.run_piece(work)
    request = requests[work]
    return _Walk(request.top, request.marks, request.by_owner, None, work).run()


def _scan_request(request: ScanRequest, progress: Callable[[int], None] | None = None) -> Scan:
    return scan_tree(request.top, marks=request.marks, by_owner=request.by_owner, progress=progress)
