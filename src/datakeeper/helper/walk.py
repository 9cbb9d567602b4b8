"""Removing entries from caches other users can write, as root, never following a link.

Standard library only: the sudo helper (``datakeeper.helper.main``) is installed
as one file with this module's code inlined into it, and the CLI uses the same
code in-process. Every directory is opened with O_NOFOLLOW relative to its
parent's descriptor, entries are examined with lstat, and names are unlinked
inside the directory already opened, so a symlink planted anywhere (or a
directory swapped for one) only ever loses the link itself. Trees are walked
by a loop (``walk_tree``) holding two descriptors at any depth.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import stat

from datakeeper.helper.messages import _
from datakeeper.text import printable  # re-exported: the helper's one name formatting

DAY = 86400
MAX_DEPTH = 32  # how deep a HuggingFace snapshot or refs may nest (hf_cache)
DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK | os.O_NOCTTY
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_UNSAFE, EXIT_BUSY = 0, 1, 2, 3, 4


class Refused(Exception):
    """A request the helper will not carry out; the message is one line."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


class Cleaner:
    """Removes entries below one opened cache root, never following links.

    ``removed`` records what went (shown path, bytes freed), ``failed`` what could
    not be removed and why, ``skipped`` what was left alone on purpose.
    """

    def __init__(self, root: str, now: float, on_removed=None) -> None:
        self.root = root
        self.now = now
        self.on_removed = on_removed  # called with 1 per entry removed (a progress bar)
        self.removed: list[tuple[str, int]] = []
        self.failed: list[str] = []
        self.skipped: list[tuple[str, str]] = []

    def old_enough(self, info: os.stat_result, seconds: float) -> bool:
        """True when the entry was last used (``last_use``) more than ``seconds`` ago."""
        return seconds <= 0 or self.now - last_use(info) > seconds

    def remove_files(self, fd: int, where: str, match, min_age: float) -> None:
        """Unlink regular files in the directory ``fd`` whose name matches, if old enough."""
        for name in list_names(fd):
            info = lstat_at(name, fd)
            if info is None or not stat.S_ISREG(info.st_mode) or not match(name):
                continue
            if self.old_enough(info, min_age):
                self.unlink(fd, name, f"{where}/{name}", info)

    def remove_tree_contents(self, fd: int, where: str) -> None:
        """Unlink every non-directory below ``fd`` and remove the directories left empty.

        Stays on the filesystem of ``fd``: a mount point inside is left alone. Any
        depth (``walk_tree``); a tree moved during the walk stops it, recorded in
        ``failed``.
        """
        device = os.fstat(fd).st_dev

        def handle(dir_fd: int, name: str, shown: str) -> os.stat_result | None:
            info = lstat_at(name, dir_fd)
            if info is not None and not stat.S_ISDIR(info.st_mode):
                self.unlink(dir_fd, name, shown, info)
                return None
            return info if info is not None and info.st_dev == device else None

        try:
            walk_tree(fd, where, handle, self._rmdir)
        except TreeMoved as moved:
            why = _("{path}: moved during the cleanup; stopped")
            self.failed.append(why.format(path=printable(moved.where)))

    def remove_tree(self, fd: int, name: str, shown: str) -> None:
        """Remove directory ``name`` of ``fd`` with everything in it (links, not targets)."""
        with Subdir(fd, name) as child:
            if child is None:
                return
            self.remove_tree_contents(child, shown)
        self._rmdir(fd, name)

    def unlink(self, fd: int, name: str, shown: str, info: os.stat_result) -> None:
        """Remove the name ``name`` from directory ``fd`` (never what a link points to)."""
        problem = self._unlink(fd, name)
        if problem is not None:
            self.failed.append(f"{printable(shown)}: {problem}")
            return
        counted = stat.S_ISREG(info.st_mode) and info.st_nlink <= 1
        self.removed.append((shown, info.st_size if counted else 0))
        if self.on_removed is not None:
            self.on_removed(1)

    def _unlink(self, fd: int, name: str) -> str | None:
        """Unlink ``name`` in ``fd``; None when it went, else why not."""
        try:
            os.unlink(name, dir_fd=fd)
        except OSError as error:
            return error.strerror or str(error)
        return None

    def _rmdir(self, fd: int, name: str) -> None:
        with contextlib.suppress(OSError):  # not empty: it kept something
            os.rmdir(name, dir_fd=fd)


class Survey(Cleaner):
    """Walks exactly as a ``Cleaner`` does and records in ``removed`` what it would
    remove, removing nothing: the read-only scan a cleanup is planned from."""

    def _unlink(self, fd: int, name: str) -> str | None:
        return None

    def _rmdir(self, fd: int, name: str) -> None:
        return None


class Subdir:
    """Context manager: a subdirectory opened without following a symlink, or None."""

    def __init__(self, parent_fd: int | None, name: str) -> None:
        self.parent_fd, self.name, self.fd = parent_fd, name, None

    def __enter__(self) -> int | None:
        if self.parent_fd is None:
            return None
        try:
            self.fd = os.open(self.name, DIR_FLAGS, dir_fd=self.parent_fd)
        except OSError:
            self.fd = None  # a symlink (ELOOP), not a directory, or gone
        return self.fd

    def __exit__(self, *exc: object) -> None:
        if self.fd is not None:
            os.close(self.fd)


