"""Idle GPU holders: processes that keep GPU memory while their GPU does nothing.

The usual forgotten notebook. Utilisation is NVML's figure for the whole GPU,
so a holder counts as idle while it holds memory on a GPU at 0 %. Each look at
the GPUs (``datakeeper gpu``, the alert) adds a sample to a small rolling file
in ``/run`` (a reboot clears it, as it clears every process): at most one
sample a minute, one day of them. A holder has been idle since the oldest
sample of the unbroken run of samples, up to now, in which it held memory on
its GPU at 0 %.

Where the samples live is chosen so that nobody can feed root a file: root
keeps them in ``/run/datakeeper`` (a folder only root can write); anyone else
in their own ``$XDG_RUNTIME_DIR`` when that is a private folder of theirs, and
otherwise keeps none (``--idle`` then sees only the present).
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from datakeeper.features.gpu.snapshot import GpuProcess, GpuSnapshot
from datakeeper.i18n import _, ngettext
from datakeeper.system.fs import atomic_write
from datakeeper.system.saferead import read_capped

ROOT_SAMPLES = Path("/run/datakeeper/gpu-samples.json")
USER_SAMPLES_NAME = "datakeeper-gpu-samples.json"
MIN_INTERVAL_SECONDS = 60  # --watch every 2 s must not fill the file
KEEP_SECONDS = 24 * 3600
MAX_SAMPLES = KEEP_SECONDS // MIN_INTERVAL_SECONDS
SIZE_LIMIT = 4 * 1024 * 1024


@dataclass(frozen=True)
class Sample:
    """One look: when, each GPU's utilisation, and who held memory where."""

    taken_at: float
    utilization: dict[int, int | None]
    holders: frozenset[tuple[int, int]]  # (pid, gpu)

    @classmethod
    def of(cls, snapshot: GpuSnapshot) -> Sample:
        holders = {(p.pid, p.gpu) for p in snapshot.processes if _holds(p)}
        utilization = {g.index: g.utilization for g in snapshot.gpus}
        return cls(snapshot.taken_at, utilization, frozenset(holders))

    def idle(self, pid: int, gpu: int) -> bool:
        """``pid`` held memory on ``gpu`` while the GPU was at 0 %."""
        return (pid, gpu) in self.holders and self.utilization.get(gpu) == 0

    def as_json(self) -> dict[str, Any]:
        return {
            "t": self.taken_at,
            "util": {str(k): v for k, v in self.utilization.items()},
            "holders": sorted([pid, gpu] for pid, gpu in self.holders),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Sample:
        """Raises ``ValueError``/``TypeError``/``KeyError`` on anything malformed."""
        util = {int(k): None if v is None else int(v) for k, v in data["util"].items()}
        holders = frozenset((int(pid), int(gpu)) for pid, gpu in data["holders"])
        return cls(float(data["t"]), util, holders)


def _holds(process: GpuProcess) -> bool:
    """Memory held: NVML's figure above zero, or unknown (a context always holds some)."""
    return process.used_memory is None or process.used_memory > 0


@dataclass(frozen=True)
class SampleStore:
    """The rolling sample file; ``load`` gives [] for a missing or unreadable file."""

    path: Path

    def load(self) -> list[Sample]:
        try:
            data = json.loads(read_capped(self.path, SIZE_LIMIT))
            return [Sample.from_json(item) for item in data["samples"]]
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            return []  # absent, or not ours to trust: start afresh

    def save(self, samples: list[Sample]) -> None:
        text = json.dumps({"samples": [s.as_json() for s in samples]}, separators=(",", ":"))
        atomic_write(self.path, text.encode(), mode=0o600)


def default_store(
    *, euid: int | None = None, environ: dict[str, str] | None = None, root_path=None
) -> SampleStore | None:
    """Root's file in /run/datakeeper, a member's in their private runtime folder, or
    None (no safe place: keep no samples)."""
    euid = os.geteuid() if euid is None else euid
    if euid == 0:
        root_path = ROOT_SAMPLES if root_path is None else root_path
        return SampleStore(root_path) if _private_folder(root_path.parent, 0, create=True) else None
    runtime = (os.environ if environ is None else environ).get("XDG_RUNTIME_DIR", "")
    if runtime and os.path.isabs(runtime) and _private_folder(Path(runtime), euid):
        return SampleStore(Path(runtime) / USER_SAMPLES_NAME)
    return None


def _private_folder(folder: Path, uid: int, *, create: bool = False) -> bool:
    """``folder`` is a real folder of ``uid`` that no one else can write (created if asked)."""
    if create:
        try:
            folder.mkdir(mode=0o755, exist_ok=True)
        except OSError:
            return False
    try:
        info = folder.lstat()
    except OSError:
        return False
    writable_by_others = info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    return stat.S_ISDIR(info.st_mode) and info.st_uid == uid and not writable_by_others


def record(store: SampleStore | None, snapshot: GpuSnapshot, *, keep: bool = True) -> list[Sample]:
    """The samples so far plus this snapshot (oldest first); kept in ``store`` when one
    is given, ``keep`` is true (a dry run only reads) and the last kept sample is a
    minute old or more."""
    current = Sample.of(snapshot)
    kept = [] if store is None else store.load()
    kept = [s for s in kept if current.taken_at - KEEP_SECONDS <= s.taken_at < current.taken_at]
    if (
        keep
        and store is not None
        and (not kept or current.taken_at - kept[-1].taken_at >= MIN_INTERVAL_SECONDS)
    ):
        with contextlib.suppress(OSError):  # the view still works without history
            store.save([*kept, current][-MAX_SAMPLES:])
    return [*kept, current]


@dataclass(frozen=True)
class IdleHolder:
    """A process holding memory on an idle GPU since ``since``."""

    process: GpuProcess
    since: float
    minutes: float

    def as_dict(self) -> dict[str, Any]:
        return {**self.process.as_dict(), "idle_since": self.since, "idle_minutes": self.minutes}


@dataclass
class IdleReport:
    """The holders idle for ``threshold`` minutes or more, and how far the samples go back."""

    threshold: int
    holders: list[IdleHolder] = field(default_factory=list)
    samples: int = 0
    history_minutes: float = 0.0
    kept: bool = True  # False: no safe place for samples, only the present was seen

    def as_dict(self) -> dict[str, Any]:
        return {
            "threshold_minutes": self.threshold,
            "idle": [h.as_dict() for h in self.holders],
            "samples": self.samples,
            "history_minutes": round(self.history_minutes, 1),
            "samples_kept": self.kept,
        }

    def note(self) -> str | None:
        """Why the report may miss holders, for people."""
        if not self.kept:
            return _(
                "no private runtime folder ($XDG_RUNTIME_DIR) to keep samples in: only "
                "the present is seen, so no process can count as idle yet"
            )
        if self.history_minutes < self.threshold:
            return _(
                "the samples go back {have} only: a holder is reported once it has been "
                "seen idle for {want}"
            ).format(have=_minutes(self.history_minutes), want=_minutes(self.threshold))
        return None


def _minutes(value: float) -> str:
    """``1 minute``, ``30 minutes``: whole minutes, as the sentences show them."""
    count = round(value)
    return ngettext("{n} minute", "{n} minutes", count).format(n=count)


def idle_holders(samples: list[Sample], snapshot: GpuSnapshot, threshold: int) -> IdleReport:
    """Every process of ``snapshot`` seen idle, in every sample up to now, for at least
    ``threshold`` minutes (``samples`` oldest first, the last one being ``snapshot``)."""
    now = snapshot.taken_at
    report = IdleReport(threshold, samples=len(samples))
    report.history_minutes = (now - samples[0].taken_at) / 60 if samples else 0.0
    for process in snapshot.processes:
        since = _idle_since(samples, process.pid, process.gpu)
        if since is not None and (now - since) / 60 >= threshold:
            report.holders.append(IdleHolder(process, since, round((now - since) / 60, 1)))
    report.holders.sort(key=lambda h: h.since)
    return report


def _idle_since(samples: list[Sample], pid: int, gpu: int) -> float | None:
    since = None
    for sample in reversed(samples):
        if not sample.idle(pid, gpu):
            break
        since = sample.taken_at
    return since


def find_idle(
    snapshot: GpuSnapshot, threshold: int, store: SampleStore | None, *, keep: bool = True
) -> IdleReport:
    """Record this snapshot in ``store`` (unless not ``keep``) and report the holders idle
    ``threshold`` minutes or more."""
    report = idle_holders(record(store, snapshot, keep=keep), snapshot, threshold)
    report.kept = store is not None
    return report
