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
directories deeper than ``MAX_DEPTH``. The walk is a loop, not a recursion,
and holds two descriptors however deep the tree: it goes back up through
``..`` only when that is the directory it came from, else again from the top,
name by name, inode by inode.

What to change is up to a ``Rules`` object (see ``datakeeper.features.permissions``).
``survey_tree`` only looks and counts what would change (a plan); ``fix_tree``
changes it. Both walk the same way and report the same counts, and both name
every entry that gets (or would get) group write: widening who may write is
never a silent side effect of a repair.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Protocol

from datakeeper.errors import RefusedError
from datakeeper.i18n import _
from datakeeper.progress import NO_PROGRESS, Progress, tracked
from datakeeper.system.safe_delete import open_below

DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK | os.O_NOCTTY
MAX_DEPTH = 256
MAX_PROBLEMS = 20
MAX_SAMPLES = 5  # paths named in a report of what changes; the rest are counted
MAX_GRANTED = 10_000  # entries named that get group write (all of them, in any sane tree)
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

    # The names of the counters, each written once, in the order a report lists them.
    SEEN: ClassVar[tuple[str, ...]] = ("directories", "files")
    CHANGED: ClassVar[tuple[str, ...]] = (
        "changed",
        "owner_changed",
        "group_changed",
        "mode_changed",
        "write_granted",
    )
    LEFT_ALONE: ClassVar[tuple[str, ...]] = (  # left alone on purpose
        "symlinks",
        "hard_links",
        "special_files",
        "other_filesystems",
        "excluded",
        "changed_during_walk",
        "too_deep",
    )
    COUNTERS: ClassVar[tuple[str, ...]] = (*SEEN, *CHANGED, *LEFT_ALONE, "errors")

    counts: Counter = field(default_factory=Counter)
    entries: int = 0  # every entry looked at below the top: a later fix's progress total
    problems: list[str] = field(default_factory=list)
    samples: list[str] = field(default_factory=list)  # the first entries that change
    granted: list[str] = field(default_factory=list)  # entries that get group write

    def problem(self, key: str, where: str, why: str) -> None:
        """Count ``key`` and keep the first few messages."""
        self.counts[key] += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(f"{where}: {why}")

    def change(self, info: os.stat_result, target: Target, where: str) -> None:
        """Count one entry that changes (or would) from ``info`` to ``target``, name it
        among the first few, and among those that get group write if it does."""
        uid, gid, mode = target
        counts = self.counts
        counts["changed"] += 1
        if uid != KEEP and uid != info.st_uid:
            counts["owner_changed"] += 1
        if gid != KEEP and gid != info.st_gid:
            counts["group_changed"] += 1
        if mode != stat.S_IMODE(info.st_mode):
            counts["mode_changed"] += 1
        if len(self.samples) < MAX_SAMPLES:
            self.samples.append(where)
        if gains_group_write(info, target):
            counts["write_granted"] += 1
            if len(self.granted) < MAX_GRANTED:
                self.granted.append(where)

    def as_dict(self) -> dict:
        """JSON-able: counts (zero ones left out), sample problems, changed entries and
        the entries that get group write."""
        return {
            "counts": dict(self.counts),
            "problems": self.problems,
            "samples": self.samples,
            "granted": self.granted,
        }


def gains_group_write(info: os.stat_result, target: Target) -> bool:
    """True when ``target`` lets a group write what ``info`` did not let it write: the
    write bit is added, or kept while the file moves to another group."""
    _uid, gid, mode = target
    if not mode & stat.S_IWGRP:
        return False
    return not info.st_mode & stat.S_IWGRP or (gid != KEEP and gid != info.st_gid)


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
        return open_below(fd, [p for p in text.split("/") if p])
    except OSError as error:
        if error.errno == errno.ENOENT:
            raise
        raise RefusedError(
            _(
                "refusing to walk {path}: it or a directory above it is a symlink or not a "
                "directory ({why})"
            ).format(path=path, why=error.strerror)
        ) from error


def survey_tree(top: Path, rules: Rules) -> WalkReport:
    """What ``fix_tree`` would change in ``top`` and below, and what it would leave
    alone; changes nothing."""
    return TreeSurvey().walk(top, rules)


def fix_tree(
    top: Path, rules: Rules, hook: Hook | None = None, expected: int | None = None
) -> WalkReport:
    """Bring ``top`` and everything below it to what ``rules`` want; what it did.
    ``expected``: the entries a survey just saw, the progress bar's total."""
    return TreeFixer(hook, expected).walk(top, rules)


