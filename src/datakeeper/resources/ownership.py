"""Owner, group and mode of a filesystem object: compare and fix through a pinned fd."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from datakeeper.engine import state
from datakeeper.engine.effects import DirectoryAt
from datakeeper.errors import ConflictError
from datakeeper.i18n import _


@dataclass(frozen=True)
class Ownership:
    """Wanted owner and group (names, resolved when needed) and permission bits."""

    owner: str
    group: str
    mode: int

    def uid(self) -> int | None:
        return _resolve(self.owner, state.user_by_name, "uid")

    def gid(self) -> int | None:
        return _resolve(self.group, state.group_by_name, "gid")

    def describe(self) -> str:
        return f"{self.owner}:{self.group} {self.mode:04o}"

    def differences(self, info: os.stat_result) -> list[str]:
        """Sentences for each of owner, group, mode that differ from ``info``."""
        found = []
        if self.uid() != info.st_uid:
            found.append(_("owner {a} -> {b}").format(a=_owner_name(info.st_uid), b=self.owner))
        if self.gid() != info.st_gid:
            found.append(_("group {a} -> {b}").format(a=_group_name(info.st_gid), b=self.group))
        if stat.S_IMODE(info.st_mode) != self.mode:
            found.append(
                _("mode {a:04o} -> {b:04o}").format(a=stat.S_IMODE(info.st_mode), b=self.mode)
            )
        return found

    def apply_to_fd(self, fd: int) -> None:
        """chown then chmod (chown may clear set-id bits, so the mode goes last)."""
        uid, gid = self.uid(), self.gid()
        if uid is None or gid is None:
            raise ConflictError(
                _("owner {o} or group {g} does not exist").format(o=self.owner, g=self.group)
            )
        os.fchown(fd, uid, gid)
        os.fchmod(fd, self.mode)

    def as_dict(self) -> dict:
        return {"owner": self.owner, "group": self.group, "mode": f"{self.mode:04o}"}

    def directory_at(self, path: Path) -> DirectoryAt:
        """The effect of making ``path`` a directory with this ownership."""
        return DirectoryAt(path, self.owner, self.group, self.mode)


def actual_ownership(info: os.stat_result) -> dict:
    """The ``as_dict`` form of what is on disk."""
    return {
        "owner": _owner_name(info.st_uid),
        "group": _group_name(info.st_gid),
        "mode": f"{stat.S_IMODE(info.st_mode):04o}",
    }


def _resolve(name: str, lookup, attribute: str) -> int | None:
    if name.isdigit():
        return int(name)
    found = lookup(name)
    return None if found is None else getattr(found, attribute)


def _owner_name(uid: int) -> str:
    found = state.user_by_uid(uid)
    return found.name if found else str(uid)


def _group_name(gid: int) -> str:
    found = state.group_by_gid(gid)
    return found.name if found else str(gid)


def lstat_or_none(path) -> os.stat_result | None:
    """``lstat`` that answers None for a missing path (never follows a symlink);
    in a dry run, of what the changes planned so far would leave there."""
    return state.lstat(path)
