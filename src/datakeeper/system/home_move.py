"""A removed user's persistent home: looked at, moved intact, or deleted, following no link.

Move: on the same filesystem the home is renamed into place (instant,
intact). Across filesystems it is copied into a hidden folder next to the
destination with ``treemerge`` (owner, mode and times kept, every file read
back and compared by SHA-256), the folder is renamed into place, and only
then is the original deleted with ``safe_delete``. A copy that fails for any
reason removes its partial folder and leaves the original as it was. Both
walks are loops with one descriptor per tree, so a home of any depth moves.
Delete: ``safe_delete.delete_tree``: no symlink followed, no mount crossed.
Both refuse when the home is no longer the directory that was inspected.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from datakeeper.errors import ActionFailedError, RefusedError
from datakeeper.i18n import _
from datakeeper.progress import tracked
from datakeeper.system import safe_delete, treemerge
from datakeeper.system.mounts import mounts


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


def check_unchanged(home: HomeState) -> bool:
    """Whether ``home`` is still there as inspected (False: it is gone); raises
    ``RefusedError`` when something else stands at its path now."""
    current = inspect_home(home.path, measure=False)
    if current.kind == "missing":
        return False
    if current.ident != home.ident:
        raise _changed(home.path)
    return True


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
    copy_then_delete(home, destination)


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
    anchor = existing_ancestor(directory)
    same_device = os.lstat(source).st_dev == os.stat(anchor).st_dev
    return same_device and _mount_point(source) == _mount_point(anchor)


def _mount_point(path: Path) -> Path:
    real = Path(os.path.realpath(path))
    targets = [m.target for m in mounts() if m.target == real or m.target in real.parents]
    return max(targets, key=lambda t: len(t.parts), default=Path("/"))


def _check_same(home: HomeState, parent_fd: int) -> None:
    now = safe_delete.lstat_at(home.path.name, parent_fd)
    if now is None or safe_delete.ident(now) != home.ident:
        raise _changed(home.path)


def copy_then_delete(home: HomeState, destination: Path) -> None:
    """The move across filesystems: verified copy, rename into place, then delete."""
    partial = destination.with_name(f".{destination.name}.partial")
    os.mkdir(partial, 0o700)
    total = home.usage.allocated_bytes if home.usage else None  # du's figure: near enough
    try:
        with tracked(_("copying {path}").format(path=home.path), total, "bytes") as progress:
            report = treemerge.merge_tree(
                str(home.path), str(partial), rescue_name=".rescued", on_copied=progress.advance
            )
        if report.rescued:
            raise ActionFailedError(_("copy of {path} is incomplete").format(path=home.path))
        _copy_top_attributes(home.path, partial)
    except BaseException:  # any failure, even an unexpected one: no partial copy stays
        with contextlib.suppress(Exception):  # the original error is the one to report
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


def delete_home(home: HomeState) -> None:
    """Delete ``home`` and everything in it, provided it is still the one inspected."""
    safe_delete.delete_tree(home.path.parent, home.path.name, expected=home.ident)


def existing_ancestor(path: Path) -> Path:
    """``path`` or its nearest ancestor that exists."""
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _changed(path: Path) -> RefusedError:
    return RefusedError(_("{path} changed since it was inspected; run again").format(path=path))
