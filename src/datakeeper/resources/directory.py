"""A directory with an owner, a group and a mode (setgid and sticky included)."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from datakeeper.engine.change import Change
from datakeeper.engine.resource import Resource
from datakeeper.errors import ConflictError
from datakeeper.i18n import _
from datakeeper.resources.ownership import Ownership, actual_ownership, lstat_or_none


@dataclass(frozen=True)
class Directory(Resource):
    """``path`` exists as a real directory (never through a symlink) with ``ownership``.

    The parent must already exist when the change is applied: callers list
    parents first. Contents are never touched.
    """

    path: Path
    ownership: Ownership

    @property
    def id(self) -> str:
        return f"directory {self.path}"

    def touches(self) -> tuple[Path, ...]:
        return (self.path,)

    def plan(self) -> list[Change]:
        info = lstat_or_none(self.path)
        if info is None:
            return [self._create()]
        if stat.S_ISLNK(info.st_mode):
            raise ConflictError(
                _(
                    "{path} is a symlink, expected a directory; refusing to follow it "
                    "(move it away and run again)"
                ).format(path=self.path)
            )
        if not stat.S_ISDIR(info.st_mode):
            raise ConflictError(
                _("{path} exists but is not a directory; move it away and run again").format(
                    path=self.path
                )
            )
        differences = self.ownership.differences(info)
        if not differences:
            return []
        return [
            Change(
                self.id,
                _("fix {path}: {what}").format(path=self.path, what=", ".join(differences)),
                self._fix,
                before=actual_ownership(info),
                after=self.ownership.as_dict(),
                effects=(self.ownership.directory_at(self.path),),
            )
        ]

    def _create(self) -> Change:
        return Change(
            self.id,
            _("create directory {path} ({how})").format(
                path=self.path, how=self.ownership.describe()
            ),
            self._make,
            before=None,
            after=self.ownership.as_dict(),
            effects=(self.ownership.directory_at(self.path),),
            undo=self._remove_if_empty,
        )

    def _remove_if_empty(self) -> None:
        """Undo a creation: ``rmdir`` only, so nothing put inside since is ever lost."""
        os.rmdir(self.path)

    def _make(self) -> None:
        os.mkdir(self.path, 0o700)  # private until owner and mode are set
        self._fix()

    def _fix(self) -> None:
        fd = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        try:
            self.ownership.apply_to_fd(fd)
        finally:
            os.close(fd)
