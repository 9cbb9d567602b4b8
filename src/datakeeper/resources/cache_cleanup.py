"""One cache cleaned as one bulk change: its plan is a count plus samples.

How a cache is scanned and cleaned (in-process, ``conda clean``, through the
sudo helper, by the user's own tool) is up to a ``CacheMethod``; this
resource only makes the scan a plan and the cleanup its change. The scan reads
only; the change removes what is unused at that moment, under the cache's own
lock, and its result says what was actually removed and freed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from datakeeper.engine.change import Change, Result
from datakeeper.engine.resource import Resource
from datakeeper.errors import ActionFailedError
from datakeeper.i18n import _, ngettext
from datakeeper.progress import tracked
from datakeeper.sizes import human_size

SAMPLE = 20  # entries a scan names; the rest are counted


@dataclass
class CacheScan:
    """What a cleanup would remove now: counts, the first few names, and notes."""

    files: int = 0
    size: int = 0
    sample: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Cleaned:
    """What a cleanup removed and freed, and what it could not remove (with why)."""

    removed: int = 0
    freed: int = 0
    failures: tuple[str, ...] = ()


class CacheMethod(Protocol):
    """How one cache is scanned and cleaned (``name`` is shown to people)."""

    name: str

    def scan(self) -> CacheScan:
        """What would be removed; changes nothing. ``RefusedError`` when the cache
        cannot be cleaned here at all (its root is a link, no tool, not allowed)."""

    def clean(self) -> Cleaned:
        """Remove it. ``LockBusyError`` when another cleanup of it is running."""


class CacheCleanup(Resource):
    """The cache of ``kind`` at ``path`` without what ``method`` finds removable.

    ``scan`` is what the last plan found, ``cleaned`` what the change did (None
    until it ran). ``age_days`` only words the sentence: the method applies it.
    """

    def __init__(
        self, kind: str, path: Path, method: CacheMethod, age_days: int | None, *, shared: bool
    ) -> None:
        self.kind, self.path, self.method = kind, path, method
        self.age_days, self.shared = age_days, shared
        self.scan = CacheScan()
        self.cleaned: Cleaned | None = None

    @property
    def id(self) -> str:
        return f"cache {self.kind} {self.path}"

    def touches(self) -> tuple[Path, ...]:
        """A shared cache is on the data disk; a personal one is its tool's business."""
        return (self.path,) if self.shared else ()

    def plan(self) -> list[Change]:
        self.scan, self.cleaned = CacheScan(), None
        self.scan = self.method.scan()
        if not self.scan.files:
            return []
        before = {"entries": self.scan.files, "bytes": self.scan.size, "first": self.scan.sample}
        after = {"entries": 0, "bytes": 0}
        return [Change(self.id, self._sentence(), self._clean, before, after)]

    def _sentence(self) -> str:
        """``remove 123 entries (4.5 GiB) unused for 30 days from /data/models/…/hub``."""
        values = {
            "n": self.scan.files,
            "size": human_size(self.scan.size),
            "path": self.path,
            "days": self.age_days,
        }
        if self.age_days:
            unused = ngettext(
                "unused for {days} day", "unused for {days} days", self.age_days
            ).format(**values)
            return ngettext(
                "remove {n} entry ({size}) {unused} from {path}",
                "remove {n} entries ({size}) {unused} from {path}",
                self.scan.files,
            ).format(unused=unused, **values)
        return ngettext(
            "remove {n} entry ({size}) from {path}",
            "remove {n} entries ({size}) from {path}",
            self.scan.files,
        ).format(**values)

    def _clean(self) -> Result:
        total = self.scan.files  # what the plan counted: the bar's end
        with tracked(_("cleaning {path}").format(path=self.path), total, "items"):
            self.cleaned = self.method.clean()
        done = ngettext(
            "removed {n} entry, freed {size}",
            "removed {n} entries, freed {size}",
            self.cleaned.removed,
        ).format(n=self.cleaned.removed, size=human_size(self.cleaned.freed))
        failures = self.cleaned.failures
        if failures:
            more = _(" (and {k} more)").format(k=len(failures) - 1) if len(failures) > 1 else ""
            raise ActionFailedError(
                _("{path}: {done}, but failed: {why}{more}").format(
                    path=self.path, done=done, why=failures[0], more=more
                )
            )
        return Result(done)