def list_names(fd: int | None) -> list[str]:
    """The names in directory ``fd``, sorted; none when it is None or unreadable."""
    try:
        return sorted(os.listdir(fd)) if fd is not None else []
    except OSError:
        return []


def lstat_at(name: str, fd: int | None) -> os.stat_result | None:
    """``name``'s own stat (a link is not followed) in directory ``fd``, or None."""
    try:
        return os.stat(name, dir_fd=fd, follow_symlinks=False)
    except (OSError, TypeError):
        return None


def open_root(path: str) -> int:
    """Open the absolute directory ``path`` one component at a time, refusing any symlink."""
    if not os.path.isabs(path) or os.path.normpath(path) != path:
        why = _("cache root {path} is not a normalized absolute path")
        raise Refused(why.format(path=printable(path)), EXIT_UNSAFE)
    fd = os.open("/", DIR_FLAGS)
    try:
        for part in [p for p in path.split("/") if p]:
            child = os.open(part, DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = child
    except FileNotFoundError:
        os.close(fd)
        raise
    except OSError as error:
        os.close(fd)
        why = _(
            "refusing to clean {path}: it or a directory above it is a symlink "
            "or not a directory ({why})"
        ).format(path=printable(path), why=error.strerror)
        raise Refused(why, EXIT_UNSAFE) from error
    return fd


def lock_held(fd: int, name: str) -> bool:
    """True when someone holds an flock on the regular file ``name`` (a download's lock)."""
    try:
        lock_fd = os.open(name, FILE_FLAGS, dir_fd=fd)
    except OSError:
        return False
    try:
        if not stat.S_ISREG(os.fstat(lock_fd).st_mode):
            return False
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(lock_fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(lock_fd)


def last_use(info: os.stat_result) -> float:
    """When an entry was last used: a file's last read or write; for anything else its
    mtime (listing a directory, even our own preview, may update its atime)."""
    if stat.S_ISREG(info.st_mode):
        return max(info.st_atime, info.st_mtime)
    return info.st_mtime


def newest_use(fd: int) -> float:
    """The latest ``last_use`` of the directory ``fd`` and everything below it (any
    depth); infinitely recent when the tree moved during the walk: keep it."""
    newest = [last_use(os.fstat(fd))]

    def handle(dir_fd: int, name: str, shown: str) -> os.stat_result | None:
        entry = lstat_at(name, dir_fd)
        if entry is None:
            return None
        newest[0] = max(newest[0], last_use(entry))
        return entry if stat.S_ISDIR(entry.st_mode) else None

    try:
        walk_tree(fd, "", handle)
    except TreeMoved:
        return float("inf")
    return newest[0]


class TreeMoved(Exception):
    """A directory being walked was moved or replaced: the walk cannot go on safely."""

    def __init__(self, where: str) -> None:
        super().__init__(where)
        self.where = where


class _Level:
    """One directory on the walk's current path."""

    __slots__ = ("ident", "name", "names", "shown")

    def __init__(self, info: os.stat_result, name: str, shown: str, names: list[str]) -> None:
        self.ident = (info.st_dev, info.st_ino)
        self.name, self.shown = name, shown
        self.names = names[::-1]  # the next one last, for pop()


def walk_tree(top_fd: int, where: str, handle, leave=None) -> None:
    """Hand every entry below the directory ``top_fd`` to ``handle(fd, name, shown)`` in
    sorted order, walking into each subdirectory whose lstat it returns (the opened
    directory must be that inode); then ``leave(fd, name)`` runs in its parent.

    A loop, not a recursion: however deep the tree, it holds one descriptor besides
    ``top_fd`` (left open), and goes back up through ``..``, which must be the
    directory it came from (else ``TreeMoved``). A user can nest directories far
    deeper than Python's recursion limit or the open-file limit.
    """
    fd = os.dup(top_fd)
    try:
        levels = [_Level(os.fstat(fd), "", where, list_names(fd))]
        while levels:
            level = levels[-1]
            if level.names:
                name = level.names.pop()
                shown = f"{level.shown}/{name}"
                info = handle(fd, name, shown)
                child = _open_checked(fd, name, info) if info is not None else None
                if child is not None:
                    fd = _swap(fd, child)
                    levels.append(_Level(info, name, shown, list_names(fd)))
                continue
            levels.pop()
            if levels:
                fd = _swap(fd, _parent(fd, levels[-1]))
                if leave is not None:
                    leave(fd, level.name)
    finally:
        os.close(fd)


def _open_checked(fd: int, name: str, info: os.stat_result) -> int | None:
    """Open subdirectory ``name`` when it is still the inode ``info``; else None."""
    try:
        child = os.open(name, DIR_FLAGS, dir_fd=fd)
    except OSError:
        return None  # a symlink (ELOOP), not a directory, or gone
    now = os.fstat(child)
    if (now.st_dev, now.st_ino) != (info.st_dev, info.st_ino):
        os.close(child)
        return None
    return child


def _parent(fd: int, parent: _Level) -> int:
    """Open ``..`` of ``fd``; it must be ``parent``, the directory we came down from."""
    try:
        up = os.open("..", DIR_FLAGS, dir_fd=fd)
    except OSError:
        raise TreeMoved(parent.shown) from None
    now = os.fstat(up)
    if (now.st_dev, now.st_ino) != parent.ident:
        os.close(up)
        raise TreeMoved(parent.shown)
    return up


def _swap(old: int, new: int) -> int:
    os.close(old)
    return new
