"""``datakeeper backup list``: every snapshot with its state and sizes."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from datakeeper.errors import InvalidInputError
from datakeeper.features.backup import layout
from datakeeper.i18n import N_, _

if TYPE_CHECKING:
    from datakeeper.config import SiteConfig


@dataclass(frozen=True)
class SnapshotInfo:
    """One snapshot as ``backup list`` shows it; sizes are None for a snapshot
    that is not complete (it has no summary)."""

    name: str
    path: Path
    state: str
    total_bytes: int | None = None
    added_bytes: int | None = None
    files: int | None = None
    users: dict[str, int] = field(default_factory=dict)
    verified_at: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "path": str(self.path),
            "state": self.state,
            "total_bytes": self.total_bytes,
            "added_bytes": self.added_bytes,
            "files": self.files,
            "users": self.users,
            "verified_at": self.verified_at,
        }


_STATE_WORDS = {
    "complete": N_("complete"),
    "verified": N_("verified"),
    "damaged": N_("damaged"),
    "partial": N_("partial"),
    "deleting": N_("deleting"),
}


def state_for_people(state: str) -> str:
    """A snapshot's state (a stable word in ``--json``) in the reader's language."""
    return _(_STATE_WORDS[state]) if state in _STATE_WORDS else state


def backup_root(cfg: SiteConfig) -> Path:
    """The configured backup root; ``InvalidInputError`` when there is none."""
    if cfg.storage.backup_root is None:
        raise InvalidInputError(
            _("storage.backup_root is not set in the site config; set it to the backup disk")
        )
    return cfg.storage.backup_root


def list_backups(cfg: SiteConfig) -> list[SnapshotInfo]:
    """Every snapshot, oldest first, with what its summary and last verify say."""
    return [describe(snapshot) for snapshot in layout.list_snapshots(backup_root(cfg))]


def describe(snapshot: layout.Snapshot) -> SnapshotInfo:
    """A snapshot's figures from its root-only summary (none for partial ones)."""
    summary = layout.read_json(snapshot.meta / layout.SUMMARY) if snapshot.complete else None
    verdict = layout.read_json(snapshot.meta / layout.VERIFY) if snapshot.complete else None
    if summary is None:
        return SnapshotInfo(snapshot.name, snapshot.path, snapshot.state)
    return SnapshotInfo(
        snapshot.name,
        snapshot.path,
        snapshot.state,
        total_bytes=summary.get("bytes"),
        added_bytes=summary.get("added_bytes"),
        files=summary.get("files"),
        users=dict(summary.get("users") or {}),
        verified_at=verdict.get("time") if verdict else None,
    )
