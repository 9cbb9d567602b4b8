"""A folder inside a folder its user owns (``dotfiles/.ssh``), made through descriptors.

The parent belongs to the user, who can swap it for a link between root's
check and root's write: the parent is opened with ``O_NOFOLLOW`` and must be
owned by the user, the folder is made with ``mkdirat`` and opened the same way,
and owner and mode are set on that descriptor. Nothing is done by path.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from datakeeper.engine import state
from datakeeper.engine.change import Change
from datakeeper.engine.resource import Resource
from datakeeper.errors import ConflictError
from datakeeper.i18n import _
from datakeeper.resources.ownership import Ownership, actual_ownership, lstat_or_none

DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
GROUP_OTHER_WRITE = 0o022


@dataclass(frozen=True)
class FolderInHome(Resource):
    """``parent/name`` is a real folder of ``owner``:``group``: made with ``mode`` when
    missing; otherwise only its owner is enforced and group/other write removed
    (OpenSSH's StrictModes), the rest of its mode being the user's business."""

    parent: Path
    name: str
    owner: str
    group: str
    mode: int

    @property
    def path(self) -> Path:
        return self.parent / self.name

    @property
    def id(self) -> str:
        return f"directory {self.path}"

    def touches(self) -> tuple[Path, ...]:
        return (self.path,)

    def plan(self) -> list[Change]:
        info = lstat_or_none(self.path)
        if info is None:
            wanted = Ownership(self.owner, self.group, self.mode)
            summary = _("create directory {path} ({how})").format(
                path=self.path, how=wanted.describe()
            )
            effects = (wanted.directory_at(self.path),)
            return [Change(self.id, summary, self._make, None, wanted.as_dict(), effects)]
        if not stat.S_ISDIR(info.st_mode):
            raise ConflictError(
                _("{path} is a symlink or not a directory; move it away and run again").format(
                    path=self.path
                )
            )
        wanted = Ownership(self.owner, self.group, stat.S_IMODE(info.st_mode) & ~GROUP_OTHER_WRITE)
        differences = wanted.differences(info)
        if not differences:
            return []
        summary = _("fix {path}: {what}").format(path=self.path, what=", ".join(differences))
        effects = (wanted.directory_at(self.path),)
        action = lambda: self._fix(wanted)  # noqa: E731
        return [Change(self.id, summary, action, actual_ownership(info), wanted.as_dict(), effects)]

    def _make(self) -> None:
        with _Parent(self) as parent:
            os.mkdir(self.name, 0o700, dir_fd=parent)  # private until owner and mode are set
        self._fix(Ownership(self.owner, self.group, self.mode))

    def _fix(self, wanted: Ownership) -> None:
        with _Parent(self) as parent:
            fd = os.open(self.name, DIR_FLAGS, dir_fd=parent)
            try:
                wanted.apply_to_fd(fd)
            finally:
                os.close(fd)


class _Parent:
    """The parent folder's descriptor, after checking it is the user's own folder."""

    def __init__(self, folder: FolderInHome) -> None:
        self.folder = folder
        self.fd = -1

    def __enter__(self) -> int:
        self.fd = os.open(self.folder.parent, DIR_FLAGS)
        uid = Ownership(self.folder.owner, self.folder.group, 0).uid()
        if uid is not None and not state.is_planned_id(uid) and os.fstat(self.fd).st_uid != uid:
            os.close(self.fd)
            raise ConflictError(
                _("{path} is not {user}'s folder; nothing is made in it").format(
                    path=self.folder.parent, user=self.folder.owner
                )
            )
        return self.fd

    def __exit__(self, *_exc) -> None:
        os.close(self.fd)
