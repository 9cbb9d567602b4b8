"""``datakeeper backup run``: one snapshot of the data disk on the backup disk.

The run is one ``BackupSnapshot`` change in a change session (storage guard on
both roots, the admin lock, one action-log record; ``--dry-run`` shows rsync's
estimate, a real run asks rsync only when a cheap bound says the snapshot might
not fit: see ``room``). It copies into ``<name>.partial`` with rsync, linked
against the newest complete snapshot, adds root-only copies of the site config
and the registry, writes the manifest, reads it back, syncs the backup disk, and
only then renames the folder to its final name: an interrupted run never becomes
"latest", and neither does one whose files a power cut would lose. During the
copy a child process syncs the backup disk every second (``flushing``), so
little is left to write by then.

An interrupted run is *resumed*: the next run renames the newest partial
snapshot (newer than the newest complete one) to its own name and lets rsync
finish it (``--delete`` drops what was deleted meanwhile; rsync never writes
into a file in place, so files linked to older snapshots stay untouched).
Older partial snapshots are left to ``backup prune``.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from datakeeper.engine.session import change_session
from datakeeper.errors import InvalidInputError
from datakeeper.features.backup import layout, room
from datakeeper.features.backup.listing import backup_root
from datakeeper.features.backup.writer import Previous, Totals, check_manifest, write_manifest
from datakeeper.features.disk.usage import root_usage
from datakeeper.i18n import _, ngettext
from datakeeper.progress import tracked
from datakeeper.resources.backup_snapshot import BackupSnapshot, SnapshotPlan
from datakeeper.sizes import human_size
from datakeeper.system import rsync, rsync_hashes
from datakeeper.system.fs import flushing, fsync_directory, sync_filesystem

if TYPE_CHECKING:
    from datakeeper.config import SiteConfig
    from datakeeper.engine import Outcome


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
    job = SnapshotRun(cfg, config_path, datetime.now(timezone.utc), exact=dry_run)
    resource = BackupSnapshot(job)
    with change_session(cfg, dry_run=dry_run) as session:
        outcome = session.converge([resource])
    return RunReport(outcome, resource.prepared, job.summary)


class SnapshotRun:
    """The ``SnapshotJob`` of one run started at ``started``; ``exact``: always ask
    rsync for the estimate (a dry run shows it), never settle for the bound."""

    def __init__(
        self, cfg: SiteConfig, config_path: Path | None, started: datetime, *, exact: bool = True
    ) -> None:
        self.cfg, self.config_path, self.exact = cfg, config_path, exact
        self.backup_root = backup_root(cfg)
        self.target = layout.snapshots_dir(self.backup_root)
        self.name = layout.snapshot_name(started)
        self.started = started
        self.partial = self.target / (self.name + layout.PARTIAL)
        self.previous: layout.Snapshot | None = None
        self.resume: layout.Snapshot | None = None
        self.summary: dict[str, Any] = {}

    def _move_to_next_second(self) -> None:
        """Wait until the clock passes into the next second and take its name."""
        following = self.started.replace(microsecond=0) + timedelta(seconds=1)
        time.sleep(max(0.0, (following - datetime.now(timezone.utc)).total_seconds()))
        self.started = max(following, datetime.now(timezone.utc))
        self.name = layout.snapshot_name(self.started)
        self.partial = self.target / (self.name + layout.PARTIAL)

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
        # A partial one of the same second is resumed below; a finished one of the same
        # second (a run right after another) is not overwritten: this one waits for the
        # next second, since names are UTC seconds. It holds the admin lock, so no other
        # run can take that name meanwhile.
        if any(s.name == self.name and not s.path.name.endswith(layout.PARTIAL) for s in snapshots):
            self._move_to_next_second()
        self.previous = layout.latest_complete(snapshots)
        newer = [s for s in snapshots if s.path.name.endswith(layout.PARTIAL)]
        if self.previous is not None:
            newer = [s for s in newer if s.time > self.previous.time]
        self.resume = newer[-1] if newer else None
        need = self._need()
        return SnapshotPlan(self._sentence(need), self._details(need))

    def _check_sources(self) -> None:
        for folder in self._folders():
            path = self.cfg.storage.data_root / folder
            if not path.is_dir() or path.is_symlink():
                raise InvalidInputError(
                    _("{path}: no such folder to back up; create it or remove it from "
                      "[backup] sources").format(path=path)
                )  # fmt: skip

    def _need(self) -> room.Need:
        """What the snapshot needs on /backup (see ``room.needed``); ``RefusedError``
        when that would take it to the alert threshold."""
        usage = root_usage(self.backup_root)
        bound = None
        if not self.exact:
            bound = room.upper_bound(self.cfg.storage.data_root / f for f in self._folders())
        into = self.resume.path if self.resume else self.partial
        link = self.previous.data if self.previous else None
        estimate = partial(room.estimate_need, self.sources(), into / layout.DATA, link)
        return room.needed(usage, self.cfg.alert.threshold_percent, bound, estimate)

    def _sentence(self, need: room.Need) -> str:
        sources = ", ".join(str(self.cfg.storage.data_root / f) for f in self._folders())
        if need.exact:
            sentence = _("take snapshot {name} of {sources} (about {need} new)")
        else:
            sentence = _("take snapshot {name} of {sources} (at most {need} new)")
        sentence = sentence.format(name=self.name, sources=sources, need=human_size(need.bytes))
        if self.resume is not None:
            sentence += _(", resuming {partial}").format(partial=self.resume.path.name)
        return sentence

    def _details(self, need: room.Need) -> dict[str, Any]:
        return {
            "name": self.name,
            "path": str(self.target / self.name),
            "sources": [str(self.cfg.storage.data_root / f) for f in self._folders()],
            "estimated_bytes": need.bytes,
            "estimate_exact": need.exact,
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
        data = self.partial / layout.DATA
        flags = rsync.RESUME_FLAGS if _holds_anything(data) else rsync.BASE_FLAGS
        hashing = rsync_hashes.OPTIONS if rsync.has_xxh128() else ()
        argv = rsync.snapshot_argv(self.sources(), data, link, niceness, hashing, flags)
        # rsync's output (a hash per file it transferred) goes to a nameless file on
        # /backup (O_TMPFILE), gone once closed, even after a kill. During the copy
        # rsync's files head for the disk as they are written (``flushing``).
        with tempfile.TemporaryFile(dir=self.partial) as output, flushing(self.partial):
            with tracked(_("copying {name}").format(name=self.name), None, "items"):
                whole = rsync.copy(argv, output=output.fileno())
            # Only a copy that ended cleanly vouches for every hash it printed (see
            # system.rsync_hashes); otherwise the manifest reads every new file.
            usable = hashing and whole
            totals = self._write_meta(
                rsync_hashes.TransferHashes(output.fileno()) if usable else None
            )
        self.summary = self._summary(totals, whole)
        _write_private(self.partial / layout.META / layout.SUMMARY, _json(self.summary))
        # Everything rsync and this run wrote reaches the disk before the name says the
        # snapshot is complete: a power cut after the rename must not leave a "latest"
        # snapshot whose files were still only in memory.
        with tracked(_("writing {name} to the disk").format(name=self.name), None, "items"):
            sync_filesystem(self.partial)
        final = self.target / self.name
        os.rename(self.partial, final)
        fsync_directory(self.target)
        return ngettext(
            "snapshot {name}: {files} file, {size} ({added} added)",
            "snapshot {name}: {files} files, {size} ({added} added)",
            totals.files,
        ).format(
            name=self.name,
            files=totals.files,
            size=human_size(totals.bytes),
            added=human_size(totals.added_bytes),
        ) + ("" if whole else _("; some files vanished while they were copied"))

    def _write_meta(self, transferred: rsync_hashes.TransferHashes | None) -> Totals:
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
                transferred=transferred,
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


def _holds_anything(folder: Path) -> bool:
    with os.scandir(folder) as listing:
        return next(listing, None) is not None


def _write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to a 0600 file, replacing any (never through a link); synced
    with the whole snapshot before its rename."""
    if os.path.lexists(path):
        os.unlink(path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def _json(data: dict[str, Any]) -> bytes:
    return (json.dumps(data, indent=2) + "\n").encode()
