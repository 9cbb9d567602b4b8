"""Which paths are mount points, from the kernel's own table (``/proc/self/mountinfo``).

Within :func:`watched_mounts` the table is read again only when the kernel says it
changed: ``poll`` on an open ``/proc/self/mountinfo`` reports ``POLLPRI`` after every
mount or unmount in this namespace (proc(5)), so a run that checks its storage before
each of a thousand steps still sees an unmount at once.
"""

from __future__ import annotations

import os
import re
import select
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path

MOUNTINFO = Path("/proc/self/mountinfo")
_ESCAPE = re.compile(r"\\([0-7]{3})")


@dataclass(frozen=True)
class Mount:
    target: Path
    fstype: str
    source: str
    options: str


def _unescape(field: str) -> str:
    # mountinfo writes space, tab, newline and backslash as octal escapes.
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 8)), field)


@dataclass
class _Watch:
    """The open table whose poll says when the cached copy is stale."""

    fd: int
    table: list[Mount] | None = None


_WATCH: ContextVar[_Watch | None] = ContextVar("datakeeper_mount_watch", default=None)


@contextmanager
def watched_mounts() -> Iterator[None]:
    """Within this block :func:`mounts` reuses its last reading of this process's table
    until the kernel reports a mount or unmount (see the module docstring)."""
    # Opened first: a change after this point is reported by poll, even one that
    # happens before the first reading.
    fd = os.open(MOUNTINFO, os.O_RDONLY | os.O_CLOEXEC)
    token = _WATCH.set(_Watch(fd))
    try:
        yield
    finally:
        _WATCH.reset(token)
        os.close(fd)


def mounts(mountinfo: Path = MOUNTINFO) -> list[Mount]:
    """Every mount of this process's namespace, in mount order."""
    watch = _WATCH.get()
    if watch is None or mountinfo != MOUNTINFO:
        return _read(mountinfo)
    if watch.table is None or _changed(watch.fd):
        watch.table = _read(mountinfo)
    return list(watch.table)


def _changed(fd: int) -> bool:
    """Whether the mount table changed since the last poll of ``fd`` (or its opening)."""
    poller = select.poll()
    poller.register(fd, select.POLLPRI | select.POLLERR)
    return any(events & (select.POLLPRI | select.POLLERR) for _fd, events in poller.poll(0))


def _read(mountinfo: Path) -> list[Mount]:
    found = []
    for line in mountinfo.read_text(encoding="utf-8").splitlines():
        before, _sep, after = line.partition(" - ")
        fields, tail = before.split(), after.split()
        if len(fields) < 6 or len(tail) < 2:
            continue
        found.append(Mount(Path(_unescape(fields[4])), tail[0], _unescape(tail[1]), fields[5]))
    return found


def mount_of(path: Path, mountinfo: Path = MOUNTINFO) -> Mount | None:
    """The mount whose target is exactly ``path`` (after resolving symlinks), or None.

    Unlike ``os.path.ismount`` this also sees bind mounts from the same filesystem.
    """
    target = Path(os.path.realpath(path))
    matches = [m for m in mounts(mountinfo) if m.target == target]
    return matches[-1] if matches else None
