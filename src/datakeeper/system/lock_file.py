"""One lock file: opened safely, locked (POSIX record lock or ``flock``), and the
holder's pid; the per-process bookkeeping around it is ``system/lock.py``."""

from __future__ import annotations

import errno
import fcntl
import os
import random
import stat
import time
from dataclasses import dataclass
from pathlib import Path

from datakeeper.errors import LockBusyError, RefusedError
from datakeeper.i18n import _
from datakeeper.system.nfs import is_squash_errno, probe_new_file, squash_error

_OPEN_FLAGS = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
# Polling interval bounds: short enough to feel instant, jittered so that
# several waiters do not wake in lock step.
_MIN_SLEEP = 0.002
_MAX_SLEEP = 0.05
# A conflicting non-blocking request fails with EAGAIN or EACCES (POSIX allows both).
_BUSY_ERRNOS = (errno.EAGAIN, errno.EACCES)


@dataclass(frozen=True)
class Request:
    """What a caller asks for: exclusive or shared, POSIX record lock or local flock."""

    exclusive: bool
    local: bool = False

    def operation(self) -> int:
        return fcntl.LOCK_EX if self.exclusive else fcntl.LOCK_SH


def try_lock(fd: int, request: Request) -> None:
    """Take the lock without waiting; ``OSError`` (EAGAIN/EACCES) when it is held."""
    if request.local:
        fcntl.flock(fd, request.operation() | fcntl.LOCK_NB)
    else:
        fcntl.lockf(fd, request.operation() | fcntl.LOCK_NB)


def unlock(fd: int, request: Request) -> None:
    """Release the lock ``try_lock`` took on ``fd``."""
    if request.local:
        fcntl.flock(fd, fcntl.LOCK_UN)
    else:
        fcntl.lockf(fd, fcntl.LOCK_UN)


def open_lock_file(path: Path) -> int:
    """Open (create 0600) the lock file, refusing a link, a non-file or another's file,
    and a squashed root (whose new file would belong to nobody)."""
    probe_new_file(path)
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
        if is_squash_errno(error):
            raise squash_error(path.parent) from None
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


def acquire(fd: int, path: Path, request: Request, deadline: float, what: str) -> None:
    """Poll for the lock until ``deadline`` (``time.monotonic``); then ``LockBusyError``."""
    while True:
        try:
            try_lock(fd, request)
            return
        except OSError as error:
            if error.errno == errno.ENOLCK:
                raise _no_locks(path) from None
            if error.errno not in _BUSY_ERRNOS:
                raise
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise busy_error(fd, path, what) from None
            time.sleep(min(remaining, random.uniform(_MIN_SLEEP, _MAX_SLEEP)))  # noqa: S311


def _no_locks(path: Path) -> RefusedError:
    return RefusedError(
        _(
            "cannot lock {path}: the file system refuses record locks (ENOLCK); on NFS, "
            "fix: run the lock service on client and server (rpc-statd, or NFSv4), and "
            "do not mount with nolock"
        ).format(path=path)
    )


def busy_error(fd: int, path: Path, what: str) -> LockBusyError:
    """The one-line busy message, naming the holder's pid when it runs here."""
    pid = _holder_pid(fd)
    if pid is None:
        message = _("{what} is locked by another process ({path}); try again when it finishes")
    else:
        message = _(
            "{what} is locked by another process (pid {pid}, {path}); try again when it finishes"
        )
    return LockBusyError(message.format(what=what, pid=pid, path=path))


def _holder_pid(fd: int) -> int | None:
    """The pid written by the exclusive holder, if it is still running; else None.

    A holder on another server of a shared ``/data`` writes its own pid, which
    means nothing here: it is shown only when such a process is running here.
    """
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


def write_pid(fd: int) -> None:
    """Record this process as the exclusive holder (what a waiter names)."""
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
