"""``datakeeper user migrate``: move a home to the other layout, verify it, or roll it back.

One change session per user (storage guard, admin lock, action log). A new
migration first saves what the user sees of the persistent home (the
manifest) and the journal, then runs the steps (``steps.forward_steps``) and
the new layout's resources (``layouts.home_resources``), each change logged.
Verify then compares the tree with the manifest, entry by entry, and checks
the layout on disk; only when both hold is the registry's ``home_layout``
changed. A difference fails the command (exit 1) and leaves the journal, so
``--rollback`` can undo it. Run again, an interrupted migration resumes from
its journal; a rollback undoes what ran, from the journal, and verifies too.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from datakeeper.engine import Change, Resource
from datakeeper.engine.session import Session, change_session
from datakeeper.errors import DatakeeperError, InvalidInputError, RefusedError
from datakeeper.features.users import layouts
from datakeeper.features.users.migrate import journal as journals
from datakeeper.features.users.migrate.journal import Journal, journal_folder, load_journal
from datakeeper.features.users.migrate.manifest import (
    compare,
    load_manifest,
    save_manifest,
    take_manifest,
    user_key,
)
from datakeeper.features.users.migrate.plan import (
    MigrateRequest,
    MigrationPlan,
    check_idle,
    check_user,
    prepare,
)
from datakeeper.features.users.migrate.steps import forward_steps, rollback_steps
from datakeeper.i18n import _, ngettext
from datakeeper.registry import read_document
from datakeeper.resources.registered import Registered
from datakeeper.system import accounts

if TYPE_CHECKING:
    from datakeeper.config import SiteConfig

Listener = Callable[[Change, str], None]
UNCHANGED, PLANNED, MIGRATED, ROLLED_BACK, FAILED = (
    "unchanged",
    "planned",
    "migrated",
    "rolled-back",
    "failed",
)


@dataclass
class MigrationReport:
    """What happened to one user's home (``status``: one of the constants above)."""

    name: str
    target: str
    status: str
    dry_run: bool = False
    plan: MigrationPlan | None = None
    planned: list[Change] = field(default_factory=list)
    applied: list[Change] = field(default_factory=list)
    verify: dict[str, Any] | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status != FAILED

    def done_line(self) -> str:
        """The one sentence that closes the run for this user."""
        counts = self.verify or {}
        planned, entries = len(self.planned), counts.get("entries", 0)
        texts = {
            UNCHANGED: _("{name}: the home is already in the {layout} layout; nothing to do"),
            PLANNED: ngettext(
                "{name}: dry run, {n} change planned, nothing changed",
                "{name}: dry run, {n} changes planned, nothing changed",
                planned,
            ),
            MIGRATED: ngettext(
                "{name}: home migrated to {layout}; verified {entries} entry",
                "{name}: home migrated to {layout}; verified {entries} entries",
                entries,
            ),
            ROLLED_BACK: ngettext(
                "{name}: home back to the {layout} layout; verified {entries} entry",
                "{name}: home back to the {layout} layout; verified {entries} entries",
                entries,
            ),
            FAILED: _("{name}: failed: {error}"),
        }
        return texts[self.status].format(
            name=self.name,
            layout=self.target,
            n=planned,
            entries=entries,
            error=self.error or "",
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "user": self.name,
            "to": self.target,
            "status": self.status,
            "dry_run": self.dry_run,
            "plan": self.plan.as_dict() if self.plan else None,
            "planned": [c.as_dict() for c in self.planned],
            "applied": [c.as_dict() for c in self.applied],
            "verify": self.verify,
            "error": self.error,
        }


def migrate_user(
    cfg: SiteConfig,
    request: MigrateRequest,
    *,
    dry_run: bool,
    on_change: Listener | None = None,
    confirmed: MigrationPlan | None = None,
) -> MigrationReport:
    """Migrate (or resume migrating) one home; under the lock the plan is made again
    and must match ``confirmed``, the plan the admin saw, when given."""
    with change_session(cfg, dry_run=dry_run) as session:
        plan = prepare(cfg, request)
        if plan is None:
            return MigrationReport(request.name, request.target, UNCHANGED, dry_run)
        if confirmed is not None and plan.moved != confirmed.moved:
            raise RefusedError(
                _("{name}'s home changed since it was inspected; run again").format(
                    name=request.name
                )
            )
        journal = plan.journal
        if not dry_run and not plan.resumed:
            _begin(cfg, journal)
        links = tuple(layouts.hybrid_links(cfg, request.name))
        steps = [*forward_steps(journal, _persistent(cfg, journal), links), *_layout(cfg, journal)]
        outcome = session.converge(steps, on_change=on_change)
        report = MigrationReport(request.name, request.target, PLANNED, dry_run, plan)
        report.planned, report.applied = outcome.planned, outcome.applied
        if dry_run:
            return report
        return _conclude(cfg, session, journal, journal.target, report, on_change)


def rollback_user(
    cfg: SiteConfig,
    name: str,
    *,
    dry_run: bool,
    force: bool = False,
    on_change: Listener | None = None,
) -> MigrationReport:
    """Bring ``name``'s home back to the layout its journal recorded, and verify it."""
    check_user(cfg, name)
    with change_session(cfg, dry_run=dry_run) as session:
        journal = load_journal(cfg, name)
        if journal is None:
            raise InvalidInputError(
                _("{name} has no migration journal; there is nothing to roll back").format(
                    name=name
                )
            )
        if journal.state == journals.ROLLED_BACK:
            return MigrationReport(name, journal.source, UNCHANGED, dry_run)
        check_idle(MigrateRequest(name, journal.source, force), journal.uid)
        if not dry_run:
            _begin_rollback(cfg, journal)
        steps = rollback_steps(journal, _persistent(cfg, journal))
        outcome = session.converge(steps, on_change=on_change)
        report = MigrationReport(name, journal.source, PLANNED, dry_run)
        report.planned, report.applied = outcome.planned, outcome.applied
        if dry_run:
            return report
        return _conclude(cfg, session, journal, journal.source, report, on_change)


