"""Advisory locks (``flock``) with a timeout and a message that names the holder.

One lock file per protected thing (``registry.json.lock``, later a global
"one admin at a time" lock). Rules, all for safety in root-owned places:

- The lock file is opened with ``O_NOFOLLOW`` (a planted symlink is refused,
  never followed) and created ``0600``; it must be a regular file owned by
  the running user. If it is, any group/other bits are removed, because
  whoever can open the file can hold the lock forever and block the admin.
- The exclusive holder writes its pid into the file so that a waiter can say
  who it is waiting for; it empties the file before releasing. Shared
  holders write nothing (several of them may hold it at once).
- Waiting polls with ``LOCK_NB`` and short sleeps, so ``timeout`` is honoured
  (a blocking ``flock`` cannot be interrupted by a timer in a thread).
"""

from __future__ import annotations

import errno
import fcntl
import os
import random
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from datakeeper.errors import LockBusyError, RefusedError
from datakeeper.i18n import _

_OPEN_FLAGS = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
# Polling interval bounds: short enough to feel instant, jittered so that
# several waiters do not wake in lock step.
_MIN_SLEEP = 0.002
_MAX_SLEEP = 0.05


@contextmanager
def exclusive_lock(path: Path, *, timeout: float = 30.0, what: str) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` for the ``with`` block.

    ``what`` names the protected thing in the busy message ("the registry").
    Raises ``LockBusyError`` after ``timeout`` seconds, ``RefusedError`` if
    the lock file is a symlink, not a regular file or owned by someone else.
    """
    with _locked(path, fcntl.LOCK_EX, timeout, what) as fd:
        _write_pid(fd)
        try:
            yield
        finally:
            # Cleared before unlocking so that a stale pid is never shown.
            os.ftruncate(fd, 0)


@contextmanager
def shared_lock(path: Path, *, timeout: float = 30.0, what: str) -> Iterator[None]:
    """Hold a shared (read) lock on ``path``; several readers may hold it at once.

    Same arguments and errors as ``exclusive_lock``.
    """
    with _locked(path, fcntl.LOCK_SH, timeout, what):
        yield


@contextmanager
def _locked(path: Path, operation: int, timeout: float, what: str) -> Iterator[int]:
    fd = _open_lock_file(path)
    try:
        _acquire(fd, path, operation, timeout, what)
        try:
            yield fd
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _open_lock_file(path: Path) -> int:
    try:
        fd = os.open(path, _OPEN_FLAGS, 0o600)
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise RefusedError(
                _("lock file {path} is a symbolic link; fix: remove it (rm {path})").format(
                    path=path
                )
            ) from None
        if error.errno == errno.EISDIR:
            raise _not_regular(path) from None
        raise
    try:
        _check_lock_file(fd, path)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _check_lock_file(fd: int, path: Path) -> None:
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        raise _not_regular(path)
    if info.st_uid != os.geteuid():
        raise RefusedError(
            _("lock file {path} is owned by uid {uid}, not {euid}; fix: rm {path}").format(
                path=path, uid=info.st_uid, euid=os.geteuid()
            )
        )
    if stat.S_IMODE(info.st_mode) & 0o077:
        os.fchmod(fd, 0o600)


def _not_regular(path: Path) -> RefusedError:
    return RefusedError(
        _("lock file {path} is not a regular file; fix: remove it").format(path=path)
    )


def _acquire(fd: int, path: Path, operation: int, timeout: float, what: str) -> None:
    deadline = time.monotonic() + max(timeout, 0.0)
    while True:
        try:
            fcntl.flock(fd, operation | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _busy_error(fd, path, what) from None
            time.sleep(min(remaining, random.uniform(_MIN_SLEEP, _MAX_SLEEP)))  # noqa: S311


def _busy_error(fd: int, path: Path, what: str) -> LockBusyError:
    pid = _holder_pid(fd)
    if pid is None:
        message = _("{what} is locked by another process ({path}); try again when it finishes")
    else:
        message = _(
            "{what} is locked by another process (pid {pid}, {path}); try again when it finishes"
        )
    return LockBusyError(message.format(what=what, pid=pid, path=path))


def _holder_pid(fd: int) -> int | None:
    """The pid written by the exclusive holder, if it is still running; else None."""
    try:
        text = os.pread(fd, 32, 0).decode("ascii").strip()
        pid = int(text)
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    if pid <= 0:
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None  # a holder that died left its pid behind
    except PermissionError:
        pass  # alive, owned by someone else
    return pid


def _write_pid(fd: int) -> None:
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
