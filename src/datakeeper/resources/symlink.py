"""A symbolic link pointing at a given target (e.g. /home/alice -> /data/users/alice)."""

from __future__ import annotations

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
from datakeeper.resources.ownership import lstat_or_none
from datakeeper.system.fs import fsync_directory


@dataclass(frozen=True)
class Symlink(Resource):
    """``path`` is a symlink to ``target``; a real file or directory there is a conflict.

    A link to another target is replaced atomically (new link, then rename), so
    ``path`` never disappears in between. Moving data out of a real directory is
    the caller's job (it needs a merge), not this resource's.
    """

    path: Path
    target: Path

    @property
    def id(self) -> str:
        return f"symlink {self.path}"

    def touches(self) -> tuple[Path, ...]:
        return (self.path,)

    def plan(self) -> list[Change]:
        info = lstat_or_none(self.path)
        after = {"target": str(self.target)}
        effects = (SymlinkAt(self.path, str(self.target)),)
        if info is None:
            summary = _("link {path} -> {target}").format(path=self.path, target=self.target)
            return [Change(self.id, summary, self._link, None, after, effects, undo=self._unlink)]
        if not stat.S_ISLNK(info.st_mode):
            raise ConflictError(
                _(
                    "{path} exists and is not a symlink; refusing to replace it "
                    "(move its content away and run again)"
                ).format(path=self.path)
            )
        current = state.readlink(self.path)
        if current == str(self.target):
            return []
        summary = _("relink {path}: {old} -> {new}").format(
            path=self.path, old=current, new=self.target
        )
        return [Change(self.id, summary, self._link, {"target": current}, after, effects)]

    def _unlink(self) -> None:
        """Undo a creation: remove the link, only while it is still ours."""
        if os.path.islink(self.path) and os.readlink(self.path) == str(self.target):
            os.unlink(self.path)

    def _link(self) -> None:
        temporary = self.path.with_name(f".{self.path.name}.datakeeper-link")
        if os.path.lexists(temporary):
            os.unlink(temporary)
        os.symlink(self.target, temporary)
        os.replace(temporary, self.path)
        fsync_directory(self.path.parent)
