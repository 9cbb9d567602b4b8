"""Whether a snapshot fits on the backup disk below the alert threshold.

rsync's own estimate (``--dry-run --stats``) walks the sources and the
previous snapshot like the copy does: on a large tree it costs a third of an
unchanged snapshot. A run therefore takes a cheap upper bound first, from the
counters each filesystem keeps (statvfs): every block and inode in use on each
filesystem the sources live on (mounts below them included), as if the copy
shared nothing with the previous snapshot. When even that leaves the backup
disk below the threshold, no estimate is needed; otherwise rsync estimates
exactly and the refusal is decided on its figure, as without the bound.

The bound counts blocks in use, so it is skipped where that can be less than
what the copy writes: a filesystem that keeps no inode counts or that
compresses. (A sparse file is copied at its full size; like any estimate made
before the copy, the bound does not foresee that.)
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

from datakeeper.errors import RefusedError
from datakeeper.features.disk.usage import RootUsage
from datakeeper.i18n import _
from datakeeper.sizes import human_size
from datakeeper.system import rsync

BLOCK = 4096  # what each copied directory costs on the backup disk
MANIFEST_LINE = 200  # bytes per file in the manifest, for the estimate
# Filesystems whose counters can be below the bytes of their files: compressing
# ones, and an overlay (its lower layers are not counted).
UNBOUNDED = frozenset({"btrfs", "zfs", "bcachefs", "squashfs", "f2fs", "overlay", "fuse"})


@dataclass(frozen=True)
class Need:
    """Bytes a snapshot needs on the backup disk; ``exact`` when rsync estimated
    them, not when they are the filesystems' upper bound."""

    bytes: int
    exact: bool


def estimate_need(sources: Sequence[str], into: Path, link: Path | None) -> Need:
    """rsync's estimate of what the copy adds, with a block per directory and a
    manifest line per entry."""
    found = rsync.estimate(sources, into, link)
    total = found.new_bytes + BLOCK * found.directories + MANIFEST_LINE * found.entries
    return Need(total, exact=True)


def upper_bound(folders: Iterable[Path]) -> Need | None:
    """At most what copying ``folders`` can add: the used blocks of each filesystem
    they are on or hold, and a directory block and a manifest line per used inode
    (a file's hard-linked names share an inode; its block pays for 20 more lines).
    None when a filesystem cannot give such a bound."""
    mounts = _mounts()
    total, seen = 0, set()
    for folder in folders:
        for point in _filesystems(Path(folder), mounts):
            unbounded = point.fstype in UNBOUNDED or point.fstype.startswith("fuse")
            found = None if unbounded else _in_use(point.path)
            if found is None:
                return None
            device, used, inodes = found
            if device not in seen:
                seen.add(device)
                total += used + (BLOCK + MANIFEST_LINE) * inodes
    return Need(total, exact=False)


def _in_use(path: str) -> tuple[int, int, int] | None:
    """(device, bytes, inodes) in use on ``path``'s filesystem; None when it keeps
    no inode count (btrfs, some network filesystems) or cannot be read."""
    try:
        info = os.statvfs(path)
        device = os.stat(path).st_dev
    except OSError:
        return None
    if info.f_files == 0:
        return None
    return device, (info.f_blocks - info.f_bfree) * info.f_frsize, info.f_files - info.f_ffree


@dataclass(frozen=True)
class _Mount:
    path: str
    fstype: str


def _mounts() -> list[_Mount]:
    """Every mount (getmntent, under psutil, decodes a space written ``\\040``)."""
    return [_Mount(p.mountpoint, p.fstype) for p in psutil.disk_partitions(all=True)]


def _filesystems(folder: Path, mounts: list[_Mount]) -> list[_Mount]:
    """The filesystem ``folder`` is on, and every one mounted below it (rsync -a
    crosses into them)."""
    real = os.path.realpath(folder)
    below = [m for m in mounts if m.path.startswith(real.rstrip("/") + "/")]
    holding = [m for m in mounts if real == m.path or real.startswith(m.path.rstrip("/") + "/")]
    own = max(holding, key=lambda m: len(m.path), default=_Mount(real, ""))
    return [_Mount(real, own.fstype), *below]


def needed(
    usage: RootUsage, threshold: int, bound: Need | None, estimate: Callable[[], Need]
) -> Need:
    """``bound`` when even it leaves the backup disk below ``threshold`` percent;
    otherwise rsync's ``estimate()``, and ``RefusedError`` when that does not."""
    if bound is not None and fits(usage, bound.bytes, threshold):
        return bound
    need = estimate()
    if not fits(usage, need.bytes, threshold):
        raise refusal(usage, need.bytes, threshold)
    return need


def fits(usage: RootUsage, need: int, threshold: int) -> bool:
    """Whether ``need`` more bytes leave ``usage``'s disk below ``threshold`` percent."""
    return need <= usage.free and _after(usage, need) < threshold


def _after(usage: RootUsage, need: int) -> float:
    usable = usage.used + usage.free
    return 100.0 * (usage.used + need) / usable if usable else 100.0


def refusal(usage: RootUsage, need: int, threshold: int) -> RefusedError:
    """The refusal of a run that needs ``need`` bytes (see ``fits``)."""
    return RefusedError(
        _(
            "{root}: this snapshot needs about {need}, which would fill it to "
            "{after:.0f}% (alert threshold {threshold}%, {free} free); remove old "
            "snapshots with 'datakeeper backup prune' or free space, then run again"
        ).format(
            root=usage.root,
            need=human_size(need),
            after=min(_after(usage, need), 999.0),
            threshold=threshold,
            free=human_size(usage.free),
        )
    )