def migrate_all(
    cfg: SiteConfig,
    target: str,
    *,
    dry_run: bool,
    force: bool = False,
    on_change: Listener | None = None,
) -> list[MigrationReport]:
    """Every registered researcher, one at a time; a failure is reported and the next
    user is still migrated."""
    reports = []
    for name in registered_names(cfg):
        try:
            request = MigrateRequest(name, target, force)
            reports.append(migrate_user(cfg, request, dry_run=dry_run, on_change=on_change))
        except DatakeeperError as error:
            reports.append(MigrationReport(name, target, FAILED, dry_run, error=str(error)))
    return reports


def registered_names(cfg: SiteConfig) -> list[str]:
    """The registered accounts that exist here, by name."""
    if not cfg.registry_path.exists():
        return []
    names = read_document(cfg.registry_path).users
    return sorted(name for name in names if accounts.user_by_name(name) is not None)


def _begin(cfg: SiteConfig, journal: Journal) -> None:
    """Save the manifest, then the journal: a journal always has its manifest."""
    journal_folder(cfg)
    manifest = take_manifest(_persistent(cfg, journal), journal.source, journal.dotfiles)
    save_manifest(journal.manifest_path, manifest)
    journal.save()


def _begin_rollback(cfg: SiteConfig, journal: Journal) -> None:
    """A verified migration may be old: what the user sees now is what the rollback
    must keep, so the manifest is taken again first (an interrupted migration keeps
    the manifest of before it began)."""
    if journal.state == journals.VERIFIED:
        manifest = take_manifest(_persistent(cfg, journal), journal.target, journal.dotfiles)
        save_manifest(journal.manifest_path, manifest)
    journal.finish(journals.ROLLING_BACK)


def _conclude(
    cfg: SiteConfig,
    session: Session,
    journal: Journal,
    layout: str,
    report: MigrationReport,
    on_change: Listener | None,
) -> MigrationReport:
    """Verify; only a verified migration gets its layout recorded in the registry.

    A rollback that put the old layout back is recorded (and finished) even when
    the content differs from the manifest, so the admin is never stuck; the
    command still fails and names what differs.
    """
    verdict = verify(cfg, journal, layout)
    report.verify = verdict
    back = layout != journal.target
    if verdict["ok"] or (back and verdict["layout_ok"]):
        outcome = session.converge(
            [_recorded_layout(cfg, journal.user, layout)], on_change=on_change
        )
        report.applied += outcome.applied
        journal.finish(journals.ROLLED_BACK if back else journals.VERIFIED, verdict)
        report.status = ROLLED_BACK if back else MIGRATED
    else:
        journal.finish(journal.state if back else journals.FAILED, verdict)
    if not verdict["ok"]:
        report.status = FAILED
        report.error = _verify_error(journal, verdict, layout)
    return report


def verify(cfg: SiteConfig, journal: Journal, layout: str) -> dict[str, Any]:
    """Every entry the user had, at the same place in their view, identical; and the
    home in ``layout`` on disk. The counts, with ``ok``. After a rollback, the folders
    the new layout had made and the rollback removed (empty) are not missed."""
    persistent = _persistent(cfg, journal)
    before = load_manifest(journal.manifest_path)
    after = take_manifest(persistent, layout, journal.dotfiles)
    if layout != journal.target:
        for path in journal.created:
            rel = os.path.relpath(path, persistent)
            key = user_key(rel, journal.target, frozenset(journal.dotfiles))
            if key not in after:
                before.pop(key, None)
    found = compare(before, after).as_dict()
    found["layout_ok"] = layouts.layout_of(cfg, journal.user) == layout
    found["ok"] = found["missing"] == 0 and found["changed"] == 0 and found["layout_ok"]
    return found


def _verify_error(journal: Journal, verdict: dict[str, Any], layout: str) -> str:
    text = _(
        "verify found {missing} missing and {changed} changed entries, layout {layout} on "
        "disk: {ok} (e.g. {samples})"
    ).format(
        missing=verdict["missing"],
        changed=verdict["changed"],
        layout=layout,
        ok=_("yes") if verdict["layout_ok"] else _("no"),
        samples=", ".join(verdict["samples"]) or "-",
    )
    if layout == journal.target:
        text += _("; undo with: datakeeper user migrate {name} --rollback").format(
            name=journal.user
        )
    return text


def _recorded_layout(cfg: SiteConfig, name: str, layout: str) -> Resource:
    """The registry entry with ``home_layout`` set, so recovery rebuilds this layout."""

    def describe():
        entry = read_document(cfg.registry_path).users[name]
        return entry.model_copy(update={"home_layout": layout})

    return Registered(name, cfg.registry_path, describe)


def _layout(cfg: SiteConfig, journal: Journal) -> list[Resource]:
    user = accounts.user_by_name(journal.user)
    group = accounts.group_by_gid(user.gid) if user else None
    primary = group.name if group else journal.user
    return layouts.home_resources(cfg, journal.user, journal.target, primary_group=primary)


def _persistent(cfg: SiteConfig, journal: Journal) -> Path:
    return layouts.persistent_home(cfg, journal.user)
