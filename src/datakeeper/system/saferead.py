"""Reading a file another user can write, as root: never a link, never blocking, bounded.

A member controls the files in their home and in the shared caches, so root
opens them with O_NOFOLLOW (a planted link to ``/dev/zero`` or ``/etc/shadow``
is refused) and O_NONBLOCK (a FIFO cannot hang the open), then checks the
opened inode itself: only a regular file is read, and only up to a cap, so a
FIFO, a device or a huge file cannot hang root or exhaust its memory.

Standard library only: the sudo helper (``datakeeper.helper``) imports this
module and is installed with it inlined.
"""

from __future__ import annotations

import errno
import os
import stat

READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY


class UnsafeFileError(OSError):
    """A file root will not read: a link, not a regular file, or over the size cap.

    ``reason`` says which, in a few words (``a FIFO, not a regular file``). An
    ``OSError``, so code that treats an unreadable file as absent keeps doing so.
    """

    def __init__(self, reason: str, name: str = "") -> None:
        super().__init__(errno.EINVAL, reason, name)
        self.reason = reason


def kind_of(mode: int) -> str:
    """What a non-regular inode is, in words."""
    kinds = (
        (stat.S_ISLNK, "a symbolic link"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISDIR, "a directory"),
    )
    return next((text for test, text in kinds if test(mode)), "a special file")


def open_regular(name: str | os.PathLike, dir_fd: int | None = None) -> int:
    """A read-only descriptor on the regular file ``name`` (relative to ``dir_fd``).

    ``UnsafeFileError`` for a symlink or anything not a regular file (checked
    on the opened inode, so a swap after a check is caught too); ``OSError``
    when it is absent or unreadable.
    """
    try:
        fd = os.open(name, READ_FLAGS, dir_fd=dir_fd)
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise UnsafeFileError("a symbolic link", str(name)) from None
        raise
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise UnsafeFileError(f"{kind_of(mode)}, not a regular file", str(name))
    return fd


def read_capped(name: str | os.PathLike, limit: int, dir_fd: int | None = None) -> bytes:
    """The content of the regular file ``name``, which must be at most ``limit`` bytes.

    ``UnsafeFileError`` for a link, a non-regular file, or a larger file (one
    that grows while read included); ``OSError`` when absent or unreadable.
    """
    fd = open_regular(name, dir_fd)
    try:
        if os.fstat(fd).st_size > limit:
            raise UnsafeFileError(f"larger than {limit} bytes", str(name))
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, limit + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    finally:
        os.close(fd)
    if size > limit:
        raise UnsafeFileError(f"larger than {limit} bytes", str(name))
    return b"".join(chunks)
