"""A removed user's persistent home: kept (default), archived under the backup root, or purged.

Archive: on the same filesystem the home is renamed into place (instant,
intact). Across filesystems it is copied into a hidden folder next to the
destination with ``treemerge`` (owner, mode and times kept, every file read
back and compared by SHA-256), the folder is renamed into place, and only
then is the original deleted with ``safe_delete``. A failed copy removes its
partial folder and leaves the original as it was.
Purge: ``safe_delete.delete_tree``: no symlink followed, no mount crossed.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from datakeeper.engine import Change, Resource
from datakeeper.errors import ActionFailedError, ConflictError, DatakeeperError, RefusedError
from datakeeper.features.users.remove.account import Step
from datakeeper.i18n import _
from datakeeper.resources import Directory
from datakeeper.resources.ownership import Ownership
from datakeeper.system import safe_delete, treemerge
from datakeeper.system.mounts import mounts

ARCHIVE_DIR_NAME = "archive"


@dataclass(frozen=True)
class HomeState:
    """What is at the persistent home path now."""

    path: Path
    kind: str  # "missing" | "directory" | "symlink" | "other"
    ident: safe_delete.Ident | None = None
    owner_uid: int | None = None
    usage: safe_delete.TreeUsage | None = None

    def as_dict(self) -> dict:
        return {
            "path": str(self.path),
            "kind": self.kind,
            "owner_uid": self.owner_uid,
            **(self.usage.as_dict() if self.usage else {"allocated_bytes": 0}),
        }


def inspect_home(path: Path, *, measure: bool = True) -> HomeState:
    """Read-only look at ``path`` (and its size, walked without following links)."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return HomeState(path, "missing")
    if stat.S_ISLNK(info.st_mode):
        return HomeState(path, "symlink", owner_uid=info.st_uid)
    if not stat.S_ISDIR(info.st_mode):
        return HomeState(path, "other", owner_uid=info.st_uid)
    usage = safe_delete.measure_tree(path) if measure else None
    return HomeState(path, "directory", safe_delete.ident(info), info.st_uid, usage)


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


def plan_archive(home: HomeState, destination: Path) -> list[Change]:
    """Move the home to ``destination`` (rename, or verified copy then delete)."""
    current = inspect_home(home.path, measure=False)
    if current.kind == "missing":
        return []
    if current.ident != home.ident:
        raise RefusedError(
            _("{path} changed since it was inspected; run again").format(path=home.path)
        )
    if os.path.lexists(destination):
        raise ConflictError(
            _("{dest} already exists; run again in a second").format(dest=destination)
        )
    same_fs = renamable(home.path, destination.parent)
    how = _("rename, same filesystem") if same_fs else _("copy with verification, then delete")
    summary = _("archive {path} to {dest} ({how})").format(
        path=home.path, dest=destination, how=how
    )
    action = lambda: move_home(home, destination)  # noqa: E731
    return [
        Change(f"data {home.path}", summary, action, {"path": str(home.path)},
               {"path": str(destination)})
    ]  # fmt: skip


def data_steps(action: str, home: HomeState, archive_to: Path | None) -> list[Resource]:
    """The resources for ``action`` (keep: none) on the home as inspected."""
    if action == "keep" or home.kind != "directory":
        return []
    if action == "purge":
        return [Step(f"data {home.path}", lambda: plan_purge(home), (home.path,))]
    root_only = Directory(archive_to.parent, Ownership("root", "root", 0o700))
    move = Step(
        f"data {home.path}", lambda: plan_archive(home, archive_to), (home.path, archive_to)
    )
    return [root_only, move]


def move_home(home: HomeState, destination: Path) -> None:
    """Move ``home`` to ``destination`` intact; the original is gone only when the copy is."""
    parent_fd = safe_delete.open_dir(home.path.parent)
    try:
        dest_fd = safe_delete.open_dir(destination.parent)
        try:
            _check_same(home, parent_fd)
            if _rename(home, destination, parent_fd, dest_fd):
                return
        finally:
            os.close(dest_fd)
    finally:
        os.close(parent_fd)
    _copy_then_delete(home, destination)


