"""Filesystem primitives: atomic writes, directory fsync, syncing one filesystem."""

from __future__ import annotations

import contextlib
import os
import select
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path


def fsync_directory(path: Path) -> None:
    """Persist directory entries (a file's fsync does not persist its name)."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sync_filesystem(path: Path) -> None:
    """Write everything cached for the filesystem holding ``path`` to its disk
    (syncfs(2)): the data and metadata of many files at once, where an fsync of each
    would cost a journal commit apiece; other filesystems are left alone, unlike sync(2)."""
    syncfs = _syncfs_call()
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        syncfs(fd, path)
    finally:
        os.close(fd)


def _syncfs_call() -> Callable[[int, Path], None]:
    """syncfs(2) of an open descriptor, raising ``OSError`` for ``path`` when it fails."""
    import ctypes  # here: only the commands that sync a whole tree pay for its import

    libc = ctypes.CDLL(None, use_errno=True)

    def syncfs(fd: int, path: Path) -> None:
        if libc.syncfs(fd) != 0:
            error = ctypes.get_errno()
            raise OSError(error, os.strerror(error), str(path))

    return syncfs


FLUSH_EVERY = 1.0  # seconds between two syncs of a ``flushing`` child


@contextlib.contextmanager
def flushing(path: Path, every: float = FLUSH_EVERY) -> Iterator[None]:
    """While the block runs, a child process syncs ``path``'s filesystem every
    ``every`` seconds, so what the block writes heads for the disk as it is written
    instead of all at once at the end: a ``sync_filesystem`` after the block has
    little left to do. The writes are the same ones the kernel would make within
    its 30 s, only sooner. Measured while rsync copied 300k new files: the copy no
    slower, the sync after it 0.1 s instead of 1.4-3.4 s; an unchanged snapshot of
    them (300k hard links) 0.6 s faster in all (benchmarks/backup.py, issue 15).

    A forked child, not a thread: the block may fork, and its forks must not copy a
    thread stopped inside a sync. The child only makes system calls (syncfs is
    looked up before the fork), so forking it beside other threads (the menu's) is
    safe. It stops when the block ends, and dies with this process (its pipe
    closes); its errors are not reported: the sync after the block reports any."""
    syncfs = _syncfs_call()  # before the fork: the child only calls it
    try:
        stop_read, stop_write = os.pipe()
    except OSError:  # out of descriptors: the later sync does all of it
        yield
        return
    try:
        pid = os.fork()
    except OSError:
        os.close(stop_read)
        os.close(stop_write)
        yield
        return
    if pid == 0:  # the child: never returns into the caller's code
        try:
            os.close(stop_write)
            _flush_until_closed(path, stop_read, every, syncfs)
        finally:
            os._exit(0)
    os.close(stop_read)
    try:
        yield
    finally:
        os.close(stop_write)  # the child sees the end of its pipe and exits
        os.waitpid(pid, 0)


def _flush_until_closed(
    path: Path, stop: int, every: float, syncfs: Callable[[int, Path], None]
) -> None:
    """The ``flushing`` child: a sync, then a wait on the pipe, until the pipe closes."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return
    while True:
        with contextlib.suppress(OSError):
            syncfs(fd, path)
        readable, _, _ = select.select([stop], [], [], every)
        if readable:  # nothing is ever written: readable means closed
            return


def atomic_write(
    path: Path,
    data: bytes,
    *,
    mode: int,
    uid: int | None = None,
    gid: int | None = None,
    tmp_prefix: str = ".",
) -> None:
    """Replace ``path`` with ``data`` so readers see the old or the new file, never half.

    The temp file is created in the same directory (same filesystem), gets its
    owner and mode before any byte is written, is fsynced, renamed over the
    target, and the directory is fsynced so the rename survives a crash.
    ``tmp_prefix`` lets callers give the temp name a dot (sudo ignores such names).
    """
    directory = path.parent
    fd, tmp_name = tempfile.mkstemp(
        prefix=f"{tmp_prefix}{path.name}.", suffix=".tmp", dir=directory
    )
    try:
        if uid is not None or gid is not None:
            os.fchown(fd, -1 if uid is None else uid, -1 if gid is None else gid)
        os.fchmod(fd, mode)
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    os.close(fd)
    try:
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    fsync_directory(directory)


def read_nofollow(path: Path) -> bytes | None:
    """The content of regular file ``path``, or None when absent; never through a symlink."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as handle:
        return handle.read()
