"""Filesystem primitives: atomic writes, directory fsync, syncing one filesystem."""

from __future__ import annotations

import contextlib
import os
import subprocess
import tempfile
from collections.abc import Iterator
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
    import ctypes  # here: only the commands that sync a whole tree pay for its import

    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        if libc.syncfs(fd) != 0:
            error = ctypes.get_errno()
            raise OSError(error, os.strerror(error), str(path))
    finally:
        os.close(fd)


@contextlib.contextmanager
def flushing(path: Path) -> Iterator[None]:
    """While the block runs, what is cached for ``path``'s filesystem is written to its
    disk by a ``sync --file-system`` process (not a thread: the block may fork), so a
    ``sync_filesystem`` after it has little left to do. Only a head start: the
    process's outcome is not checked, that later sync reports any error."""
    try:
        process = subprocess.Popen(
            ["sync", "--file-system", "--", str(path)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={"PATH": "/usr/bin:/bin", "LC_ALL": "C"},
        )
    except OSError:  # no sync(1): the later sync does all of it
        yield
        return
    try:
        yield
    finally:
        process.wait()


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
