"""The persistent-storage guard: never write to the wiped SSD by mistake.

When the big disk fails to mount, ``/data`` is an empty directory on the
root SSD; anything written there is lost at the next boot. Before writing
under a storage root we check that it is the persistent disk: a mount point,
or a directory carrying the marker file that ``datakeeper init`` (or
``datakeeper storage mark``) wrote on it.
"""

from __future__ import annotations

import json
import os
import stat
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from datakeeper.errors import StorageNotPersistentError
from datakeeper.i18n import _
from datakeeper.system.fs import atomic_write
from datakeeper.system.mounts import mount_of

MARKER_NAME = ".datakeeper-storage"


@dataclass(frozen=True)
class StorageStatus:
    """What we know about one storage root."""

    root: Path
    exists: bool
    mount: str | None  # "fstype source" when it is a mount point
    marker: bool
    on_root_fs: bool = False  # same filesystem as "/": the disk that is wiped

    @property
    def persistent(self) -> bool:
        mounted = self.mount is not None and not self.on_root_fs
        return self.exists and (mounted or self.marker)

    def as_dict(self) -> dict:
        return {
            "root": str(self.root),
            "exists": self.exists,
            "mount": self.mount,
            "marker": self.marker,
            "on_root_fs": self.on_root_fs,
            "persistent": self.persistent,
        }


def inspect(root: Path) -> StorageStatus:
    """Read-only look at ``root``: does it exist, is it mounted, is it marked."""
    info = _lstat(root)
    exists = info is not None and (stat.S_ISDIR(info.st_mode) or root.is_dir())
    mount = mount_of(root) if exists else None
    described = f"{mount.fstype} {mount.source}" if mount else None
    on_root_fs = exists and os.stat(root).st_dev == os.stat("/").st_dev
    return StorageStatus(root, exists, described, exists and has_marker(root), on_root_fs)


def backup_missing_note() -> str:
    """What ``check`` and ``recovery status`` say when the backup disk is not mounted."""
    return _("the backup disk is not mounted: recovery runs without it, and nothing is "
             "written there until it is mounted (see /etc/fstab)")  # fmt: skip


def has_marker(root: Path) -> bool:
    """True when ``root`` holds a root-owned marker file written by datakeeper."""
    info = _lstat(root / MARKER_NAME)
    return info is not None and stat.S_ISREG(info.st_mode) and info.st_uid == 0


def write_marker(root: Path, role: str) -> Path:
    """Mark ``root`` as persistent storage (called when it is known to be mounted)."""
    marker = root / MARKER_NAME
    content = {
        "tool": "datakeeper",
        "role": role,
        "marked_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    atomic_write(marker, (json.dumps(content) + "\n").encode(), mode=0o644, uid=0, gid=0)
    return marker


def ensure_persistent(root: Path) -> None:
    """Raise ``StorageNotPersistentError`` unless ``root`` is the persistent disk."""
    status = inspect(root)
    if not status.exists:
        raise StorageNotPersistentError(
            _(
                "storage root {root} does not exist: the persistent disk is not mounted; "
                "mount it (see /etc/fstab) and run again"
            ).format(root=root)
        )
    if not status.persistent and status.mount is not None:
        raise StorageNotPersistentError(
            _(
                "{root} is mounted from the root filesystem (the disk that is wiped at boot); "
                "mount the persistent disk there, or if the root disk really persists, run "
                "'datakeeper storage mark {root}'"
            ).format(root=root)
        )
    if not status.persistent:
        raise StorageNotPersistentError(
            _(
                "{root} is not a mount point and has no {marker} marker: the persistent disk "
                "seems not mounted, so anything written would land on the SSD and be wiped; "
                "mount it and run again (or, if {root} really is persistent, run "
                "'datakeeper storage mark {root}')"
            ).format(root=root, marker=MARKER_NAME)
        )


@dataclass
class StorageGuard:
    """Checks every written path that lies under one of ``roots`` (once per root)."""

    roots: Sequence[Path]

    def __call__(self, paths: Sequence[Path]) -> None:
        checked: set[Path] = set()
        for path in paths:
            root = self.root_of(path)
            if root is not None and root not in checked:
                ensure_persistent(root)
                checked.add(root)

    def root_of(self, path: Path) -> Path | None:
        """The storage root ``path`` lies under (itself included), or None: the
        deepest, compared as normalised text (a recovery asks this thousands of
        times, and ``Path.parents`` costs far more than a prefix test)."""
        normal = os.path.normpath(path)
        found, length = None, -1
        for root in self.roots:
            text = os.path.normpath(root)
            below = normal == text or normal.startswith(text.rstrip("/") + "/")
            if below and len(text) > length:
                found, length = root, len(text)
        return found


def _lstat(path: Path) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except FileNotFoundError:
        return None