def _rename(home: HomeState, destination: Path, parent_fd: int, dest_fd: int) -> bool:
    """Rename when both sides are on one mount; False when a copy is needed."""
    if os.fstat(dest_fd).st_dev != home.ident[0]:
        return False
    try:
        os.rename(home.path.name, destination.name, src_dir_fd=parent_fd, dst_dir_fd=dest_fd)
    except OSError as error:
        if error.errno != errno.EXDEV:  # two mounts of one filesystem (bind mounts)
            raise
        return False
    return True


def renamable(source: Path, directory: Path) -> bool:
    """True when ``source`` can be renamed into ``directory``: same filesystem and mount."""
    anchor = _existing_ancestor(directory)
    same_device = os.lstat(source).st_dev == os.stat(anchor).st_dev
    return same_device and _mount_point(source) == _mount_point(anchor)


def _mount_point(path: Path) -> Path:
    real = Path(os.path.realpath(path))
    targets = [m.target for m in mounts() if m.target == real or m.target in real.parents]
    return max(targets, key=lambda t: len(t.parts), default=Path("/"))


def _check_same(home: HomeState, parent_fd: int) -> None:
    now = safe_delete.lstat_at(home.path.name, parent_fd)
    if now is None or safe_delete.ident(now) != home.ident:
        raise RefusedError(
            _("{path} changed since it was inspected; run again").format(path=home.path)
        )


def _copy_then_delete(home: HomeState, destination: Path) -> None:
    partial = destination.with_name(f".{destination.name}.partial")
    os.mkdir(partial, 0o700)
    try:
        report = treemerge.merge_tree(str(home.path), str(partial), rescue_name=".rescued")
        if report.rescued:
            raise ActionFailedError(_("copy of {path} is incomplete").format(path=home.path))
        _copy_top_attributes(home.path, partial)
    except (OSError, DatakeeperError):
        with contextlib.suppress(OSError, DatakeeperError):  # the original error matters
            safe_delete.delete_tree(partial.parent, partial.name)
        raise
    os.rename(partial, destination)
    safe_delete.delete_tree(home.path.parent, home.path.name, expected=home.ident)


def _copy_top_attributes(source: Path, copy: Path) -> None:
    """The copy's top directory gets the original's owner, mode and times."""
    info = os.lstat(source)
    fd = safe_delete.open_dir(copy)
    try:
        os.fchown(fd, info.st_uid, info.st_gid)
        os.fchmod(fd, stat.S_IMODE(info.st_mode))
        os.utime(fd, ns=(info.st_atime_ns, info.st_mtime_ns))
    finally:
        os.close(fd)


def check_space(home: HomeState, destination: Path) -> None:
    """Refuse an archive across filesystems that would not fit on the destination."""
    if home.kind != "directory" or home.usage is None:
        return
    if renamable(home.path, destination.parent):
        return
    anchor = _existing_ancestor(destination.parent)
    fs = os.statvfs(anchor)
    free = fs.f_bavail * fs.f_frsize
    if free < home.usage.allocated_bytes:
        raise RefusedError(
            _(
                "{root} has {free} bytes free, {path} needs {need}; free space or use --purge"
            ).format(root=anchor, free=free, path=home.path, need=home.usage.allocated_bytes)
        )


def plan_purge(home: HomeState) -> list[Change]:
    """Delete the home and everything in it, following no symlink."""
    current = inspect_home(home.path, measure=False)
    if current.kind == "missing":
        return []
    if current.ident != home.ident:
        raise RefusedError(
            _("{path} changed since it was inspected; run again").format(path=home.path)
        )
    usage = home.usage or safe_delete.TreeUsage()
    summary = _(
        "DELETE {path} ({files} files, {size} bytes allocated), following no symlink"
    ).format(path=home.path, files=usage.files, size=usage.allocated_bytes)
    action = lambda: _purge(home)  # noqa: E731
    return [Change(f"data {home.path}", summary, action, {"path": str(home.path)}, {"path": None})]


def _purge(home: HomeState) -> None:
    safe_delete.delete_tree(home.path.parent, home.path.name, expected=home.ident)


def _existing_ancestor(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path
