"""Fix owners and modes in a tree other users can write, as root, without being tricked.

A naive ``os.walk`` + ``chown``/``chmod`` follows a symlink planted in the
tree (or a directory swapped for one mid-walk) and hands root's files to the
user (CVE-2018-6954). This walk never resolves a path: the top is opened one
component at a time with ``O_NOFOLLOW``; every directory below is opened with
``O_NOFOLLOW|O_DIRECTORY`` relative to its parent's descriptor; entries are
examined with ``fstatat(AT_SYMLINK_NOFOLLOW)``; a file that needs a change is
opened ``O_NOFOLLOW|O_NONBLOCK`` relative to its directory and changed with
``fchown``/``fchmod`` only after ``fstat`` shows the same device and inode the
lstat saw. So a change can only reach the inode that was examined, inside the
tree. Left alone, and counted: symlinks, FIFOs, sockets and devices, files
with several hard links (one may be another user's file linked in), other
filesystems (mount points), entries that changed between look and act, and
directories deeper than ``MAX_DEPTH``.

What to change is up to a ``Rules`` object (see ``datakeeper.features.permissions``).
``survey_tree`` only looks and counts what would change (a plan); ``fix_tree``
changes it. Both walk the same way and report the same counts.
"""

from __future__ import annotations

import errno
import os
import stat
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from datakeeper.errors import RefusedError
from datakeeper.i18n import _

DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK | os.O_NOCTTY
MAX_DEPTH = 256
MAX_PROBLEMS = 20
MAX_SAMPLES = 5  # paths named in a report of what changes; the rest are counted
PROTECTED_HARDLINKS = Path("/proc/sys/fs/protected_hardlinks")
KEEP = -1  # fchown's "leave this id as it is"

# (uid or KEEP, gid or KEEP, permission bits wanted)
Target = tuple[int, int, int]
Hook = Callable[[int, str], None]


class Rules(Protocol):
    """What one directory's entries should look like."""

    def directory(self, info: os.stat_result) -> Target:
        """The wanted owner, group and mode of a directory with this lstat."""

    def file(self, info: os.stat_result) -> Target:
        """The wanted owner, group and mode of a regular file with this lstat."""

    def child(self, name: str) -> Rules | None:
        """The rules inside subdirectory ``name``; None: do not enter it."""


@dataclass
class WalkReport:
    """What a walk found, changed (or, in a survey, would change) and left alone."""

    counts: Counter = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)
    samples: list[str] = field(default_factory=list)  # the first entries that change

    def problem(self, key: str, where: str, why: str) -> None:
        """Count ``key`` and keep the first few messages."""
        self.counts[key] += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(f"{where}: {why}")

    def sample(self, where: str) -> None:
        """Count one entry that changes (or would), and name the first few."""
        if len(self.samples) < MAX_SAMPLES:
            self.samples.append(where)

    def as_dict(self) -> dict:
        """JSON-able: counts (zero ones left out), sample problems and changed entries."""
        return {"counts": dict(self.counts), "problems": self.problems, "samples": self.samples}


def protected_hardlinks() -> bool | None:
    """The kernel's ``fs.protected_hardlinks`` (True: users cannot link others' files)."""
    try:
        return PROTECTED_HARDLINKS.read_text().strip() == "1"
    except OSError:
        return None


