"""A file datakeeper wrote is gone (e.g. a unit file after ``disable``)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from datakeeper.engine import state
from datakeeper.engine.change import Change
from datakeeper.engine.effects import AbsentAt
from datakeeper.engine.resource import Resource
from datakeeper.errors import ConflictError
from datakeeper.i18n import _
from datakeeper.managed import OwnedFilesManifest


@dataclass(frozen=True)
class Absent(Resource):
    """``path`` does not exist. A file datakeeper did not write (or that was edited
    since) is a conflict: removed only by a person."""

    path: Path
    manifest: OwnedFilesManifest

    @property
    def id(self) -> str:
        return f"file {self.path}"

    def touches(self) -> tuple[Path, ...]:
        return (self.path, self.manifest.path)

    def plan(self) -> list[Change]:
        digest = state.file_digest(self.path)
        if digest is None:
            return []
        if self.manifest.digest_of(self.path) != digest:
            raise ConflictError(
                _("{path} was not written by datakeeper (or was edited since); remove it "
                  "yourself if it should go").format(path=self.path)
            )  # fmt: skip
        summary = _("remove {path}").format(path=self.path)
        return [Change(self.id, summary, self._remove, effects=(AbsentAt(self.path),))]

    def _remove(self) -> None:
        os.unlink(self.path)
        self.manifest.forget(self.path)
