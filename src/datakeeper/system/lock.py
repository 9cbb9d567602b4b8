"""Advisory locks (POSIX ``fcntl`` record locks) with a timeout and a message that
names the holder.

One lock file per protected thing (``registry.json.lock``, the one-admin
``run.lock``). They live on ``/data``, which several servers may share over NFS:
POSIX record locks (``fcntl.lockf``: ``F_SETLK``/``F_SETLKW`` over the whole
file) are carried to the server by lockd (NFSv3) or NFSv4 itself, where BSD
``flock`` is only local on many setups. Rules, all for safety in root-owned places:

- The lock file is opened with ``O_NOFOLLOW`` (a planted symlink is refused,
  never followed) and created ``0600``; it must be a regular file owned by
  the running user. If it is, any group/other bits are removed, because
  whoever can open the file can hold the lock forever and block the admin.
- The exclusive holder writes its pid into the file so that a waiter can say
  who it is waiting for; it empties the file before releasing. Shared
  holders write nothing (several of them may hold it at once).
- Waiting polls with a non-blocking request and short sleeps, so ``timeout`` is
  honoured (a blocking request cannot be interrupted by a timer in a thread).

POSIX record locks belong to the process, not to a descriptor: closing ANY
descriptor of the file in the process drops them, and a second request by the
same process always succeeds. So this module keeps ONE descriptor per lock
file per process (``_HELD``), never reopens a held file, and counts nested
holds; threads of one process wait for each other here, since the kernel
would not make them. Nothing else in datakeeper opens a ``*.lock`` file.

``local=True`` takes a BSD ``flock`` instead, for the few locks shared with the
sudo helper (the cache cleanups), which takes ``flock`` and never lives on
shared storage; the rules above apply to both.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from datakeeper.system.lock_file import (
    Request,
    acquire,
    busy_error,
    open_lock_file,
    unlock,
    write_pid,
)


@dataclass
class _Held:
    """One lock file held by this process: its one descriptor and who holds it."""

    fd: int
    request: Request
    holders: dict[int, int] = field(default_factory=dict)  # thread id -> nesting depth
    pending: bool = False  # its first holder is still taking the file lock


_HELD: dict[str, _Held] = {}
_TABLE = threading.Condition()


def _forget_in_child() -> None:
    """A forked child holds none of its parent's record locks: it starts with none."""
    global _TABLE
    _HELD.clear()
    _TABLE = threading.Condition()


os.register_at_fork(after_in_child=_forget_in_child)


@contextmanager
def exclusive_lock(
    path: Path, *, timeout: float = 30.0, what: str, local: bool = False
) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` for the ``with`` block.

    ``what`` names the protected thing in the busy message ("the registry").
    Raises ``LockBusyError`` after ``timeout`` seconds, ``RefusedError`` if
    the lock file is a symlink, not a regular file or owned by someone else.
    Nested in the same thread it only counts (no second descriptor).
    ``local``: a BSD ``flock`` (see the module).
    """
    with _locked(path, Request(True, local), timeout, what):
        yield


@contextmanager
def shared_lock(
    path: Path, *, timeout: float = 30.0, what: str, local: bool = False
) -> Iterator[None]:
    """Hold a shared (read) lock on ``path``; several readers may hold it at once.

    Same arguments and errors as ``exclusive_lock``; inside an exclusive hold of
    the same thread it only counts.
    """
    with _locked(path, Request(False, local), timeout, what):
        yield


@contextmanager
def _locked(path: Path, request: Request, timeout: float, what: str) -> Iterator[None]:
    key = os.path.abspath(path)
    deadline = time.monotonic() + max(timeout, 0.0)
    _enter(key, path, request, deadline, what)
    try:
        yield
    finally:
        _leave(key)


def _enter(key: str, path: Path, request: Request, deadline: float, what: str) -> None:
    """Join this process's hold of ``key``, or take the file lock for the process.

    The file lock is taken outside the table's mutex (it may wait for another
    process); meanwhile the entry is ``pending`` and other threads wait for it.
    """
    me = threading.get_ident()
    with _TABLE:
        while True:
            held = _HELD.get(key)
            if held is None:
                break
            if _join(held, me, request.exclusive):
                return
            if not _TABLE.wait(timeout=max(deadline - time.monotonic(), 0.0)):
                raise busy_error(held.fd, path, what)
        entry = _HELD[key] = _Held(-1, request, {me: 1}, pending=True)
    try:
        fd = _take(path, request, deadline, what)
    except BaseException:
        with _TABLE:
            del _HELD[key]
            _TABLE.notify_all()
        raise
    with _TABLE:
        entry.fd, entry.pending = fd, False
        _TABLE.notify_all()


def _join(held: _Held, me: int, exclusive: bool) -> bool:
    """Count thread ``me`` in ``held`` when it may share it; False: wait."""
    if held.pending:
        return False
    if me in held.holders:
        if exclusive and not held.request.exclusive:
            raise RuntimeError("a shared lock cannot become exclusive in the same thread")
        held.holders[me] += 1
        return True
    if not exclusive and not held.request.exclusive:
        held.holders[me] = 1
        return True
    return False


def _leave(key: str) -> None:
    me = threading.get_ident()
    with _TABLE:
        held = _HELD[key]
        held.holders[me] -= 1
        if held.holders[me]:
            return
        del held.holders[me]
        if held.holders:
            return
        del _HELD[key]
        try:
            if held.request.exclusive:
                os.ftruncate(held.fd, 0)  # cleared before unlocking: no stale pid shown
            unlock(held.fd, held.request)
        finally:
            os.close(held.fd)  # the only descriptor of this file in the process
            _TABLE.notify_all()


def _take(path: Path, request: Request, deadline: float, what: str) -> int:
    """Open the lock file and take the file lock; the open descriptor on success."""
    fd = open_lock_file(path)
    try:
        acquire(fd, path, request, deadline, what)
        if request.exclusive:
            write_pid(fd)
    except BaseException:
        os.close(fd)  # holds nothing yet: closing drops no lock of ours
        raise
    return fd
