"""``datakeeper backup run``: one snapshot of the data disk on the backup disk.

The run is one ``BackupSnapshot`` change in a change session (storage guard on
both roots, the admin lock, one action-log record; ``--dry-run`` shows the
estimate). It copies into ``<name>.partial`` with rsync, linked against the
newest complete snapshot, adds root-only copies of the site config and the
registry, writes the manifest, reads it back, and only then renames the
folder to its final name: an interrupted run never becomes "latest".

An interrupted run is *resumed*: the next run renames the newest partial
snapshot (newer than the newest complete one) to its own name and lets rsync
finish it (``--delete`` drops what was deleted meanwhile; rsync never writes
into a file in place, so files linked to older snapshots stay untouched).
Older partial snapshots are left to ``backup prune``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from datakeeper.engine.session import change_session
from datakeeper.errors import InvalidInputError, RefusedError
from datakeeper.features.backup import layout
from datakeeper.features.backup.listing import backup_root
from datakeeper.features.backup.writer import Previous, Totals, check_manifest, write_manifest
from datakeeper.features.disk.usage import root_usage
from datakeeper.i18n import _
from datakeeper.progress import tracked
from datakeeper.resources.backup_snapshot import BackupSnapshot, SnapshotPlan
from datakeeper.sizes import human_size
from datakeeper.system import rsync

if TYPE_CHECKING:
    from datakeeper.config import SiteConfig
    from datakeeper.engine import Outcome

BLOCK = 4096  # what each copied directory costs on the backup disk
MANIFEST_LINE = 200  # bytes per file in the manifest, for the estimate


@dataclass
class RunReport:
    """What ``backup run`` did (or, in a dry run, would do)."""

    outcome: Outcome
    plan: SnapshotPlan | None
    summary: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.outcome.as_dict(),
            "plan": self.plan.details if self.plan else None,
            "snapshot": self.summary or None,
        }


def run_backup(cfg: SiteConfig, config_path: Path | None, *, dry_run: bool) -> RunReport:
    """Take one snapshot (or only plan it). ``RefusedError`` when /backup would pass
    the alert threshold or is not the persistent disk: nothing is written then."""
    job = SnapshotRun(cfg, config_path, datetime.now(timezone.utc))
    resource = BackupSnapshot(job)
    with change_session(cfg, dry_run=dry_run) as session:
        outcome = session.converge([resource])
    return RunReport(outcome, resource.prepared, job.summary)


class SnapshotRun:
    """The ``SnapshotJob`` of one run started at ``started``."""

    def __init__(self, cfg: SiteConfig, config_path: Path | None, started: datetime) -> None:
        self.cfg, self.config_path = cfg, config_path
        self.backup_root = backup_root(cfg)
        self.target = layout.snapshots_dir(self.backup_root)
        self.name = layout.snapshot_name(started)
        self.started = started
        self.partial = self.target / (self.name + layout.PARTIAL)
        self.previous: layout.Snapshot | None = None
        self.resume: layout.Snapshot | None = None
        self.summary: dict[str, Any] = {}

    def sources(self) -> list[str]:
        """``<data_root>/./users`` and each extra source, kept relative by rsync (a
        string: ``pathlib`` would drop the ``.``)."""
        return [f"{self.cfg.storage.data_root}/./{folder}" for folder in self._folders()]

    def touches(self) -> tuple[Path, ...]:
        root = self.cfg.storage.data_root
        return (self.target, *(root / folder for folder in self._folders()))

    def _folders(self) -> list[str]:
        return list(dict.fromkeys([self.cfg.home.users_folder, *self.cfg.backup.sources]))

    def prepare(self) -> SnapshotPlan:
        """Find the snapshot to link against and the partial to resume; estimate the
        run and refuse when the backup disk would pass the alert threshold."""
        for folder in (self.target.parent, self.target):
            layout.check_private_dir(folder)
        self._check_sources()
        snapshots = layout.list_snapshots(self.backup_root)
        # A partial one of the same second is resumed below; anything else is in the way.
        if any(s.name == self.name and not s.path.name.endswith(layout.PARTIAL) for s in snapshots):
            raise RefusedError(
                _("a snapshot named {name} exists already; run again in a second").format(
                    name=self.name
                )
            )
        self.previous = layout.latest_complete(snapshots)
        newer = [s for s in snapshots if s.path.name.endswith(layout.PARTIAL)]
        if self.previous is not None:
            newer = [s for s in newer if s.time > self.previous.time]
        self.resume = newer[-1] if newer else None
        into = self.resume.path if self.resume else self.partial
        link = self.previous.data if self.previous else None
        estimate = rsync.estimate(self.sources(), into / layout.DATA, link)
        need = estimate.new_bytes + BLOCK * estimate.directories + MANIFEST_LINE * estimate.entries
        self._check_room(need)
        return SnapshotPlan(self._sentence(need), self._details(need))

    def _check_sources(self) -> None:
        for folder in self._folders():
            path = self.cfg.storage.data_root / folder
            if not path.is_dir() or path.is_symlink():
                raise InvalidInputError(
                    _("{path}: no such folder to back up; create it or remove it from "
                      "[backup] sources").format(path=path)
                )  # fmt: skip

    def _check_room(self, need: int) -> None:
        """``RefusedError`` when ``need`` more bytes would take /backup to the threshold."""
        usage = root_usage(self.backup_root)
        usable = usage.used + usage.free
        after = 100.0 * (usage.used + need) / usable if usable else 100.0
        threshold = self.cfg.alert.threshold_percent
        if need > usage.free or after >= threshold:
            raise RefusedError(
                _(
                    "{root}: this snapshot needs about {need}, which would fill it to "
                    "{after:.0f}% (alert threshold {threshold}%, {free} free); remove old "
                    "snapshots with 'datakeeper backup prune' or free space, then run again"
                ).format(
                    root=self.backup_root,
                    need=human_size(need),
                    after=min(after, 999.0),
                    threshold=threshold,
                    free=human_size(usage.free),
                )
            )

    def _sentence(self, need: int) -> str:
        sources = ", ".join(str(self.cfg.storage.data_root / f) for f in self._folders())
        sentence = _("take snapshot {name} of {sources} (about {need} new)").format(
            name=self.name, sources=sources, need=human_size(need)
        )
        if self.resume is not None:
            sentence += _(", resuming {partial}").format(partial=self.resume.path.name)
        return sentence

    def _details(self, need: int) -> dict[str, Any]:
        return {
            "name": self.name,
            "path": str(self.target / self.name),
            "sources": [str(self.cfg.storage.data_root / f) for f in self._folders()],
            "estimated_bytes": need,
            "link_dest": self.previous.name if self.previous else None,
            "resumes": self.resume.path.name if self.resume else None,
        }

    def take(self) -> str:
        """Copy, add the config and registry, write and check the manifest, rename."""
        _private_dir(self.target.parent)
        _private_dir(self.target)
        if self.resume is not None:
            os.rename(self.resume.path, self.partial)
        _private_dir(self.partial)
        _private_dir(self.partial / layout.DATA)
        link = self.previous.data if self.previous else None
        niceness = rsync.Niceness(
            self.cfg.backup.nice, self.cfg.backup.ionice_idle, self.cfg.backup.bwlimit_kib
        )
        argv = rsync.snapshot_argv(self.sources(), self.partial / layout.DATA, link, niceness)
        with tracked(_("copying {name}").format(name=self.name), None, "items"):
            whole = rsync.copy(argv)
        totals = self._write_meta()
        self.summary = self._summary(totals, whole)
        _write_private(self.partial / layout.META / layout.SUMMARY, _json(self.summary))
        _sync(self.partial)
        final = self.target / self.name
        os.rename(self.partial, final)
        _sync(self.target)
        return _("snapshot {name}: {files} files, {size} ({added} added)").format(
            name=self.name,
            files=totals.files,
            size=human_size(totals.bytes),
            added=human_size(totals.added_bytes),
        ) + ("" if whole else _("; some files vanished while they were copied"))

    def _write_meta(self) -> Totals:
        meta = self.partial / layout.META
        _private_dir(meta)
        if self.config_path is not None and self.config_path.is_file():
            _write_private(meta / layout.CONFIG_COPY, self.config_path.read_bytes())
        if self.cfg.registry_path.is_file():
            _write_private(meta / layout.REGISTRY_COPY, self.cfg.registry_path.read_bytes())
        previous = None
        if self.previous is not None:
            previous = Previous(self.previous.data, self.previous.meta / layout.MANIFEST)
        manifest = meta / layout.MANIFEST
        with tracked(_("writing the manifest"), None, "items"):
            totals = write_manifest(
                self.partial / layout.DATA,
                manifest,
                users_folder=self.cfg.home.users_folder,
                sample_percent=self.cfg.backup.verify_sample_percent,
                previous=previous,
            )
        check_manifest(manifest, totals)
        return totals

    def _summary(self, totals: Totals, whole: bool) -> dict[str, Any]:
        return {
            "name": self.name,
            "started": self.started.isoformat(),
            "finished": datetime.now(timezone.utc).isoformat(),
            "sources": [str(self.cfg.storage.data_root / f) for f in self._folders()],
            "link_dest": self.previous.name if self.previous else None,
            "vanished_files": not whole,
            **totals.as_dict(),
        }


def _private_dir(path: Path) -> None:
    """A root-only directory (made, or closed again after a resumed run)."""
    path.mkdir(mode=0o700, exist_ok=True)
    os.chmod(path, 0o700, follow_symlinks=False)


def _write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to a 0600 file, replacing any (never through a link)."""
    if os.path.lexists(path):
        os.unlink(path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _json(data: dict[str, Any]) -> bytes:
    return (json.dumps(data, indent=2) + "\n").encode()


def _sync(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
