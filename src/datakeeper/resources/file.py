"""A regular file with exact content, owner and mode, written atomically."""

from __future__ import annotations

import hashlib
import os
import stat
import time
from dataclasses import dataclass
from pathlib import Path

from datakeeper.engine import state
from datakeeper.engine.change import Change
from datakeeper.engine.effects import FileAt
from datakeeper.engine.resource import Resource
from datakeeper.errors import ConflictError
from datakeeper.i18n import _
from datakeeper.managed import OwnedFilesManifest
from datakeeper.resources.ownership import Ownership, actual_ownership, lstat_or_none
from datakeeper.system.fs import atomic_write


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class ManagedFile(Resource):
    """``path`` holds exactly ``content`` with ``ownership``.

    An existing file that datakeeper did not write (its digest is not in the
    manifest) is a conflict, unless ``replace_unmanaged`` is set: then it is
    first moved aside as ``NAME.datakeeper-old-TIMESTAMP``. ``secret`` keeps
    the content out of every plan and diff.
    """

    path: Path
    content: bytes
    ownership: Ownership
    manifest: OwnedFilesManifest
    secret: bool = False
    replace_unmanaged: bool = False

    @property
    def id(self) -> str:
        return f"file {self.path}"

    def touches(self) -> tuple[Path, ...]:
        return (self.path, self.manifest.path)

    def plan(self) -> list[Change]:
        info = lstat_or_none(self.path)
        digest = sha256(self.content)
        wanted = {**self.ownership.as_dict(), "sha256": digest}
        if info is None:
            summary = _("create {path} ({how})").format(
                path=self.path, how=self.ownership.describe()
            )
            return [Change(self.id, summary, self._write, None, wanted, self._effects())]
        self._refuse_special(info)
        current = state.file_digest(self.path)
        actual = {**actual_ownership(info), "sha256": current}
        if current != digest:
            return [self._rewrite(current, actual, wanted)]
        differences = self.ownership.differences(info)
        if not differences:
            return []
        summary = _("fix {path}: {what}").format(path=self.path, what=", ".join(differences))
        return [Change(self.id, summary, self._write, actual, wanted, self._effects())]

    def _effects(self) -> tuple[FileAt]:
        """What every change of this file leaves: the wanted content, owner and mode."""
        own = self.ownership
        return (FileAt(self.path, own.owner, own.group, own.mode, sha256(self.content)),)

    def _rewrite(self, current: str | None, actual: dict, wanted: dict) -> Change:
        if current is not None and self.manifest.digest_of(self.path) == current:
            summary = _("update {path} (content differs)").format(path=self.path)
            return Change(self.id, summary, self._write, actual, wanted, self._effects())
        if not self.replace_unmanaged:
            raise ConflictError(
                _(
                    "{path} exists and was not written by datakeeper (or was edited since); "
                    "move it away or merge your changes into the config, then run again"
                ).format(path=self.path)
            )
        summary = _("replace {path}; the old file is kept as {aside}").format(
            path=self.path, aside=self._aside_name()
        )
        return Change(self.id, summary, self._move_aside_and_write, actual, wanted, self._effects())

    def _refuse_special(self, info: os.stat_result) -> None:
        if not stat.S_ISREG(info.st_mode):
            raise ConflictError(
                _(
                    "{path} is not a regular file (a symlink or something else); "
                    "refusing to write through it"
                ).format(path=self.path)
            )

    def _aside_name(self) -> Path:
        stamp = time.strftime("%Y%m%dT%H%M%S")
        return self.path.with_name(f"{self.path.name}.datakeeper-old-{stamp}")

    def _move_aside_and_write(self) -> None:
        os.rename(self.path, self._aside_name())
        self._write()

    def _write(self) -> None:
        uid, gid = self.ownership.uid(), self.ownership.gid()
        atomic_write(self.path, self.content, mode=self.ownership.mode, uid=uid, gid=gid)
        self.manifest.remember(self.path, sha256(self.content))
