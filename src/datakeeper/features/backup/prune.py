"""``datakeeper backup prune``: remove what retention no longer keeps.

Only complete snapshots count for retention, and the newest of them is always
kept. Partial snapshots older than the newest complete one (runs that will
never be resumed) and removals cut short (``.deleting``) go as well; a partial
snapshot newer than it is kept for the next run to resume.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from datakeeper.engine.session import change_session
from datakeeper.features.backup import layout
from datakeeper.features.backup.listing import backup_root
from datakeeper.features.backup.retention import Retention, keep
from datakeeper.i18n import _
from datakeeper.resources.backup_prune import RemovedSnapshot

if TYPE_CHECKING:
    from datakeeper.config import SiteConfig
    from datakeeper.engine import Change, Outcome


@dataclass(frozen=True)
class PrunePlan:
    """The removals, and the snapshots kept with the policies that keep them."""

    removals: list[RemovedSnapshot]
    kept: dict[str, list[str]]


def plan_prune(cfg: SiteConfig) -> PrunePlan:
    """What ``prune`` would remove now, by the ``[backup]`` retention; reads only."""
    snapshots = layout.list_snapshots(backup_root(cfg))
    complete = [s for s in snapshots if s.complete]
    policy = Retention(
        cfg.backup.keep_hourly,
        cfg.backup.keep_daily,
        cfg.backup.keep_weekly,
        cfg.backup.keep_monthly,
    )
    kept = keep([s.time for s in complete], policy)
    newest = complete[-1].time if complete else None
    removals = []
    for snapshot in snapshots:
        why = _why_remove(snapshot, kept, newest)
        if why is not None:
            doomed = snapshot.path.with_name(snapshot.name + layout.DELETING)
            removals.append(RemovedSnapshot(snapshot.path, doomed, why))
    names = {s.name: kept[s.time] for s in complete if s.time in kept}
    return PrunePlan(removals, names)


def _why_remove(snapshot: layout.Snapshot, kept: dict, newest) -> str | None:
    if snapshot.state == "deleting":
        return _("a removal that was cut short")
    if snapshot.complete:
        return (
            None
            if snapshot.time in kept or snapshot.time == newest
            else _("no retention rule keeps it")
        )
    if newest is not None and snapshot.time < newest:
        return _("an interrupted run, older than the newest complete snapshot")
    return None


def prune(cfg: SiteConfig, plan: PrunePlan, *, dry_run: bool, on_change=None) -> Outcome:
    """Remove the planned snapshots (or only show them) in one change session."""
    with change_session(cfg, dry_run=dry_run) as session:
        return session.converge(plan.removals, on_change=on_change, keep_going=True)


def planned_changes(plan: PrunePlan) -> list[Change]:
    """The removals' changes, for a preview before asking."""
    return [change for removal in plan.removals for change in removal.plan()]
