"""Move a home written on the SSD into the persistent home, losing nothing."""

from __future__ import annotations

import os
import stat
import time
from dataclasses import dataclass
from pathlib import Path

from datakeeper.engine.change import Change
from datakeeper.engine.resource import Resource
from datakeeper.errors import ConflictError
from datakeeper.i18n import _
from datakeeper.resources.directory import Directory
from datakeeper.resources.ownership import Ownership, lstat_or_none
from datakeeper.system.treemerge import count_entries, merge_tree


@dataclass(frozen=True)
class HomeMigration(Resource):
    """When ``link`` (e.g. /home/alice) is a real directory, merge it into ``persistent``.

    Copy and verify first (conflicts kept under ``rescued-TIMESTAMP`` in the
    persistent home), then move the SSD directory aside as
    ``.NAME.datakeeper-migrated-TIMESTAMP`` next to it, so the link can take its
    place. Nothing is deleted. A ``Symlink`` resource after this one makes the link.
    """

    link: Path
    persistent: Path

    @property
    def id(self) -> str:
        return f"home {self.link}"

    def touches(self) -> tuple[Path, ...]:
        return (self.link, self.persistent)

    def plan(self) -> list[Change]:
        info = lstat_or_none(self.link)
        if info is None or stat.S_ISLNK(info.st_mode):
            return []
        if not stat.S_ISDIR(info.st_mode):
            raise ConflictError(
                _("{path} is a file where a home link belongs; move it away and run again").format(
                    path=self.link
                )
            )
        files, size = count_entries(str(self.link))
        summary = _(
            "move the content of {src} ({files} files, {mb:.1f} MB) into {dst}, "
            "conflicts kept under rescued-…"
        ).format(src=self.link, files=files, mb=size / 1e6, dst=self.persistent)
        return [Change(self.id, summary, self._migrate, {"directory": True}, {"directory": False})]

    def _migrate(self) -> None:
        stamp = time.strftime("%Y%m%dT%H%M%S")
        merge_tree(str(self.link), str(self.persistent), rescue_name=f"rescued-{stamp}")
        aside = self.link.with_name(f".{self.link.name}.datakeeper-migrated-{stamp}")
        os.rename(self.link, aside)


@dataclass(frozen=True)
class HomeDirectory(Resource):
    """A user's persistent home: created when missing, otherwise only kept login-safe.

    The owner and group are enforced (files on storage keep numeric owners, so a
    wrong owner locks the user out). The mode is the user's business, except
    group/other write, which OpenSSH's StrictModes refuses: that is removed.
    """

    path: Path
    owner: str
    group: str
    mode: int

    @property
    def id(self) -> str:
        return f"home directory {self.path}"

    def touches(self) -> tuple[Path, ...]:
        return (self.path,)

    def plan(self) -> list[Change]:
        info = lstat_or_none(self.path)
        if info is None:
            return Directory(self.path, Ownership(self.owner, self.group, self.mode)).plan()
        if not stat.S_ISDIR(info.st_mode):
            raise ConflictError(
                _(
                    "{path} is not a directory (a symlink or a file); move it away and run again"
                ).format(path=self.path)
            )
        current = stat.S_IMODE(info.st_mode)
        wanted = Ownership(self.owner, self.group, current & ~0o022)
        return Directory(self.path, wanted).plan()
