"""What shared storage (NFS) does to root, as plain checks: squashed root, unmapped
owners, reads that never return.

- ``root_squash``: the server maps root to ``nobody``, so root cannot create or
  write root-owned files there: the registry and its lock cannot be written.
  ``probe_root_write`` creates a probe file as root and looks at its owner;
  ``probe_new_file`` does so before a file (a lock) is created for the first time.
- NFSv4 idmap: when client and server disagree on the domain, every owner shows
  as ``nobody`` (65534); ``nobody_owned`` finds such paths.
- A hard-mounted export whose server is down blocks a read forever:
  ``with_deadline`` runs a read in a thread and gives up after a deadline.
"""

from __future__ import annotations

import contextlib
import errno
import os
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

from datakeeper.errors import RefusedError, StorageTimeoutError
from datakeeper.i18n import _
from datakeeper.system.mounts import mounts

NOBODY = 65534
SQUASH_ERRNOS = (errno.EACCES, errno.EPERM)
T = TypeVar("T")


def fstype_of(path: Path) -> str:
    """The file system type of the mount holding ``path`` ("nfs4", "ext4"…), or "?"."""
    target = Path(os.path.realpath(path))
    best = None
    with contextlib.suppress(OSError):
        for mount in mounts():
            if (target == mount.target or mount.target in target.parents) and (
                best is None or len(mount.target.parts) >= len(best.target.parts)
            ):
                best = mount
    return best.fstype if best is not None else "?"


def squash_error(path: Path) -> RefusedError:
    """The one-line refusal when root's writes in ``path`` are squashed."""
    return RefusedError(
        _(
            "root cannot write root-owned files in {path} ({fstype}): the NFS export squashes "
            "root (root_squash); fix: export it with no_root_squash to the admin hosts, or "
            "put state_dir on an export only root can reach"
        ).format(path=path, fstype=fstype_of(path))
    )


def is_squash_errno(error: OSError) -> bool:
    """True when ``error``, raised to root, is what a squashing server answers."""
    return os.geteuid() == 0 and error.errno in SQUASH_ERRNOS


def probe_root_write(directory: Path) -> None:
    """Refuse (``RefusedError``) when root cannot create a root-owned file in
    ``directory``; does nothing for other users, whose writes are not squashed."""
    if os.geteuid() != 0:
        return
    probe = directory / f".datakeeper-probe-{os.getpid()}"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        fd = os.open(probe, flags, 0o600)
    except OSError as error:
        if error.errno in SQUASH_ERRNOS:
            raise squash_error(directory) from None
        raise
    try:
        owner = os.fstat(fd).st_uid
    finally:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(probe)
    if owner != 0:  # created, but as nobody: squashed
        raise squash_error(directory)


def probe_new_file(path: Path) -> None:
    """Before root creates ``path``: when it does not exist yet, ``probe_root_write`` its
    directory. A squashing export that lets root create files (a world-writable or
    nobody-owned directory) hands them to nobody; the probe is refused and removed, so
    nothing is left there that would still look squashed once the export is fixed."""
    if os.geteuid() == 0 and not os.path.lexists(path):
        probe_root_write(path.parent)


def nobody_owned(paths: Iterable[Path]) -> list[Path]:
    """The paths shown as owned by nobody (65534): an NFSv4 idmap mismatch when the
    registry records other owners for them."""
    found = []
    for path in paths:
        with contextlib.suppress(OSError):
            if os.lstat(path).st_uid == NOBODY:
                found.append(path)
    return found


def with_deadline(read: Callable[[], T], seconds: float, path: Path) -> T:
    """``read()``, or ``StorageTimeoutError`` when it has not returned after ``seconds``
    (a hung NFS server): the thread is left behind, the caller is not."""
    box: dict[str, object] = {}

    def run() -> None:
        try:
            box["value"] = read()
        except BaseException as error:  # handed to the caller below
            box["error"] = error

    worker = threading.Thread(target=run, name="datakeeper-read", daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        raise StorageTimeoutError(
            _(
                "{path} did not answer within {n} s: the storage (an NFS server?) is slow or "
                "down; try again when it answers (DATAKEEPER_READ_TIMEOUT sets the wait)"
            ).format(path=path, n=f"{seconds:g}")
        )
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["value"]  # type: ignore[return-value]
