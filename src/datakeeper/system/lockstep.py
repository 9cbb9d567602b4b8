"""Walk a directory tree and its counterpart in a second tree in step, without recursion.

The home merge (``treemerge``) and its read-only preview walk a source tree
and the destination next to it. A user can nest directories far deeper than
Python's recursion limit or the open-file limit, so the walk is a loop that
holds one descriptor per tree however deep it goes: down by name, checking
that the directory opened is the inode ``lstat`` reported; back up through
``..``, checking that it lands on the directory it came from. A tree moved
or swapped meanwhile stops the walk with ``RefusedError``; no symlink is
ever followed. Entries are handed to the caller one at a time in sorted
order, and a subdirectory is walked right where it is listed, as a recursive
walk would.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, replace

from datakeeper.system.safe_delete import Ident, ident, open_dir_at, parent_dir


@dataclass(frozen=True)
class Subdir:
    """A subdirectory to walk into: its inode in the source and in the target (None: it
    has no counterpart there), and the caller's own data, handed back to ``leave``."""

    name: str
    source: Ident
    target: Ident | None
    data: object = None


# One entry of a source directory: (source fd, target fd or None, name, relative path
# of the directory) -> the subdirectory to walk into, or None.
Handler = Callable[[int, "int | None", str, str], "Subdir | None"]
# Called inside a walked subdirectory (source fd, target fd or None) once it is done.
Leaver = Callable[[int, "int | None", Subdir], None]


@dataclass
class _Level:
    sub: Subdir
    rel: str  # relative path of this directory, "" or ending in "/"
    names: list[str]  # entries still to hand out, the next one last


def walk(
    source_fd: int, target_fd: int | None, handle: Handler, leave: Leaver | None = None, rel=""
) -> None:
    """Hand every entry below ``source_fd`` to ``handle``, walking into what it returns.

    Both descriptors are consumed (closed). ``target_fd`` may be None (nothing
    to compare with); a subdirectory whose ``target`` is None is walked with
    None as its target too. ``rel`` prefixes the relative paths handed out.
    """
    fds = [source_fd, target_fd]
    try:
        target = ident(os.fstat(target_fd)) if target_fd is not None else None
        levels = [_Level(Subdir("", ident(os.fstat(source_fd)), target), rel, _names(source_fd))]
        while levels:
            level = levels[-1]
            if level.names:
                name = level.names.pop()
                sub = handle(fds[0], _target(fds, level), name, level.rel)
                if sub is not None:
                    levels.append(_down(fds, level, sub))
                continue
            levels.pop()
            if levels:
                if leave is not None:
                    leave(fds[0], _target(fds, level), level.sub)
                _up(fds, level, levels[-1])
    finally:
        for fd in fds:
            if fd is not None:
                os.close(fd)


def _target(fds: list, level: _Level) -> int | None:
    """The target descriptor of ``level``; it stays parked higher up when there is none."""
    return fds[1] if level.sub.target is not None else None


def _down(fds: list, level: _Level, sub: Subdir) -> _Level:
    """Open ``sub`` in both trees in place of its parent; the new level."""
    rel = f"{level.rel}{sub.name}/"
    if level.sub.target is None:
        sub = replace(sub, target=None)  # no target above: none below either
    fds[0] = _swap(fds[0], open_dir_at(sub.name, fds[0], sub.source, rel))
    if sub.target is not None:
        fds[1] = _swap(fds[1], open_dir_at(sub.name, fds[1], sub.target, rel))
    return _Level(sub, rel, _names(fds[0]))


def _up(fds: list, level: _Level, parent: _Level) -> None:
    """Back to ``parent`` through ``..`` in both trees, checked against its inodes."""
    where = parent.rel or "/"
    fds[0] = _swap(fds[0], parent_dir(fds[0], parent.sub.source, where))
    if level.sub.target is not None:
        fds[1] = _swap(fds[1], parent_dir(fds[1], parent.sub.target, where))


def _swap(old: int, new: int) -> int:
    os.close(old)
    return new


def _names(fd: int) -> list[str]:
    return sorted(os.listdir(fd), reverse=True)
