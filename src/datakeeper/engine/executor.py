"""The one place where changes are applied, or only reported in a dry run."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

from datakeeper.engine.change import Change, Result
from datakeeper.engine.codes import change_code
from datakeeper.engine.planned import PlannedState
from datakeeper.engine.resource import Resource
from datakeeper.engine.state import planning_against
from datakeeper.errors import ActionFailedError, DatakeeperError
from datakeeper.i18n import _
from datakeeper.status import ChangeOutcome


class ChangeRecorder(Protocol):
    """Where applied (or failed) changes are recorded: the action log. An applied
    change carries what its action reported in ``change.result``."""

    def __call__(self, change: Change, outcome: ChangeOutcome) -> None: ...


class PathGuard(Protocol):
    """Refuses (raises) when any of ``paths`` lies on storage that is not persistent."""

    def __call__(self, paths: Sequence[Path]) -> None: ...


@dataclass
class Outcome:
    """What a run planned and what it applied."""

    dry_run: bool
    planned: list[Change] = field(default_factory=list)
    applied: list[Change] = field(default_factory=list)
    failed: list[tuple[str, DatakeeperError]] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.applied)

    @property
    def ok(self) -> bool:
        return not self.failed

    def as_dict(self) -> dict:
        return {
            "dry_run": self.dry_run,
            "planned": [c.as_dict() for c in self.planned],
            "applied": [c.as_dict() for c in self.applied],
            "failed": [{"resource": r, "error": str(e)} for r, e in self.failed],
        }


@dataclass
class Executor:
    """Converges resources in order.

    Each resource is planned just before it is applied, so it sees what the
    resources before it did (a directory's parent, a user's group). A dry run
    changes nothing, and plans each resource against the state the changes
    planned before it would leave: their declared effects are recorded in
    ``planned`` and the read layer (``engine.state``) answers from them first.
    One ``PlannedState`` may be shared by the executors of one session, so a
    step sees what the steps before it would have done.
    The guard runs once, before anything is planned for real, over every path
    any resource may write: a refused run writes nothing at all.

    With ``keep_going``, a resource that fails (a conflict, a command error) is
    recorded in ``Outcome.failed`` and the next resource is still converged;
    otherwise the first failure propagates. With ``rollback`` as well (and not
    ``keep_going``), the changes this run applied are undone first, newest
    first, where they carry an ``undo``: a failed ``user add`` leaves no group
    or account behind to block the next try.
    """

    dry_run: bool = False
    keep_going: bool = False
    rollback: bool = False
    guard: PathGuard | None = None
    record: ChangeRecorder | None = None
    on_change: Callable[[Change, ChangeOutcome], None] | None = None
    on_unchanged: Callable[[Resource], None] | None = None
    planned: PlannedState = field(default_factory=PlannedState)

    def plan(self, resources: Iterable[Resource]) -> list[Change]:
        """Every change the resources would make now; changes nothing."""
        return [_coded(resource, change) for resource in resources for change in resource.plan()]

    def converge(self, resources: Sequence[Resource]) -> Outcome:
        """Apply (or, in a dry run, report) every change the resources need."""
        if self.guard is not None:
            self.guard([path for r in resources for path in r.touches()])
        outcome = Outcome(dry_run=self.dry_run)
        for resource in resources:
            try:
                self._converge_one(resource, outcome)
            except DatakeeperError as error:
                if not self.keep_going:
                    self._roll_back(outcome)
                    raise
                outcome.failed.append((resource.id, error))
            except Exception:
                self._roll_back(outcome)
                raise
        return outcome

    def _roll_back(self, outcome: Outcome) -> None:
        """Undo the applied changes that can be undone, newest first; best effort: an
        undo that fails is reported (``undo failed``) and the others still run."""
        if not self.rollback or self.dry_run or self.keep_going:
            return
        for change in reversed(outcome.applied):
            if change.undo is None:
                continue
            try:
                change.undo()
            except (DatakeeperError, OSError):
                self._notify(change, "undo failed")
                continue
            self._notify(change, "undone")

    def _converge_one(self, resource: Resource, outcome: Outcome) -> None:
        changes = self._plan(resource)
        if not changes and self.on_unchanged is not None:
            self.on_unchanged(resource)
        for change in changes:
            outcome.planned.append(change)
            if self.dry_run:
                self.planned.record(change.effects)
                self._notify(change, ChangeOutcome.PLANNED)
                continue
            outcome.applied.append(self._apply(change))

    def _plan(self, resource: Resource) -> list[Change]:
        if not self.dry_run:
            return [_coded(resource, change) for change in resource.plan()]
        with planning_against(self.planned):
            return [_coded(resource, change) for change in resource.plan()]

    def _apply(self, change: Change) -> Change:
        """Run the change's action; the applied change, with what the action reported."""
        _maybe_inject_fault()
        try:
            returned = change.action()
        except OSError as error:
            self._notify(change, ChangeOutcome.FAILED)
            raise ActionFailedError(
                _("{change}: failed: {why}").format(change=change.summary, why=error)
            ) from error
        except BaseException:
            self._notify(change, ChangeOutcome.FAILED)
            raise
        if isinstance(returned, Result):
            change = replace(change, result=returned.detail)
        self._notify(change, ChangeOutcome.APPLIED)
        return change

    def _notify(self, change: Change, outcome: ChangeOutcome) -> None:
        if self.record is not None and outcome is not ChangeOutcome.PLANNED:
            self.record(change, outcome)
        if self.on_change is not None:
            self.on_change(change, outcome)


def _coded(resource: Resource, change: Change) -> Change:
    """``change`` with its stable code (``engine.codes``), for the log and ``--json``."""
    return change if change.code else replace(change, code=change_code(resource, change))


FAULT_ENV = "DATAKEEPER_FAULT_KILL_AT"


def _maybe_inject_fault() -> None:
    """Test hook: ``DATAKEEPER_FAULT_KILL_AT=N`` kills this process with SIGKILL just
    before its N-th change (counted per process), so tests can prove that a run
    interrupted anywhere converges when run again. Unset in normal use."""
    target = os.environ.get(FAULT_ENV)
    if not target:
        return
    count = int(os.environ.get("_DATAKEEPER_FAULT_COUNT", "0")) + 1
    os.environ["_DATAKEEPER_FAULT_COUNT"] = str(count)
    if target.isdigit() and count >= int(target):
        os.kill(os.getpid(), signal.SIGKILL)
