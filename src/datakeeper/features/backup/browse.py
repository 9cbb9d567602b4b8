"""``datakeeper backup browse`` for the admin: what a folder held in a snapshot.

Reads only, as root, never through a link inside the snapshot
(``helper.snapshots.locate``). Members browse their own files through the sudo
helper instead (``features/backup/member.py``).
"""

from __future__ import annotations

import os
import stat
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from datakeeper.errors import InvalidInputError
from datakeeper.features.backup.restore import data_relative, pick_snapshot
from datakeeper.helper.snapshots import locate
from datakeeper.helper.walk import Refused
from datakeeper.i18n import _

if TYPE_CHECKING:
    from datakeeper.config import SiteConfig


@dataclass(frozen=True)
class Entry:
    """One entry of a snapshot folder: kind is ``file``, ``folder``, ``link`` or ``other``."""

    name: str
    kind: str
    size: int
    mtime: float
    uid: int
    target: str | None = None


@dataclass
class Listing:
    """A folder (or one file) of a snapshot."""

    snapshot: str
    path: str
    entries: list[Entry] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "snapshot": self.snapshot,
            "path": self.path,
            "entries": [asdict(e) for e in self.entries],
        }


def browse(cfg: SiteConfig, path: Path | None, wanted: str | None) -> Listing:
    """The entries of ``path`` (default: the users folder) in snapshot ``wanted``."""
    snapshot = pick_snapshot(cfg, wanted)
    live = path or cfg.storage.data_root / cfg.home.users_folder
    parts = data_relative(cfg, live)
    try:
        where, info = locate(str(snapshot.data), parts)
    except Refused as refused:
        raise InvalidInputError(
            _("{path} in snapshot {name}: {why}").format(
                path="/".join(parts), name=snapshot.name, why=refused
            )
        ) from None
    listing = Listing(snapshot.name, str(cfg.storage.data_root.joinpath(*parts)))
    if not stat.S_ISDIR(info.st_mode):
        listing.entries.append(_entry(where, parts[-1], info))
        return listing
    for name in sorted(os.listdir(where)):
        full = f"{where}/{name}"
        listing.entries.append(_entry(full, name, os.lstat(full)))
    return listing


def _entry(path: str, name: str, info: os.stat_result) -> Entry:
    if stat.S_ISLNK(info.st_mode):
        return Entry(name, "link", 0, info.st_mtime, info.st_uid, os.readlink(path))
    kind = (
        "folder"
        if stat.S_ISDIR(info.st_mode)
        else "file"
        if stat.S_ISREG(info.st_mode)
        else "other"
    )
    return Entry(name, kind, info.st_size if kind == "file" else 0, info.st_mtime, info.st_uid)
