"""Walk, measure and delete a user's tree as root without ever following a symlink.

Everything happens relative to directory descriptors opened with
``O_NOFOLLOW``: a symlink the user planted (to ``/etc``, to another user's
files) is measured or unlinked as a link, never followed. Each directory is
opened only after ``lstat`` said it is one, and the opened descriptor must be
the same inode; going back up uses ``..`` and must land on the directory we
came from, so a tree moved or swapped during the walk stops it. One
descriptor is open at a time, however deep the tree (a user can nest
directories far deeper than the open-file limit). The walk never crosses
into another filesystem (a mount point inside the tree): measuring reports
it, deleting refuses it.

``shutil.rmtree`` is symlink-attack safe too, but pins its parent with
``dir_fd`` only from Python 3.11; this module also runs on 3.10.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from datakeeper.errors import ActionFailedError, DatakeeperError, RefusedError
from datakeeper.i18n import _

DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
Ident = tuple[int, int]
# Called in each directory (its descriptor, its path relative to the top);
# returns the names of the subdirectories to walk into.
Visitor = Callable[[int, str], list[str]]
# Called in a directory after its subdirectory ``name`` was walked.
Leaver = Callable[[int, str, str], None]


@dataclass
class TreeUsage:
    """Space a tree takes on disk, counted the way ``du`` does (hard links once)."""

    allocated_bytes: int = 0
    files: int = 0
    directories: int = 0
    other_filesystems: list[str] = field(default_factory=list)  # relative paths, not entered

    def as_dict(self) -> dict:
        return {
            "allocated_bytes": self.allocated_bytes,
            "files": self.files,
            "directories": self.directories,
            "other_filesystems": list(self.other_filesystems),
        }


@dataclass
class DeleteReport:
    """What a deletion removed."""

    files: int = 0  # every non-directory, symlinks included
    directories: int = 0


@dataclass
class _Level:
    ident: Ident
    name: str  # name in the parent ("" for the top)
    rel: str
    pending: list[str]


def ident(info: os.stat_result) -> Ident:
    """Device and inode: what makes a directory the same one."""
    return info.st_dev, info.st_ino


def lstat_at(name: str, dir_fd: int) -> os.stat_result | None:
    """``lstat`` relative to ``dir_fd``; None when the entry is gone."""
    try:
        return os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return None


def open_dir(path: Path) -> int:
    """Open directory ``path``; its last component must not be a symlink."""
    try:
        return os.open(path, DIR_FLAGS)
    except OSError as error:
        raise _refuse_open(str(path), error) from None


def open_below(fd: int, names: Sequence[str]) -> int:
    """The directory reached from the open directory ``fd`` through ``names``, one name
    at a time, never following a symlink. ``fd`` is taken over: closed on the way,
    also when an ``OSError`` (a link, a name gone, not a directory) ends the descent."""
    for name in names:
        try:
            child = os.open(name, DIR_FLAGS, dir_fd=fd)
        finally:
            os.close(fd)
        fd = child
    return fd


def open_dir_at(name: str, parent_fd: int, expected: Ident, rel: str) -> int:
    """Open subdirectory ``name`` and check it is the inode ``lstat`` reported."""
    try:
        fd = os.open(name, DIR_FLAGS, dir_fd=parent_fd)
    except OSError as error:
        raise _refuse_open(rel, error) from None
    if ident(os.fstat(fd)) != expected:
        os.close(fd)
        raise changed(rel)
    return fd


def walk(top_fd: int, visit: Visitor, leave: Leaver | None = None) -> None:
    """Walk the tree open as ``top_fd`` depth first, one descriptor at a time.

    ``top_fd`` is consumed (closed). ``visit`` chooses the subdirectories to
    enter (it must have checked they are directories on the same device);
    ``leave`` runs in the parent once a subdirectory is done.
    """
    fd = top_fd
    try:
        levels = [_Level(ident(os.fstat(fd)), "", "", visit(fd, ""))]
        while levels:
            level = levels[-1]
            if level.pending:
                name = level.pending.pop()
                rel = f"{level.rel}{name}/"
                info = lstat_at(name, fd)
                if info is None or not stat.S_ISDIR(info.st_mode):
                    raise changed(rel)
                old, fd = fd, open_dir_at(name, fd, ident(info), rel)
                os.close(old)
                levels.append(_Level(ident(info), name, rel, visit(fd, rel)))
                continue
            levels.pop()
            if levels:
                old, fd = fd, parent_dir(fd, levels[-1].ident, levels[-1].rel or "/")
                os.close(old)
                if leave is not None:
                    leave(fd, level.name, level.rel)
    finally:
        os.close(fd)


def parent_dir(fd: int, expected: Ident, where: str) -> int:
    """Open ``..`` of ``fd``; it must be ``expected``, the directory we came from."""
    parent_fd = os.open("..", DIR_FLAGS, dir_fd=fd)
    if ident(os.fstat(parent_fd)) != expected:
        os.close(parent_fd)
        raise changed(where)
    return parent_fd


def measure_tree(path: Path) -> TreeUsage:
    """Allocated bytes, files and directories under directory ``path`` (no link followed)."""
    fd = open_dir(path)
    top = os.fstat(fd)
    usage = TreeUsage(allocated_bytes=top.st_blocks * 512, directories=1)
    seen: set[Ident] = set()

    def visit(dir_fd: int, rel: str) -> list[str]:
        subdirs = []
        for name in sorted(os.listdir(dir_fd)):
            info = lstat_at(name, dir_fd)
            if info is None:
                continue
            if stat.S_ISDIR(info.st_mode) and info.st_dev != top.st_dev:
                usage.other_filesystems.append(f"{rel}{name}")
                continue
            if ident(info) not in seen:
                seen.add(ident(info))
                usage.allocated_bytes += info.st_blocks * 512
            if stat.S_ISDIR(info.st_mode):
                usage.directories += 1
                subdirs.append(name)
            else:
                usage.files += 1
        return subdirs

    walk(fd, visit)
    return usage


def delete_tree(parent: Path, name: str, *, expected: Ident | None = None) -> DeleteReport:
    """Delete directory ``parent/name`` and everything in it, following no symlink.

    The top must be a real directory (a symlink is refused, never followed)
    and, when ``expected`` is given, the very inode that was planned for.
    Symlinks inside are removed as links; their targets are never touched.
    A mount point inside the tree is refused (unmount it first).
    """
    parent_fd = open_dir(parent)
    try:
        top = lstat_at(name, parent_fd)
        where = str(parent / name)
        _check_top(top, where, expected)
        report = DeleteReport()
        walk(open_dir_at(name, parent_fd, ident(top), where), *_deleter(top.st_dev, report, where))
        now = lstat_at(name, parent_fd)
        if now is None or ident(now) != ident(top):
            raise changed(where)
        os.rmdir(name, dir_fd=parent_fd)
        report.directories += 1
        return report
    finally:
        os.close(parent_fd)


def _check_top(top: os.stat_result | None, where: str, expected: Ident | None) -> None:
    if top is None:
        raise RefusedError(_("{path} does not exist; nothing to delete").format(path=where))
    if stat.S_ISLNK(top.st_mode):
        raise RefusedError(
            _("{path} is a symbolic link; refusing to delete through it").format(path=where)
        )
    if not stat.S_ISDIR(top.st_mode):
        raise RefusedError(_("{path} is not a directory; refusing to delete it").format(path=where))
    if expected is not None and ident(top) != expected:
        raise changed(where)


def _deleter(dev: int, report: DeleteReport, where: str) -> tuple[Visitor, Leaver]:
    def visit(dir_fd: int, rel: str) -> list[str]:
        subdirs = []
        for name in os.listdir(dir_fd):
            info = lstat_at(name, dir_fd)
            if info is None:
                continue
            if not stat.S_ISDIR(info.st_mode):
                os.unlink(name, dir_fd=dir_fd)  # a symlink goes, its target stays
                report.files += 1
            elif info.st_dev != dev:
                raise RefusedError(
                    _(
                        "{path} is a mount point (another filesystem); unmount it and run again"
                    ).format(path=f"{where}/{rel}{name}")
                )
            else:
                subdirs.append(name)
        return subdirs

    def leave(dir_fd: int, name: str, rel: str) -> None:
        os.rmdir(name, dir_fd=dir_fd)
        report.directories += 1

    return visit, leave


def _refuse_open(where: str, error: OSError) -> DatakeeperError:
    if error.errno in (errno.ELOOP, errno.ENOTDIR):  # a symlink, or not a directory
        return RefusedError(
            _("{path} is not a real directory (a symlink or a file); refusing to follow it").format(
                path=where
            )
        )
    return ActionFailedError(_("{path}: cannot open: {why}").format(path=where, why=error))


def changed(where: str) -> RefusedError:
    """The error that stops a walk whose tree was moved or swapped under it."""
    return RefusedError(
        _("{path} changed while it was being walked (moved or replaced); stopped").format(
            path=where
        )
    )
