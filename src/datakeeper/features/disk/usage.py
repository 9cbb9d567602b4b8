"""``datakeeper disk``: how full each storage root is, and who uses the space.

Filesystem figures come from ``statvfs``, instantly, for anyone.
Folder figures come from walking the trees (``disk_scan``): the shared
folders of the config (models, caches, dataset, code), then each home under
the users folder. Root sees every home; anyone else sees the filesystems, the
shared folders and their own home, which needs no sudo because nothing else
is read. Where the filesystem keeps quota accounting, ``repquota`` gives each
user's total on it at once (``use_quota``), instead of walking the homes.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from datakeeper.errors import CommandError, NotRootError
from datakeeper.features.disk.scan import Scan, ScanListener, ScanRequest, scan_trees
from datakeeper.i18n import _
from datakeeper.sizes import human_size
from datakeeper.storage import inspect
from datakeeper.system import accounts, quota

if TYPE_CHECKING:
    from datakeeper.config import SiteConfig

SIZE_NOTE = "allocated bytes (st_blocks * 512), as du --block-size=1 counts them"


@dataclass(frozen=True)
class RootUsage:
    """Size, used and free space of one storage root's filesystem."""

    root: Path
    exists: bool
    total: int = 0
    used: int = 0
    free: int = 0  # available to unprivileged users, like df's "Avail"

    @property
    def percent(self) -> float:
        """Used share of the space users can have, as df's "Use%" computes it (unrounded)."""
        usable = self.used + self.free
        return 100.0 * self.used / usable if usable else 0.0

    def headroom(self) -> str:
        """One sentence for people: free space, total and use."""
        return _("{root}: {free} free of {total} ({percent:.1f}% used)").format(
            root=self.root,
            free=human_size(self.free),
            total=human_size(self.total),
            percent=self.percent,
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "root": str(self.root),
            "exists": self.exists,
            "total_bytes": self.total,
            "used_bytes": self.used,
            "free_bytes": self.free,
            "percent": round(self.percent, 1),
        }


def root_usage(root: Path) -> RootUsage:
    """statvfs of ``root``, as ``df`` (and psutil) reads it; a missing root is reported,
    not an error. (os.statvfs, not psutil: its import cost ~20 ms of each start-up.)"""
    if not os.path.isdir(root):
        return RootUsage(root, False)
    fs = os.statvfs(root)
    total = fs.f_blocks * fs.f_frsize
    used = total - fs.f_bfree * fs.f_frsize  # the blocks root keeps back are not "used"
    return RootUsage(root, True, total, used, fs.f_bavail * fs.f_frsize)


@dataclass
class FolderUsage:
    """One scanned folder (a shared folder, or a user's home)."""

    path: Path
    bytes: int
    entries: int
    user: str | None = None  # whose home it is
    owners: dict[str, int] | None = None  # user -> bytes, with --by-owner
    errors: int = 0

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"path": str(self.path), "bytes": self.bytes}
        data["entries"] = self.entries
        if self.user is not None:
            data["user"] = self.user
        if self.owners is not None:
            data["owners"] = self.owners
        data["errors"] = self.errors
        return data


@dataclass
class QuotaUsage:
    """One user's total on one filesystem, from quota accounting."""

    root: Path
    user: str
    bytes: int
    files: int

    def as_dict(self) -> dict[str, Any]:
        return {"root": str(self.root), "user": self.user, "bytes": self.bytes, "files": self.files}


@dataclass
class DiskReport:
    """Everything ``datakeeper disk`` shows."""

    roots: list[RootUsage]
    shared: list[FolderUsage] = field(default_factory=list)
    homes: list[FolderUsage] = field(default_factory=list)
    quota: list[QuotaUsage] = field(default_factory=list)
    scope: str = "all"  # "all" (root) or "own" (anyone else: their own home only)
    source: str = "scan"  # where per-user totals come from: "scan" or "quota"
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    skipped_mounts: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "roots": [r.as_dict() for r in self.roots],
            "sizes": SIZE_NOTE,
            "scope": self.scope,
            "source": self.source,
            "shared": [f.as_dict() for f in self.shared],
            "homes": [f.as_dict() for f in self.homes],
            "quota": [q.as_dict() for q in self.quota],
            "errors": self.errors,
            "error_samples": self.error_samples,
            "skipped_mounts": self.skipped_mounts,
            "notes": self.notes,
        }


def shared_folders(cfg: SiteConfig) -> list[ScanRequest]:
    """The shared folders (owner "admin" in the config), nested ones as marks of their top."""
    root = cfg.storage.data_root
    paths = [root / f.path for f in cfg.folders_parents_first() if f.owner == "admin"]
    tops = [p for p in paths if not any(other in p.parents for other in paths)]
    return [ScanRequest(top, tuple(p for p in paths if top in p.parents)) for top in tops]


