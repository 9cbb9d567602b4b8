"""Where snapshots live on the backup root, what they are called, what state each is in.

::

    <backup_root>/datakeeper/                  root 0700
      snapshots/                               root 0700: members reach nothing below
        2026-12-04T123456Z/                    complete (renamed from .partial at the end)
          data/users/alice/…                   the copy, paths as below the data root
          meta/                                root 0700
            datakeeper.toml  registry.json     0600: what a lost /data is rebuilt from
            manifest.jsonl                     0600: one JSON line per regular file
            snapshot.json                      0600: sources, sizes, per-user sizes
            verify.json                        0600: the last `backup verify`, if any
        2026-12-05T010000Z.partial/            being written, or interrupted
        2026-11-01T010000Z.deleting/           being pruned

A name is the UTC time the run started. Only a directory without a suffix
whose ``meta/snapshot.json`` exists is complete; anything else never counts as
"latest" and is never a ``--link-dest``.
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from datakeeper.errors import ConflictError, InvalidInputError
from datakeeper.i18n import _

TIME_FORMAT = "%Y-%m-%dT%H%M%SZ"
PARTIAL, DELETING = ".partial", ".deleting"
DATA, META = "data", "meta"
MANIFEST, SUMMARY, VERIFY = "manifest.jsonl", "snapshot.json", "verify.json"
CONFIG_COPY, REGISTRY_COPY = "datakeeper.toml", "registry.json"


def snapshots_dir(backup_root: Path) -> Path:
    """The folder holding every snapshot."""
    return backup_root / "datakeeper" / "snapshots"


def snapshot_name(when: datetime) -> str:
    """``2026-12-04T123456Z`` for ``when`` (any time zone; written in UTC)."""
    return when.astimezone(timezone.utc).strftime(TIME_FORMAT)


def parse_name(name: str) -> tuple[datetime, str] | None:
    """(time, suffix) of a snapshot directory name, or None for anything else."""
    for suffix in (PARTIAL, DELETING, ""):
        if suffix and not name.endswith(suffix):
            continue
        stem = name[: len(name) - len(suffix)] if suffix else name
        try:
            when = datetime.strptime(stem, TIME_FORMAT).replace(tzinfo=timezone.utc)
        except ValueError:
            return None
        return when, suffix
    return None


@dataclass(frozen=True)
class Snapshot:
    """One snapshot directory and its state: complete, verified, damaged,
    partial (interrupted or being written) or deleting (being pruned)."""

    path: Path
    time: datetime
    state: str

    @property
    def name(self) -> str:
        return snapshot_name(self.time)

    @property
    def complete(self) -> bool:
        """Finished and renamed: may be restored from and linked against."""
        return self.state in ("complete", "verified", "damaged")

    @property
    def meta(self) -> Path:
        return self.path / META

    @property
    def data(self) -> Path:
        return self.path / DATA


def list_snapshots(backup_root: Path) -> list[Snapshot]:
    """Every snapshot directory, oldest first (nothing when there is none yet)."""
    folder = snapshots_dir(backup_root)
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return []
    found = []
    for name in names:
        parsed = parse_name(name)
        if parsed is not None and os.path.isdir(folder / name):
            found.append(Snapshot(folder / name, parsed[0], _state(folder / name, parsed[1])))
    return sorted(found, key=lambda snapshot: (snapshot.time, snapshot.state))


def _state(path: Path, suffix: str) -> str:
    if suffix == PARTIAL:
        return "partial"
    if suffix == DELETING:
        return "deleting"
    if not (path / META / SUMMARY).is_file():
        return "partial"  # renamed by hand, or its summary lost: never trusted as complete
    verdict = read_json(path / META / VERIFY)
    if verdict is None:
        return "complete"
    return "verified" if verdict.get("ok") else "damaged"


def latest_complete(snapshots: list[Snapshot]) -> Snapshot | None:
    """The newest complete snapshot, or None."""
    complete = [snapshot for snapshot in snapshots if snapshot.complete]
    return complete[-1] if complete else None


def find(backup_root: Path, name: str | None) -> Snapshot:
    """The complete snapshot called ``name`` (a prefix such as ``2026-12-04`` is
    enough when only one matches), or the newest complete one."""
    complete = [s for s in list_snapshots(backup_root) if s.complete]
    if not complete:
        raise InvalidInputError(_("no complete snapshot yet; run 'datakeeper backup run'"))
    if name is None:
        return complete[-1]
    matches = [s for s in complete if s.name.startswith(name)]
    if len(matches) != 1:
        names = ", ".join(s.name for s in complete[-5:])
        reason = _("matches no complete snapshot") if not matches else _("matches several")
        raise InvalidInputError(
            _("{name}: {reason}; the newest are {names}").format(
                name=name, reason=reason, names=names
            )
        )
    return matches[0]


def read_json(path: Path) -> dict[str, Any] | None:
    """A small JSON file datakeeper wrote, or None when it is missing or unreadable."""
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def check_private_dir(path: Path) -> bool:
    """Whether ``path`` exists as a real directory of root's, reachable by nobody else.

    The backup root is group-writable (members make folders there), so a member
    could plant ``datakeeper`` first, as a link or a folder of their own:
    ``ConflictError`` then, and nothing is written through it.
    """
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return False
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != 0 or stat.S_IMODE(info.st_mode) & 0o077:
        raise ConflictError(
            _(
                "{path} is not a directory of root's closed to others (a link, or made by "
                "someone else?); move it aside, then run the backup again"
            ).format(path=path)
        )
    return True
