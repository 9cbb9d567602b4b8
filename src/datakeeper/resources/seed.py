"""A file created once inside a user's tree and then left to its owner."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from datakeeper.engine.change import Change
from datakeeper.engine.effects import FileAt
from datakeeper.engine.resource import Resource
from datakeeper.i18n import _
from datakeeper.resources.file import sha256
from datakeeper.resources.ownership import Ownership, lstat_or_none

DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


@dataclass(frozen=True)
class SeedFile(Resource):
    """``path`` gets ``content`` if nothing is there yet; an existing entry is never touched.

    For dotfiles in a user's home (``.condarc``, ``.hpcrc``): the user owns them
    after the first write. Created relative to the parent's descriptor with
    ``O_EXCL|O_NOFOLLOW``, so a symlink the user planted is never written through.
    """

    path: Path
    content: bytes
    ownership: Ownership

    @property
    def id(self) -> str:
        return f"file {self.path}"

    def touches(self) -> tuple[Path, ...]:
        return (self.path,)

    def plan(self) -> list[Change]:
        if lstat_or_none(self.path) is not None:
            return []
        summary = _("create {path} ({how})").format(path=self.path, how=self.ownership.describe())
        own = self.ownership
        effect = FileAt(self.path, own.owner, own.group, own.mode, sha256(self.content))
        return [
            Change(
                self.id, summary, self._create, None, own.as_dict(), (effect,), undo=self._remove
            )
        ]

    def _remove(self) -> None:
        """Undo the creation (relative to the parent, never through a symlink)."""
        parent = os.open(self.path.parent, DIR_FLAGS)
        try:
            os.unlink(self.path.name, dir_fd=parent)
        finally:
            os.close(parent)

    def _create(self) -> None:
        parent = os.open(self.path.parent, DIR_FLAGS)
        try:
            fd = os.open(self.path.name, CREATE_FLAGS, 0o600, dir_fd=parent)
            try:
                os.write(fd, self.content)
                os.fsync(fd)
                self.ownership.apply_to_fd(fd)
            finally:
                os.close(fd)
        finally:
            os.close(parent)