def homes_to_scan(cfg: SiteConfig, uid: int) -> list[tuple[str, Path]]:
    """(user, folder) of every home under the users folder for root; one's own otherwise."""
    if uid == 0:
        return [(_owner_name(path), path) for path in _home_folders(cfg.users_dir)]
    me = accounts.user_by_uid(uid)
    if me is None:
        return []
    for candidate in (cfg.users_dir / me.name, Path(os.path.realpath(me.home))):
        if _owned_dir(candidate, uid) and _under_any(candidate, cfg.storage_roots):
            return [(me.name, candidate)]
    return []


def _owned_dir(path: Path, uid: int) -> bool:
    try:
        info = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISDIR(info.st_mode) and info.st_uid == uid


def disk_report(
    cfg: SiteConfig,
    *,
    by_owner: bool = False,
    use_quota: bool = False,
    jobs: int | None = None,
    listener: ScanListener | None = None,
) -> DiskReport:
    """Measure the storage roots, the shared folders and the homes the caller may see."""
    uid = os.geteuid()
    if use_quota and uid != 0:
        raise NotRootError(_("disk --quota needs root (quota figures of other users)"))
    report = DiskReport(
        [root_usage(r) for r in cfg.storage_roots], scope="all" if uid == 0 else "own"
    )
    _note_not_persistent(report)
    if use_quota:
        _fill_quota(report, cfg)
    requests = [
        ScanRequest(r.top, r.marks, by_owner) for r in shared_folders(cfg) if r.top.exists()
    ]
    homes = [] if report.source == "quota" else homes_to_scan(cfg, uid)
    requests += [ScanRequest(path) for _user, path in homes]
    scans = scan_trees(requests, jobs=jobs, listener=listener)
    _fill_shared(report, scans[: len(requests) - len(homes)], by_owner)
    _fill_homes(report, homes, scans[len(requests) - len(homes) :])
    if uid != 0 and not homes:
        report.notes.append(_("Your home is not on persistent storage, so it is not listed."))
    return report


def _note_not_persistent(report: DiskReport) -> None:
    for root in report.roots:
        if root.exists and not inspect(root.root).persistent:
            report.notes.append(
                _(
                    "{root} is not the persistent disk (not mounted?): these figures are of the "
                    "system disk, which is wiped at reboot; run 'datakeeper storage status'."
                ).format(root=root.root)
            )


def _fill_shared(report: DiskReport, scans: list[Scan], by_owner: bool) -> None:
    for scan in scans:
        _note_problems(report, scan)
        for path, usage in scan.usage.items():
            owners = _named(usage.owners) if by_owner else None
            errors = scan.errors if path == scan.top else 0  # counted per tree, shown at its top
            report.shared.append(
                FolderUsage(path, usage.bytes, usage.entries, None, owners, errors)
            )
    report.shared.sort(key=lambda f: f.bytes, reverse=True)


def _fill_homes(report: DiskReport, homes: list[tuple[str, Path]], scans: list[Scan]) -> None:
    for (user, path), scan in zip(homes, scans, strict=True):
        _note_problems(report, scan)
        total = scan.total
        report.homes.append(FolderUsage(path, total.bytes, total.entries, user, None, scan.errors))
    report.homes.sort(key=lambda f: f.bytes, reverse=True)


def _note_problems(report: DiskReport, scan: Scan) -> None:
    report.errors += scan.errors
    room = 5 - len(report.error_samples)
    report.error_samples += scan.error_samples[: max(room, 0)]
    report.skipped_mounts += scan.skipped_mounts


def _fill_quota(report: DiskReport, cfg: SiteConfig) -> None:
    """Per-user totals from repquota, root by root; scan the homes when none has quota."""
    for root in cfg.storage_roots:
        if not root.is_dir():
            continue
        try:
            rows = quota.user_usage(root)
        except CommandError as error:
            report.notes.append(
                _("No quota figures for {root}: {why}").format(root=root, why=error)
            )
            continue
        for row in rows:
            report.quota.append(QuotaUsage(root, _user_name(row.uid), row.bytes, row.files))
    if report.quota:
        report.source = "quota"
        report.quota.sort(key=lambda q: q.bytes, reverse=True)
        report.notes.append(
            _("Quota figures count every file a user owns on the filesystem, not only the home.")
        )
    else:
        report.notes.append(_("No filesystem keeps quota accounting; the homes were scanned."))


def _home_folders(users_dir: Path) -> list[Path]:
    """Real directories directly under the users folder (symlinks are not homes)."""
    try:
        entries = list(os.scandir(users_dir))
    except OSError:
        return []
    return sorted(Path(e.path) for e in entries if e.is_dir(follow_symlinks=False))


def _owner_name(path: Path) -> str:
    try:
        return _user_name(os.lstat(path).st_uid)
    except OSError:
        return path.name


def _user_name(uid: int) -> str:
    found = accounts.user_by_uid(uid)
    return found.name if found else str(uid)


def _named(owners: dict[int, int]) -> dict[str, int]:
    named = {_user_name(uid): size for uid, size in owners.items()}
    return dict(sorted(named.items(), key=lambda item: item[1], reverse=True))


def _under_any(path: Path, roots: list[Path]) -> bool:
    real = Path(os.path.realpath(path))
    return any(real == r or r in real.parents for r in roots)