def open_directory(path: Path) -> int:
    """Open the absolute directory ``path`` one component at a time, refusing any symlink."""
    text = os.path.normpath(path)
    if not os.path.isabs(text):
        raise RefusedError(_("{path} is not an absolute path").format(path=path))
    fd = os.open("/", DIR_FLAGS)
    try:
        for part in [p for p in text.split("/") if p]:
            child = os.open(part, DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = child
    except OSError as error:
        os.close(fd)
        if error.errno == errno.ENOENT:
            raise
        raise RefusedError(
            _(
                "refusing to walk {path}: it or a directory above it is a symlink or not a "
                "directory ({why})"
            ).format(path=path, why=error.strerror)
        ) from error
    return fd


def survey_tree(top: Path, rules: Rules) -> WalkReport:
    """What ``fix_tree`` would change in ``top`` and below, and what it would leave
    alone; changes nothing."""
    return TreeSurvey().walk(top, rules)


def fix_tree(top: Path, rules: Rules, hook: Hook | None = None) -> WalkReport:
    """Bring ``top`` and everything below it to what ``rules`` want; what it did."""
    return TreeFixer(hook).walk(top, rules)


class TreeSurvey:
    """Walks one tree and counts every entry that differs from what ``rules`` want."""

    def __init__(self, hook: Hook | None = None) -> None:
        self.report = WalkReport()
        self.hook = hook  # tests: called with (dir_fd, name) just before an entry is opened
        self.device = 0

    def walk(self, top: Path, rules: Rules) -> WalkReport:
        """Walk ``top`` itself and everything below it; returns the running report."""
        fd = open_directory(top)
        try:
            info = os.fstat(fd)
            self.device = info.st_dev
            self.report.counts["directories"] += 1
            self._apply(fd, info, rules.directory(info), str(top))
            self._walk(fd, rules, str(top), 1)
        finally:
            os.close(fd)
        return self.report

    def _walk(self, fd: int, rules: Rules, where: str, depth: int) -> None:
        try:
            with os.scandir(fd) as entries:
                listing = list(entries)
        except OSError as error:
            self.report.problem("errors", where, error.strerror or str(error))
            return
        for entry in listing:
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                self.report.counts["changed_during_walk"] += 1
                continue
            kind = stat.S_IFMT(info.st_mode)
            if kind == stat.S_IFREG:
                self._file(fd, entry.name, info, rules, where)
            elif kind == stat.S_IFDIR:
                self._directory(fd, entry.name, info, rules, where, depth)
            elif kind == stat.S_IFLNK:
                self.report.counts["symlinks"] += 1
            else:
                self.report.counts["special_files"] += 1

    def _file(self, fd: int, name: str, info: os.stat_result, rules: Rules, where: str) -> None:
        counts = self.report.counts
        counts["files"] += 1
        target = rules.file(info)
        if not _differs(info, target):
            return
        if info.st_nlink > 1:
            self.report.problem("hard_links", f"{where}/{name}", _("several hard links"))
        elif info.st_dev != self.device:
            counts["other_filesystems"] += 1
        else:
            self._fix_file(fd, name, info, target, where)

    def _fix_file(self, fd: int, name: str, info: os.stat_result, target: Target, where: str):
        """A survey only counts the file as one that would change."""
        _count_changes(self.report.counts, info, target)
        self.report.sample(f"{where}/{name}")

    def _apply(self, fd: int, info: os.stat_result, target: Target, where: str, name="") -> None:
        """A survey only counts the open inode ``fd`` when it differs from ``target``."""
        if _differs(info, target):
            _count_changes(self.report.counts, info, target)
            self.report.sample(f"{where}/{name}" if name else where)

    def _directory(
        self, fd: int, name: str, info: os.stat_result, rules: Rules, where: str, depth: int
    ) -> None:
        counts = self.report.counts
        inner = rules.child(name)
        if inner is None:
            counts["excluded"] += 1
            return
        if info.st_dev != self.device:
            counts["other_filesystems"] += 1
            return
        if depth > MAX_DEPTH:
            deeper = _("deeper than {n}").format(n=MAX_DEPTH)
            self.report.problem("too_deep", f"{where}/{name}", deeper)
            return
        if self.hook is not None:
            self.hook(fd, name)
        try:
            dir_fd = os.open(name, DIR_FLAGS, dir_fd=fd)
        except OSError:
            counts["changed_during_walk"] += 1  # now a symlink (ELOOP), a file, or gone
            return
        try:
            now = os.fstat(dir_fd)
            if not _same(now, info):
                counts["changed_during_walk"] += 1
                return
            counts["directories"] += 1
            self._apply(dir_fd, now, inner.directory(now), where, name)
            self._walk(dir_fd, inner, f"{where}/{name}", depth + 1)
        finally:
            os.close(dir_fd)


class TreeFixer(TreeSurvey):
    """Walks one tree and brings every entry to what ``rules`` want (see module doc)."""

    def _fix_file(self, fd: int, name: str, info: os.stat_result, target: Target, where: str):
        """Open ``name`` without following a link; change it only if it is the inode seen."""
        if self.hook is not None:
            self.hook(fd, name)
        try:
            file_fd = os.open(name, FILE_FLAGS, dir_fd=fd)
        except OSError:
            self.report.counts["changed_during_walk"] += 1  # now a symlink, a socket, or gone
            return
        try:
            now = os.fstat(file_fd)
            if _same(now, info) and stat.S_ISREG(now.st_mode) and now.st_nlink == 1:
                self._apply(file_fd, now, target, where, name)
            else:
                self.report.counts["changed_during_walk"] += 1
        finally:
            os.close(file_fd)

    def _apply(self, fd: int, info: os.stat_result, target: Target, where: str, name="") -> None:
        """Change the open inode ``fd`` (whose fstat is ``info``) to ``target``."""
        if not _differs(info, target):
            return
        _count_changes(self.report.counts, info, target)
        shown = f"{where}/{name}" if name else where
        self.report.sample(shown)
        uid, gid, mode = target
        try:
            if (uid != KEEP and uid != info.st_uid) or (gid != KEEP and gid != info.st_gid):
                os.fchown(fd, uid, gid)
                os.fchmod(fd, mode)  # chown may clear set-id bits: always set the mode after
            elif mode != stat.S_IMODE(info.st_mode):
                os.fchmod(fd, mode)
        except OSError as error:
            self.report.problem("errors", shown, error.strerror or str(error))


def _differs(info: os.stat_result, target: Target) -> bool:
    uid, gid, mode = target
    return (
        (uid != KEEP and uid != info.st_uid)
        or (gid != KEEP and gid != info.st_gid)
        or mode != stat.S_IMODE(info.st_mode)
    )


def _same(now: os.stat_result, before: os.stat_result) -> bool:
    return now.st_dev == before.st_dev and now.st_ino == before.st_ino


def _count_changes(counts: Counter, info: os.stat_result, target: Target) -> None:
    uid, gid, mode = target
    counts["changed"] += 1
    if uid != KEEP and uid != info.st_uid:
        counts["owner_changed"] += 1
    if gid != KEEP and gid != info.st_gid:
        counts["group_changed"] += 1
    if mode != stat.S_IMODE(info.st_mode):
        counts["mode_changed"] += 1
