"""One snapshot of the data disk taken on the backup disk, as one bulk change.

How the snapshot is estimated and copied is up to a ``SnapshotJob``
(``features/backup/run.py``); this resource only makes the estimate a plan
(a dry run shows it, a refusal raises before anything is written) and the
copy its change, so the change session gives it the storage guard, the lock
and one action-log record.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from datakeeper.engine.change import Change, Result
from datakeeper.engine.resource import Resource


@dataclass(frozen=True)
class SnapshotPlan:
    """What a run would do: one sentence, and the figures behind it for ``--json``."""

    sentence: str
    details: dict[str, Any] = field(default_factory=dict)


class SnapshotJob(Protocol):
    """Estimates and takes one snapshot."""

    target: Path

    def touches(self) -> tuple[Path, ...]:
        """The storage the run reads and writes (both roots pass the guard)."""

    def prepare(self) -> SnapshotPlan:
        """What the run would do; reads only. ``RefusedError`` when it must not run."""

    def take(self) -> str:
        """Take the snapshot; what it holds, in one sentence."""


class BackupSnapshot(Resource):
    """A new snapshot under ``job.target``; ``prepared`` is what the last plan found."""

    def __init__(self, job: SnapshotJob) -> None:
        self.job = job
        self.prepared: SnapshotPlan | None = None

    @property
    def id(self) -> str:
        return f"backup snapshot {self.job.target}"

    def touches(self) -> tuple[Path, ...]:
        return self.job.touches()

    def plan(self) -> list[Change]:
        self.prepared = self.job.prepare()
        return [Change(self.id, self.prepared.sentence, self._take, after=self.prepared.details)]

    def _take(self) -> Result:
        return Result(self.job.take())
