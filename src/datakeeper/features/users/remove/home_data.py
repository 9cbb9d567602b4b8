"""A removed user's persistent home: kept (default), archived under the backup root, or purged.

The mechanics (inspect, move, delete, following no link) are in
``datakeeper.system.home_move``; the changes are the resources
``HomeArchived`` and ``HomePurged``. Here: what is refused before asking, and
which resources a data choice means.
"""

from __future__ import annotations

import os
from pathlib import Path

from datakeeper.engine import Resource
from datakeeper.errors import ConflictError, RefusedError
from datakeeper.i18n import _
from datakeeper.resources import Directory
from datakeeper.resources.ownership import Ownership
from datakeeper.resources.removed_home import HomeArchived, HomePurged
from datakeeper.system.home_move import HomeState, existing_ancestor, renamable

ARCHIVE_DIR_NAME = "archive"


def check_movable(home: HomeState, uid: int) -> None:
    """Refuse to archive or purge anything but the user's own real directory."""
    if home.kind in ("symlink", "other"):
        raise RefusedError(
            _(
                "{path} is not a real directory (a {kind}); refusing to archive or delete "
                "through it; look at it by hand"
            ).format(path=home.path, kind=home.kind)
        )
    if home.kind == "directory" and home.owner_uid != uid:
        raise ConflictError(
            _(
                "{path} is owned by uid {owner}, not by the user (uid {uid}); refusing to "
                "archive or delete it; fix its owner or move it by hand"
            ).format(path=home.path, owner=home.owner_uid, uid=uid)
        )
    if home.usage is not None and home.usage.other_filesystems:
        raise RefusedError(
            _("{path} contains mount points ({mounts}); unmount them and run again").format(
                path=home.path, mounts=", ".join(home.usage.other_filesystems)
            )
        )


def archive_destination(backup_root: Path, name: str, stamp: str) -> Path:
    """``<backup_root>/archive/NAME-YYYYmmdd-HHMMSS``."""
    return backup_root / ARCHIVE_DIR_NAME / f"{name}-{stamp}"


def check_space(home: HomeState, destination: Path) -> None:
    """Refuse an archive across filesystems that would not fit on the destination."""
    if home.kind != "directory" or home.usage is None:
        return
    if renamable(home.path, destination.parent):
        return
    anchor = existing_ancestor(destination.parent)
    fs = os.statvfs(anchor)
    free = fs.f_bavail * fs.f_frsize
    if free < home.usage.allocated_bytes:
        raise RefusedError(
            _(
                "{root} has {free} bytes free, {path} needs {need}; free space or use --purge"
            ).format(root=anchor, free=free, path=home.path, need=home.usage.allocated_bytes)
        )


def data_resources(action: str, home: HomeState, archive_to: Path | None) -> list[Resource]:
    """The resources for ``action`` on the home as inspected (keep, or no home: none).

    An archive first makes the archive folder root-only: what is archived
    there keeps its owners, so it must not be reachable by them any more.
    """
    if action == "keep" or home.kind != "directory":
        return []
    if action == "purge":
        return [HomePurged(home)]
    root_only = Directory(archive_to.parent, Ownership("root", "root", 0o700))
    return [root_only, HomeArchived(home, archive_to)]
