"""A removed user's persistent home, archived or purged (kept: no resource, no change).

Both are planned against the home as it was inspected and shown to the admin
(``HomeState``): when something else stands at its path now, planning
refuses, so what is moved or deleted is exactly what was confirmed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from datakeeper.engine.change import Change
from datakeeper.engine.effects import AbsentAt
from datakeeper.engine.resource import Resource
from datakeeper.errors import ConflictError
from datakeeper.i18n import _, ngettext
from datakeeper.system import home_move, safe_delete
from datakeeper.system.home_move import HomeState


@dataclass(frozen=True)
class HomeArchived(Resource):
    """The home is at ``destination`` (renamed, or copied with verification then
    deleted), and no longer at its own path. A copy that fails, whatever the
    error, leaves no partial copy behind (``home_move.copy_then_delete``)."""

    home: HomeState
    destination: Path

    @property
    def id(self) -> str:
        return f"data {self.home.path}"

    def touches(self) -> tuple[Path, ...]:
        return (self.home.path, self.destination)

    def plan(self) -> list[Change]:
        if not home_move.check_unchanged(self.home):
            return []
        if os.path.lexists(self.destination):
            raise ConflictError(
                _("{dest} already exists; run again in a second").format(dest=self.destination)
            )
        same_fs = home_move.renamable(self.home.path, self.destination.parent)
        how = _("rename, same filesystem") if same_fs else _("copy with verification, then delete")
        summary = _("archive {path} to {dest} ({how})").format(
            path=self.home.path, dest=self.destination, how=how
        )
        before, after = {"path": str(self.home.path)}, {"path": str(self.destination)}
        return [
            Change(self.id, summary, self._move, before, after,
                   effects=(AbsentAt(self.home.path),))
        ]  # fmt: skip

    def _move(self) -> None:
        home_move.move_home(self.home, self.destination)


@dataclass(frozen=True)
class HomePurged(Resource):
    """The home and everything in it are deleted, following no symlink."""

    home: HomeState

    @property
    def id(self) -> str:
        return f"data {self.home.path}"

    def touches(self) -> tuple[Path, ...]:
        return (self.home.path,)

    def plan(self) -> list[Change]:
        if not home_move.check_unchanged(self.home):
            return []
        usage = self.home.usage or safe_delete.TreeUsage()
        summary = ngettext(
            "DELETE {path} ({files} file, {size} bytes allocated), following no symlink",
            "DELETE {path} ({files} files, {size} bytes allocated), following no symlink",
            usage.files,
        ).format(path=self.home.path, files=usage.files, size=usage.allocated_bytes)
        before, after = {"path": str(self.home.path)}, {"path": None}
        return [
            Change(self.id, summary, self._purge, before, after,
                   effects=(AbsentAt(self.home.path),))
        ]  # fmt: skip

    def _purge(self) -> None:
        home_move.delete_home(self.home)
