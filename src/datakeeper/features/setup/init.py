"""``datakeeper init``: write the site config, then converge the six setup steps."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from datakeeper.config import SiteConfig
from datakeeper.engine import Change, Resource
from datakeeper.engine.session import change_session
from datakeeper.errors import DatakeeperError, InvalidInputError
from datakeeper.features.setup.steps import SetupContext, Step, build_steps
from datakeeper.i18n import _
from datakeeper.status import ChangeOutcome, StepStatus
from datakeeper.storage import ensure_persistent
from datakeeper.system import accounts


class SetupReporter(Protocol):
    """How the front end hears about progress (prints, or collects for --json)."""

    def step_started(self, index: int, total: int, step: Step) -> None: ...
    def change(self, change: Change, outcome: str) -> None: ...
    def unchanged(self, resource: Resource) -> None: ...
    def step_finished(self, result: StepResult) -> None: ...


@dataclass
class StepResult:
    key: str
    title: str
    status: StepStatus = StepStatus.NOT_RUN
    changes: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class SetupReport:
    steps: list[StepResult]
    next_steps: list[str]

    @property
    def ok(self) -> bool:
        return all(s.status not in (StepStatus.FAILED, StepStatus.NOT_RUN) for s in self.steps)

    def as_dict(self) -> dict:
        return {
            "ok": self.ok,
            "steps": [vars(s) for s in self.steps],
            "next_steps": self.next_steps,
        }


def check_preconditions(cfg: SiteConfig) -> None:
    """Everything init refuses before writing a byte (one-line errors with the fix)."""
    if cfg.admin is None:
        raise InvalidInputError(
            _("admin: no admin account given; pass --admin NAME (default: the user who ran sudo)")
        )
    if accounts.user_by_name(cfg.admin) is None:
        raise InvalidInputError(
            _(
                "admin: account {name} does not exist; create it first (adduser {name}) or "
                "pass --admin with an existing account"
            ).format(name=cfg.admin)
        )
    _check_group_name(cfg.group)
    backup = cfg.storage.backup_root
    if backup is not None and backup.exists() and not backup.is_dir():
        raise InvalidInputError(
            _(
                "storage.backup_root: {path} exists but is not a directory; "
                "fix it or pass --backup-root with a directory (or --no-backup)"
            ).format(path=backup)
        )
    ensure_persistent(cfg.storage.data_root)


def _check_group_name(group: str) -> None:
    owner = accounts.user_by_name(group)
    if owner is not None:
        raise InvalidInputError(
            _(
                "group: {name} is the name of a user account (its personal group); choose another "
                "name for the shared group, e.g. gpu-users"
            ).format(name=group)
        )


def run_setup(
    ctx: SetupContext,
    *,
    dry_run: bool,
    reporter: SetupReporter,
    only: tuple[str, ...] = (),
) -> SetupReport:
    """Converge every step in order (or only the steps whose keys are in ``only``, for a
    wizard that goes one step at a time); a failed critical step stops the ones after it."""
    steps = [s for s in build_steps(ctx) if not only or s.key in only]
    results = [StepResult(s.key, s.title, notes=list(s.notes)) for s in steps]
    membership_before = _admin_in_group(ctx.cfg)
    with change_session(ctx.cfg, dry_run=dry_run) as session:
        for index, (step, result) in enumerate(zip(steps, results, strict=True), start=1):
            reporter.step_started(index, len(steps), step)
            run_step(session, step, result, dry_run, reporter)
            fact = step.summary() if step.summary else None
            if fact:
                result.notes.append(fact)
            reporter.step_finished(result)
            if result.status == StepStatus.FAILED and step.critical:
                break
    return SetupReport(results, _next_steps(ctx.cfg, membership_before, dry_run))


def run_step(session, step: Step, result: StepResult, dry_run: bool, reporter) -> None:
    def on_change(change: Change, outcome: str) -> None:
        if outcome != ChangeOutcome.FAILED:
            result.changes.append(change.summary)
        reporter.change(change, outcome)

    def on_unchanged(resource: Resource) -> None:
        result.unchanged.append(resource.id)
        reporter.unchanged(resource)

    try:
        outcome = session.converge(
            step.resources,
            on_change=on_change,
            on_unchanged=on_unchanged,
            keep_going=not step.critical,
        )
    except DatakeeperError as error:
        result.errors.append(str(error))
        result.status = StepStatus.FAILED
        return
    result.errors += [f"{resource}: {error}" for resource, error in outcome.failed]
    if result.errors:
        result.status = StepStatus.FAILED
    elif result.changes:
        result.status = StepStatus.PLANNED if dry_run else StepStatus.CHANGED
    else:
        result.status = StepStatus.UNCHANGED


def _admin_in_group(cfg: SiteConfig) -> bool:
    return cfg.admin is not None and cfg.group in accounts.supplementary_groups(cfg.admin)


def _next_steps(cfg: SiteConfig, was_member: bool, dry_run: bool) -> list[str]:
    steps = []
    if not was_member and not dry_run:
        steps.append(
            _(
                "log in again as {admin} (su - {admin}) or run 'newgrp {group}' so the shell "
                "picks up the new group"
            ).format(admin=cfg.admin, group=cfg.group)
        )
    steps.append(
        _(
            "new files are group-writable for members through umask {umask:03o}, set at login by "
            "/etc/profile.d/global_envs.sh; check with 'umask' after logging in again"
        ).format(umask=cfg.home.umask)
    )
    if cfg.storage.data_root != Path("/data"):
        steps.append(
            _(
                "the config is not at the default path: export DATAKEEPER_CONFIG={path} "
                "for later commands"
            ).format(path=cfg.storage.data_root / "config/datakeeper.toml")
        )
    return steps
