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
from datakeeper.system.workers import default_jobs, run_forked

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
class _Bucket:
    """Usage gathered directly in one marked folder (not in marked folders below it)."""

    path: Path
    parent: int | None
    usage: Usage = field(default_factory=Usage)


class _Walk:
    """State of one scan; ``run`` is the hot loop."""

    def __init__(self, top: Path, marks: Sequence[Path], by_owner: bool, progress) -> None:
        self.top = top
        self.by_owner = by_owner
        self.progress = progress
        self.buckets = [_Bucket(top, None)]
        self.mark_ids = _mark_ids(marks)
        self.seen: set[tuple[int, int]] = set()
        self.dev = 0  # the top's filesystem; set when the top is opened
        self.scan = Scan(top, {})

    def error(self, where: str, why: OSError) -> None:
        """Count a problem; keep the first few so the report can name them."""
        self.scan.errors += 1
        if len(self.scan.error_samples) < MAX_ERROR_SAMPLES:
            self.scan.error_samples.append(f"{where}: {why.strerror or why}")

    def run(self) -> Scan:
        """Walk the tree depth first; return the totals."""
        top_fd = self.open_top()
        if top_fd is not None:
            self.walk(top_fd)
        self.finish()
        return self.scan

    def open_top(self) -> int | None:
        try:
            info = os.lstat(self.top)
        except OSError as error:
            self.error(str(self.top), error)
            return None
        self.count(info, 0)
        if info.st_mode & _S_IFMT != _S_IFDIR:
            return None
        self.dev = info.st_dev
        return self.open_dir(None, str(self.top), info, str(self.top))

    def open_dir(self, parent_fd: int | None, name: str, info: os.stat_result, where: str):
        """Open a directory without following symlinks and check it is the one stat-ed."""
        try:
            fd = os.open(name, _OPEN_DIR, dir_fd=parent_fd)
        except OSError as error:
            if error.errno != errno.ENOENT:  # vanished since it was listed: not a problem
                self.error(where, error)
            return None
        opened = os.fstat(fd)
        if (opened.st_dev, opened.st_ino) != (info.st_dev, info.st_ino):
            os.close(fd)  # swapped during the scan: do not follow it anywhere
            self.error(where, OSError(errno.ESTALE, _("replaced during the scan")))
            return None
        return fd

    def count(self, info: os.stat_result, bucket: int) -> None:
        """Add one entry outside the hot loop (the top, a marked folder)."""
        usage = self.buckets[bucket].usage
        usage.bytes += info.st_blocks * 512
        usage.entries += 1
        if self.by_owner:
            usage.owners[info.st_uid] = usage.owners.get(info.st_uid, 0) + info.st_blocks * 512

    def walk(self, top_fd: int) -> None:
        """Depth first, one open directory per level (one descriptor each) down to
        ``MAX_OPEN_LEVELS``; below that, one descriptor at a time (``deep``)."""
        frame = self.frame(top_fd, 0, str(self.top))
        stack = [frame] if frame is not None else []
        progress, entries = self.progress, 0
        try:
            while stack:
                fd, names, bucket, where = stack[-1]
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
                    continue
                else:
                    _close(stack.pop())
        finally:  # interrupted (Ctrl-C): give every descriptor back
            for frame in stack:
                _close(frame)

    def deep(self, frame) -> None:
        """Add up a subtree below ``MAX_OPEN_LEVELS`` open levels, holding one descriptor
        however deep it goes (a user can nest far deeper than the open-file limit)."""
        fd, _names, bucket, where = frame

        def visit(dir_fd: int, rel: str) -> list[str]:
            subdirs = []
            for name in os.listdir(dir_fd):
                info = safe_delete.lstat_at(name, dir_fd)
                if info is None:
                    continue  # deleted while we looked
                if stat.S_ISDIR(info.st_mode) and info.st_dev != self.dev:
                    self.scan.skipped_mounts.append(f"{where}/{rel}{name}")
                    continue
                if stat.S_ISDIR(info.st_mode):
                    subdirs.append(name)
                elif info.st_nlink > 1 and (info.st_dev, info.st_ino) in self.seen:
                    continue
                self.seen.add((info.st_dev, info.st_ino))
                self.count(info, bucket)
            return subdirs

        try:
            safe_delete.walk(fd, visit)  # closes fd
        except OSError as error:
            self.error(where, error)
        except DatakeeperError as error:  # moved or replaced during the scan
            self.error(where, OSError(errno.ESTALE, str(error)))

    def frame(self, fd: int, bucket: int, where: str):
        """The stack frame of an opened directory: (fd, its names, bucket, path). The
        names are read whole (as du's fts does) and each is stat-ed in ``fd``: a
        little less work per entry than ``scandir``'s entries, which cache nothing
        the walk uses but the stat."""
        try:
            return fd, iter(os.listdir(fd)), bucket, where
        except OSError as error:
            os.close(fd)
            self.error(where, error)
            return None

    def scan_entries(self, fd: int, names, bucket: int, where: str):
        """Count entries of one directory until a subdirectory to enter is found.

        Returns (the subdirectory's stack frame or None when this directory is
        done, the number of entries counted).
        """
        usage = self.buckets[bucket].usage
        owners = usage.owners if self.by_owner else None
        seen, ifmt, ifdir, stat_at = self.seen, _S_IFMT, _S_IFDIR, os.stat
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
                    if key in seen:
                        continue
                    seen.add(key)
                blocks += info.st_blocks
                count += 1
                if owners is not None:
                    owners[info.st_uid] = owners.get(info.st_uid, 0) + info.st_blocks * 512
            return None, count
        finally:
            usage.bytes += blocks * 512  # st_blocks counts 512-byte units, whatever the fs
            usage.entries += count

    def enter(self, fd: int, parent: str, name: str, info: os.stat_result, bucket: int):
        """Count a subdirectory and open it, unless it is on another filesystem."""
        where = f"{parent}/{name}"
        if info.st_dev != self.dev:
            self.scan.skipped_mounts.append(where)  # like du -x: neither counted nor entered
            return None
        key = (info.st_dev, info.st_ino)
        if self.mark_ids and key in self.mark_ids:
            self.buckets.append(_Bucket(self.mark_ids[key], bucket))
            bucket = len(self.buckets) - 1
        self.count(info, bucket)
        child_fd = self.open_dir(fd, name, info, where)
        return None if child_fd is None else self.frame(child_fd, bucket, where)

    def finish(self) -> None:
        """Roll each marked folder's usage up into every marked folder above it."""
        totals = [Usage() for _ in self.buckets]
        for index, bucket in enumerate(self.buckets):
            at: int | None = index
            while at is not None:
                totals[at].add(bucket.usage)
                at = self.buckets[at].parent
        for bucket, total in zip(self.buckets, totals, strict=True):
            self.scan.usage[bucket.path] = total


