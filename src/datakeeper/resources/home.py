"""Move a home written on the SSD into the persistent home, losing nothing."""

from __future__ import annotations

import os
import stat
import time
from dataclasses import dataclass
from pathlib import Path

from datakeeper.engine.change import Change, Result
from datakeeper.engine.effects import AbsentAt, MergedInto
from datakeeper.engine.resource import Resource
from datakeeper.errors import ConflictError
from datakeeper.i18n import _, ngettext
from datakeeper.resources.directory import Directory
from datakeeper.resources.ownership import Ownership, lstat_or_none
from datakeeper.system.treemerge import MergeReport, merge_tree, preview_merge

SAMPLES = 3  # entries named in a sentence; the rest are counted


@dataclass(frozen=True)
class HomeMigration(Resource):
    """When ``link`` (e.g. /home/alice) is a real directory, merge it into ``persistent``.

    Copy and verify first (conflicts kept under ``rescued-TIMESTAMP`` in the
    persistent home), then move the SSD directory aside as
    ``.NAME.datakeeper-migrated-TIMESTAMP`` next to it, so the link can take its
    place. Nothing is deleted. A ``Symlink`` resource after this one makes the link.
    The plan says what a read-only scan expects the merge to copy, rescue and skip
    (sockets, FIFOs, devices); the applied change reports what it did.
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
        expected = preview_merge(str(self.link), str(self.persistent))
        summary = _("move the content of {src} into {dst}: {merge}").format(
            src=self.link, dst=self.persistent, merge=self._describe(expected, "rescued-…")
        )
        effects = (MergedInto(self.link, self.persistent), AbsentAt(self.link))
        before, after = {"directory": True}, {"directory": False}
        return [Change(self.id, summary, self._migrate, before, after, effects)]

    def _migrate(self) -> Result:
        stamp = time.strftime("%Y%m%dT%H%M%S")
        rescue = f"rescued-{stamp}"
        done = merge_tree(str(self.link), str(self.persistent), rescue_name=rescue)
        aside = self.link.with_name(f".{self.link.name}.datakeeper-migrated-{stamp}")
        os.rename(self.link, aside)
        detail = _("{merge}; {src} moved aside to {aside}").format(
            merge=self._describe(done, rescue), src=self.link, aside=aside
        )
        return Result(detail)

    def _describe(self, report: MergeReport, rescue: str) -> str:
        """Copied, already there, rescued (where) and skipped, in one sentence."""
        parts = [
            ngettext(
                "{n} entry copied ({mb:.1f} MB), {same} already there",
                "{n} entries copied ({mb:.1f} MB), {same} already there",
                report.copied,
            ).format(n=report.copied, mb=report.bytes_copied / 1e6, same=report.identical)
        ]
        if report.rescued:
            parts.append(
                _("conflicting entries kept under {dir}/: {n} ({names})").format(
                    dir=self.persistent / rescue,
                    n=len(report.rescued),
                    names=_sample(report.rescued),
                )
            )
        else:
            parts.append(_("no conflicts"))
        if report.skipped:
            parts.append(
                _("skipped (sockets, FIFOs, devices): {n} ({names})").format(
                    n=len(report.skipped), names=_sample(report.skipped)
                )
            )
        return "; ".join(parts)


def _sample(paths: list[str]) -> str:
    shown = ", ".join(paths[:SAMPLES])
    return shown + (", …" if len(paths) > SAMPLES else "")


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