class TreeSurvey:
    """Walks one tree and counts every entry that differs from what ``rules`` want."""

    def __init__(self, hook: Hook | None = None, expected: int | None = None) -> None:
        self.report = WalkReport()
        self.hook = hook  # tests: called with (dir_fd, name) just before an entry is opened
        self.device = 0
        self.progress: Progress = NO_PROGRESS
        self.expected = expected  # entries below the top, when a survey counted them

    def walk(self, top: Path, rules: Rules) -> WalkReport:
        """Walk ``top`` itself and everything below it; returns the running report."""
        fd = open_directory(top)
        try:
            info = os.fstat(fd)
            self.device = info.st_dev
            self.report.counts["directories"] += 1
            self._apply(fd, info, rules.directory(info), str(top))
            # The total is known when a survey just counted the tree (a fix after its
            # plan); a survey itself shows a count only: counting first would walk twice.
            doing = self._doing().format(path=top)
            with tracked(doing, self.expected, "items") as self.progress:
                self._walk(fd, _Dir((info.st_dev, info.st_ino), "", rules, str(top), 1, []))
        finally:
            os.close(fd)
        return self.report

    def _doing(self) -> str:
        return _("checking permissions in {path}")

    def _walk(self, top_fd: int, top: _Dir) -> None:
        """Depth first without recursion, holding two descriptors however deep the tree
        goes: the top's and the current directory's (a user can nest directories far
        deeper than the open-file limit or Python's recursion limit)."""
        fd = os.dup(top_fd)
        top.names = self._list(fd, top.where)
        path = [top]
        try:
            while path:
                level = path[-1]
                if level.names:
                    child = self._entry(fd, level, level.names.pop())
                    if child is not None:
                        fd, below = _swap(fd, child[0]), child[1]
                        path.append(below)
                    continue
                path.pop()
                if path:
                    fd = _swap(fd, _back_up(top_fd, fd, path))
        except _Lost as lost:
            moved = _("moved during the walk; the rest of the tree was left alone")
            self.report.problem("changed_during_walk", lost.where, moved)
        finally:
            os.close(fd)

    def _list(self, fd: int, where: str) -> list[str]:
        """The names in directory ``fd``, the first one last (for ``pop``)."""
        try:
            return sorted(os.listdir(fd), reverse=True)
        except OSError as error:
            self.report.problem("errors", where, error.strerror or str(error))
            return []

    def _entry(self, fd: int, level: _Dir, name: str) -> tuple[int, _Dir] | None:
        """Look at one entry of ``level``; a subdirectory to walk into comes back opened."""
        self.report.entries += 1
        self.progress.advance(1)
        try:
            info = os.stat(name, dir_fd=fd, follow_symlinks=False)
        except OSError:
            self.report.counts["changed_during_walk"] += 1
            return None
        kind = stat.S_IFMT(info.st_mode)
        if kind == stat.S_IFREG:
            self._file(fd, name, info, level.rules, level.where)
        elif kind == stat.S_IFDIR:
            return self._directory(fd, name, info, level)
        elif kind == stat.S_IFLNK:
            self.report.counts["symlinks"] += 1
        else:
            self.report.counts["special_files"] += 1
        return None

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
        self.report.change(info, target, f"{where}/{name}")

    def _apply(self, fd: int, info: os.stat_result, target: Target, where: str, name="") -> None:
        """A survey only counts the open inode ``fd`` when it differs from ``target``."""
        if _differs(info, target):
            self.report.change(info, target, f"{where}/{name}" if name else where)

    def _directory(
        self, fd: int, name: str, info: os.stat_result, level: _Dir
    ) -> tuple[int, _Dir] | None:
        """Open subdirectory ``name`` to walk it, when ``level``'s rules enter it."""
        counts, where = self.report.counts, level.where
        inner = level.rules.child(name)
        if inner is None:
            counts["excluded"] += 1
            return None
        if info.st_dev != self.device:
            counts["other_filesystems"] += 1
            return None
        if level.depth > MAX_DEPTH:
            deeper = _("deeper than {n}").format(n=MAX_DEPTH)
            self.report.problem("too_deep", f"{where}/{name}", deeper)
            return None
        if self.hook is not None:
            self.hook(fd, name)
        try:
            dir_fd = os.open(name, DIR_FLAGS, dir_fd=fd)
        except OSError:
            counts["changed_during_walk"] += 1  # now a symlink (ELOOP), a file, or gone
            return None
        now = os.fstat(dir_fd)
        if not _same(now, info):
            os.close(dir_fd)
            counts["changed_during_walk"] += 1
            return None
        counts["directories"] += 1
        self._apply(dir_fd, now, inner.directory(now), where, name)
        inside = f"{where}/{name}"
        names = self._list(dir_fd, inside)
        return dir_fd, _Dir((now.st_dev, now.st_ino), name, inner, inside, level.depth + 1, names)


@dataclass
class _Dir:
    """A directory on the walk's current path: how to find it again, and what is left."""

    ident: tuple[int, int]
    name: str  # in its parent ("" for the top)
    rules: Rules
    where: str
    depth: int
    names: list[str]  # entries still to look at, the next one last


class _Lost(Exception):
    """The walk cannot find its way back: the tree was moved under it."""

    def __init__(self, where: str) -> None:
        super().__init__(where)
        self.where = where


def _swap(old: int, new: int) -> int:
    os.close(old)
    return new


def _back_up(top_fd: int, fd: int, path: list[_Dir]) -> int:
    """Open the parent of ``fd``, ``path[-1]``: through ``..`` when that is still the
    directory we came down from, else again from the top by name, inode by inode."""
    with contextlib.suppress(OSError):
        parent = os.open("..", DIR_FLAGS, dir_fd=fd)
        info = os.fstat(parent)
        if (info.st_dev, info.st_ino) == path[-1].ident:
            return parent
        os.close(parent)
    parent = os.dup(top_fd)
    for level in path[1:]:
        try:
            child = os.open(level.name, DIR_FLAGS, dir_fd=parent)
        except OSError:
            child = None
        os.close(parent)
        if child is None:
            raise _Lost(level.where)
        info = os.fstat(child)
        if (info.st_dev, info.st_ino) != level.ident:
            os.close(child)
            raise _Lost(level.where)
        parent = child
    return parent


class TreeFixer(TreeSurvey):
    """Walks one tree and brings every entry to what ``rules`` want (see module doc)."""

    def _doing(self) -> str:
        return _("fixing permissions in {path}")

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
        shown = f"{where}/{name}" if name else where
        self.report.change(info, target, shown)
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