def _close(frame) -> None:
    fd, _names, _bucket, _where = frame
    os.close(fd)


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
    return _Walk(Path(top), marks, by_owner, progress).run()


def scan_trees(
    requests: Sequence[ScanRequest],
    *,
    jobs: int | None = None,
    listener: ScanListener | None = None,
) -> list[Scan]:
    """Scan several trees, in parallel processes when there are CPUs to spare.

    Each tree is scanned whole by one process, so hard links are counted as a
    separate ``du -s`` of each tree counts them. Threads would not help: the
    walk is interpreter work between system calls, serialized by the GIL.
    Results come back in the order of ``requests``.
    """
    jobs = default_jobs(len(requests)) if jobs is None else max(1, min(jobs, len(requests)))
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
    """Fill ``results`` from forked workers; stop quietly if they fail.

    Returns whether ``listener.started`` was called (once the workers exist).
    """
    told = []

    def started() -> None:
        told.append(True)
        if listener is not None:
            listener.started(len(requests))

    def done(index: int, scan: Scan) -> None:
        results[index] = scan
        if listener is not None:
            listener.finished(scan)

    job = partial(_scan_index, requests)
    run_forked(job, len(requests), jobs, started=started, done=done)
    return bool(told)


def _scan_index(requests: Sequence[ScanRequest], index: int) -> Scan:
    return _scan_request(requests[index])


def _scan_request(request: ScanRequest, progress: Callable[[int], None] | None = None) -> Scan:
    return scan_tree(request.top, marks=request.marks, by_owner=request.by_owner, progress=progress)
