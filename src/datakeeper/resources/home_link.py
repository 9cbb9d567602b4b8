"""A link inside a user's home (``/home/alice/data -> /data/users/alice``), owned by the user.

The home belongs to its user, who can race root there: the link is made
relative to a descriptor of the home opened with ``O_NOFOLLOW`` (a home
swapped for a symlink is refused, never followed), under a temporary name
renamed into place, so the name never dangles in between and nothing the
user planted is written through.
"""

from __future__ import annotations

import contextlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from datakeeper.engine import state
from datakeeper.engine.change import Change
from datakeeper.engine.effects import SymlinkAt
from datakeeper.engine.resource import Resource
from datakeeper.errors import ConflictError
from datakeeper.i18n import _
from datakeeper.resources.ownership import Ownership, lstat_or_none

DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


@dataclass(frozen=True)
class HomeLink(Resource):
    """``home/name`` is a symlink to ``target`` owned by ``owner``:``group``.

    A real file or directory there is a conflict (it may hold the user's work:
    moving it is a migration's job, not this resource's). A link to another
    target, or owned by someone else, is replaced.
    """

    home: Path
    name: str
    target: Path
    owner: str
    group: str

    @property
    def path(self) -> Path:
        return self.home / self.name

    @property
    def id(self) -> str:
        return f"home link {self.path}"

    def touches(self) -> tuple[Path, ...]:
        return (self.path,)

    def plan(self) -> list[Change]:
        info = lstat_or_none(self.path)
        after = {"target": str(self.target), "owner": self.owner}
        effects = (SymlinkAt(self.path, str(self.target)),)
        if info is None:
            summary = _("link {path} -> {target}").format(path=self.path, target=self.target)
            return [Change(self.id, summary, self._link, None, after, effects, undo=self._unlink)]
        if not stat.S_ISLNK(info.st_mode):
            raise ConflictError(
                _(
                    "{path} exists and is not a symlink; refusing to replace it "
                    "(move its content into {target} and run again)"
                ).format(path=self.path, target=self.target)
            )
        current = state.readlink(self.path)
        own = self._ownership()
        if current == str(self.target) and (own.uid(), own.gid()) == (info.st_uid, info.st_gid):
            return []
        if current == str(self.target):
            summary = _("give the link {path} to {owner}").format(path=self.path, owner=self.owner)
        else:
            summary = _("relink {path}: {old} -> {new}").format(
                path=self.path, old=current, new=self.target
            )
        before = {"target": current}
        return [Change(self.id, summary, self._link, before, after, effects)]

    def _ownership(self) -> Ownership:
        # A link's mode means nothing on Linux: only its owner and group count.
        return Ownership(self.owner, self.group, 0o777)

    def _link(self) -> None:
        own = self._ownership()
        uid, gid = own.uid(), own.gid()
        if uid is None or gid is None:
            raise ConflictError(
                _("owner {o} or group {g} does not exist").format(o=self.owner, g=self.group)
            )
        temporary = f".{self.name}.datakeeper-link"
        home = os.open(self.home, DIR_FLAGS)
        try:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary, dir_fd=home)
            os.symlink(self.target, temporary, dir_fd=home)
            os.chown(temporary, uid, gid, dir_fd=home, follow_symlinks=False)
            os.rename(temporary, self.name, src_dir_fd=home, dst_dir_fd=home)
            os.fsync(home)
        finally:
            os.close(home)

    def _unlink(self) -> None:
        """Undo a creation: remove the link, only while it is still ours."""
        home = os.open(self.home, DIR_FLAGS)
        try:
            if os.readlink(self.name, dir_fd=home) == str(self.target):
                os.unlink(self.name, dir_fd=home)
        except FileNotFoundError:
            pass
        finally:
            os.close(home)
