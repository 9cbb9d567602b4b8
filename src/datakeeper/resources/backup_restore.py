"""A file or folder copied back from a snapshot, as one change.

How the source is found and the copy made is up to a ``RestoreJob``
(``features/backup/restore.py``); this resource makes its check a plan (a dry
run shows it, a refusal raises before anything is written) and its copy the
change, so the change session gives it the storage guard, the lock and one
action-log record.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from datakeeper.engine.change import Change, Result
from datakeeper.engine.resource import Resource


class RestoreJob(Protocol):
    """Finds what to restore and where, then copies it."""

    destination: Path

    def touches(self) -> tuple[Path, ...]:
        """The snapshot folder and where the copy lands (both pass the guard)."""

    def prepare(self) -> tuple[str, dict[str, Any]]:
        """What the restore would do (a sentence, the figures); reads only."""

    def take(self) -> str:
        """Copy it back; what was done, in one sentence."""


class BackupRestore(Resource):
    """``job.destination`` holds a copy from a snapshot."""

    def __init__(self, job: RestoreJob) -> None:
        self.job = job
        self.details: dict[str, Any] = {}

    @property
    def id(self) -> str:
        return f"backup restore {self.job.destination}"

    def touches(self) -> tuple[Path, ...]:
        return self.job.touches()

    def plan(self) -> list[Change]:
        sentence, self.details = self.job.prepare()
        return [Change(self.id, sentence, self._take, after=self.details)]

    def _take(self) -> Result:
        return Result(self.job.take())
