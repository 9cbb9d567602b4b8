"""One step of a journaled operation (a home migration): done once, recorded before and after.

The step itself (a rename, a link removed, a folder made) is given as plain
callables by the feature that owns the journal; this resource only makes it
part of the engine's plan: it plans nothing once ``done()`` says the system
already shows the step's result (so an interrupted run, run again, resumes
where it stopped), and its action writes ``started`` to the journal before
acting and ``done`` after, so a killed run leaves a journal that names the
step it was in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import ClassVar, Protocol

from datakeeper.engine.change import Change
from datakeeper.engine.effects import Effect
from datakeeper.engine.resource import Resource


class StepJournal(Protocol):
    """Where a step is recorded (``features.users.migrate.journal.Journal``)."""

    def mark(self, key: str, status: str) -> None:
        """Record ``status`` ("started" or "done") for step ``key``, durably."""


@dataclass(frozen=True)
class JournaledStep(Resource):
    """Step ``key``: ``summary`` for people, ``run`` to do it, ``done`` to see it is done;
    ``operation`` names it in the action log's code (``home_migration.move``)."""

    code_kind: ClassVar[str] = "home_migration"

    key: str
    summary: str
    journal: StepJournal
    done: Callable[[], bool] = field(compare=False)
    run: Callable[[], None] = field(compare=False)
    paths: tuple[Path, ...] = ()
    effects: tuple[Effect, ...] = ()
    operation: str = "apply"

    @property
    def id(self) -> str:
        return f"migration step {self.key}"

    def touches(self) -> tuple[Path, ...]:
        return self.paths

    def plan(self) -> list[Change]:
        if self.done():
            return []
        change = Change(self.id, self.summary, self._apply, effects=self.effects)
        return [replace(change, operation=self.operation)]

    def _apply(self) -> None:
        self.journal.mark(self.key, "started")
        self.run()
        self.journal.mark(self.key, "done")
