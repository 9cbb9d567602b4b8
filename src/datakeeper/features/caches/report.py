"""What a cache cleanup planned and did, per cache, read from the executor's outcome.

Shared by ``cache clean`` and the menu's cache screen, so both say the same
thing: the plan (entries and bytes a scan found, the first few names, notes)
and how each cache ended (a ``datakeeper.status.CleanupStatus``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from datakeeper.engine import Change, Outcome
from datakeeper.errors import ExitCode, LockBusyError, RefusedError
from datakeeper.features.caches.kinds import CacheLocation
from datakeeper.resources.cache_cleanup import CacheCleanup, CacheScan
from datakeeper.sizes import human_size
from datakeeper.status import CleanupStatus

if TYPE_CHECKING:
    from datakeeper.config import SiteConfig


@dataclass
class KindReport:
    """One cache in a cleanup: where, how (its resource), the change planned or
    applied, and, after a real run, how it ended."""

    location: CacheLocation
    resource: CacheCleanup
    notes: list[str] = field(default_factory=list)  # about the request (an age ignored)
    change: Change | None = None
    problem: str = ""  # why it could not even be planned (its root is a link, no tool)
    status: CleanupStatus | None = None  # None in a dry run
    message: str = ""

    @property
    def scan(self) -> CacheScan:
        """What the plan found."""
        return self.resource.scan

    @property
    def removed(self) -> int:
        return self.resource.cleaned.removed if self.resource.cleaned else 0

    @property
    def freed(self) -> int:
        return self.resource.cleaned.freed if self.resource.cleaned else 0

    def settle(self, outcome: Outcome) -> None:
        """Read this cache's change, failure and status from the executor's outcome."""
        mine = self.resource.id
        changes = outcome.planned if outcome.dry_run else outcome.applied
        self.change = next((c for c in changes if c.resource == mine), None)
        error = next((e for r, e in outcome.failed if r == mine), None)
        planned = any(c.resource == mine for c in outcome.planned)
        if error is not None and not planned:
            self.problem = str(error)
        if outcome.dry_run:
            return
        if error is not None:
            self.status, self.message = _status_of(error), str(error)
        else:
            done = self.change is not None
            self.status = CleanupStatus.DONE if done else CleanupStatus.NOTHING

    def outcome_text(self) -> str:
        """``removed 12 entries, freed 3.0 GiB`` and the like, for people."""
        status = self.status or CleanupStatus.NOTHING
        return status.sentence(
            removed=self.removed, freed=human_size(self.freed), message=self.message
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON-able: the cache, the method, the plan and, after a real run, the outcome."""
        found: dict[str, Any] = {
            "kind": self.location.kind,
            "label": self.location.label,
            "path": str(self.location.path),
            "shared": self.location.shared,
            "method": self.resource.method.name,
            "older_than_days": self.resource.age_days,
            "planned_files": self.scan.files,
            "planned_bytes": self.scan.size,
            "sample": self.scan.sample,
            "notes": [*self.scan.notes, *self.notes],
            "problem": self.problem,
            "change": self.change.summary if self.change else None,
        }
        if self.status is not None:
            found.update(status=self.status, removed=self.removed, freed_bytes=self.freed)
            found.update(message=self.message, result=self.change.result if self.change else None)
        return found


@dataclass
class CleanRun:
    """A cleanup planned (``dry_run``) or done, cache by cache."""

    cfg: SiteConfig
    dry_run: bool
    kinds: list[KindReport]

    @property
    def frees(self) -> bool:
        """True when some cache has something to remove."""
        return any(kind.scan.files for kind in self.kinds)

    def exit_code(self) -> ExitCode:
        """OK when every cache is clean; BUSY when the only trouble was a held lock; else
        FAILURE."""
        troubles = {k.status for k in self.kinds if k.status is not None and not k.status.ok}
        if not troubles:
            return ExitCode.OK
        return ExitCode.BUSY if troubles == {CleanupStatus.BUSY} else ExitCode.FAILURE

    def as_dict(self) -> dict[str, Any]:
        return {"dry_run": self.dry_run, "caches": [kind.as_dict() for kind in self.kinds]}


def _status_of(error: Exception) -> CleanupStatus:
    if isinstance(error, LockBusyError):
        return CleanupStatus.BUSY
    return CleanupStatus.REFUSED if isinstance(error, RefusedError) else CleanupStatus.FAILED
