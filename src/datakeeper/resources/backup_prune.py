"""A snapshot removed from the backup disk (retention, or a stale partial one)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from datakeeper.engine.change import Change
from datakeeper.engine.effects import AbsentAt
from datakeeper.engine.resource import Resource
from datakeeper.i18n import _


class RemovedSnapshot(Resource):
    """``path`` (a snapshot directory) is gone.

    It is first renamed to ``doomed`` (its ``.deleting`` name), so a removal cut
    short never leaves a half-deleted snapshot that still looks complete; the
    next prune finishes it. The tree is root's alone (its parent is 0700), and
    ``shutil.rmtree`` removes links without following them.
    """

    def __init__(self, path: Path, doomed: Path, why: str) -> None:
        self.path, self.doomed, self.why = path, doomed, why

    @property
    def id(self) -> str:
        return f"backup snapshot {self.path}"

    def touches(self) -> tuple[Path, ...]:
        return (self.path, self.doomed)

    def plan(self) -> list[Change]:
        if not os.path.lexists(self.path):
            return []
        summary = _("remove snapshot {name} ({why})").format(name=self.path.name, why=self.why)
        return [Change(self.id, summary, self._remove, effects=(AbsentAt(self.path),))]

    def _remove(self) -> None:
        if self.path != self.doomed:
            os.rename(self.path, self.doomed)
        shutil.rmtree(self.doomed)
