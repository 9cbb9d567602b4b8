"""``datakeeper node sync``: bring this node in step with the shared registry.

The registry on ``/data`` is the truth for every node. A sync converges the
shared groups, every registered account (the very steps ``recover`` runs, same
ids, same homes) and removes the accounts another node removed (retired in the
registry and still here with their last uid: locked, cron and at jobs dropped,
home link and account deleted; their files stay). Site steps are ``recover``'s
job, at boot; a sync does not block logins either.

It is cheap when nothing moved: when the registry's generation is the one this
node applied last and nothing drifted, it only beats the heartbeat. Password
hashes come from the registry (``sync_passwords=False``): a ``passwd`` on any
node reaches the registry through that node's shadow watch first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from datakeeper.engine.session import change_session
from datakeeper.features.cluster import state as node_state
from datakeeper.features.cluster.drift import node_drift, stale_accounts
from datakeeper.features.recovery.recover import groups_step, run_isolated, user_step
from datakeeper.features.setup.init import SetupReporter, StepResult
from datakeeper.features.setup.steps import Step
from datakeeper.i18n import _, ngettext
from datakeeper.paths import HOME_ROOT
from datakeeper.registry import RegistryDocument, RegistryEntry, load_or_empty
from datakeeper.resources.account_absent import AccountAbsent, AccountLocked
from datakeeper.resources.symlink_absent import SymlinkAbsent
from datakeeper.resources.user_jobs import AtJobsAbsent, CrontabAbsent
from datakeeper.status import StepStatus
from datakeeper.system.nfs import probe_root_write

if TYPE_CHECKING:
    from datakeeper.config import SiteConfig


@dataclass
class SyncReport:
    """What one sync found and did."""

    hostname: str
    generation: int
    ran: bool = False  # False: nothing moved, only the heartbeat
    steps: list[StepResult] = field(default_factory=list)
    drift: list[str] = field(default_factory=list)  # left after the sync

    @property
    def ok(self) -> bool:
        return all(step.status != StepStatus.FAILED for step in self.steps)

    @property
    def changes(self) -> list[str]:
        return [change for step in self.steps for change in step.changes]

    def summary(self) -> str:
        """One line for people."""
        if not self.ran:
            return _("{host}: up to date with registry generation {g}").format(
                host=self.hostname, g=self.generation
            )
        failed = [step.title for step in self.steps if step.status == StepStatus.FAILED]
        line = ngettext(
            "{host}: registry generation {g} applied, {n} change",
            "{host}: registry generation {g} applied, {n} changes",
            len(self.changes),
        ).format(host=self.hostname, g=self.generation, n=len(self.changes))
        if failed:
            line += _("; failed: {names}").format(names=", ".join(failed))
        return line

    def as_dict(self) -> dict[str, Any]:
        return {
            "hostname": self.hostname,
            "generation": self.generation,
            "ran": self.ran,
            "ok": self.ok,
            "summary": self.summary(),
            "changes": self.changes,
            "steps": [vars(step) for step in self.steps],
            "drift": self.drift,
        }


def sync_node(
    cfg: SiteConfig, *, dry_run: bool, reporter: SetupReporter, force: bool = False
) -> SyncReport:
    """Apply the registry here when it moved or this node drifted (``force``: always);
    record this node's state and heartbeat. Refuses when root's writes are squashed."""
    host = node_state.this_host()
    if not dry_run:
        probe_root_write(cfg.state_dir)
    document = load_or_empty(cfg.registry_path)
    record = node_state.read_node(node_state.node_path(cfg, host))
    drift = node_drift(document)
    if not force and not drift and record and record.generation == document.generation:
        if not dry_run:
            node_state.beat(cfg, host)
        return SyncReport(host, document.generation)
    report = apply_registry(cfg, dry_run=dry_run, reporter=reporter)
    if not dry_run:
        record_sync(cfg, report)
    return report


def apply_registry(cfg: SiteConfig, *, dry_run: bool, reporter: SetupReporter) -> SyncReport:
    """Converge the groups, every registered account and the removals, under the
    one-admin lock, from the registry read once the lock is held."""
    with change_session(cfg, dry_run=dry_run, sync_passwords=False) as session:
        document = load_or_empty(cfg.registry_path)
        report = SyncReport(node_state.this_host(), document.generation, ran=True)
        steps = [groups_step(cfg, document)]
        steps += [user_step(cfg, entry) for entry in sorted_entries(document)]
        steps += [removal_step(cfg, name) for name in stale_accounts(document)]
        for index, step in enumerate(steps, start=1):
            result = StepResult(step.key, step.title, notes=list(step.notes))
            reporter.step_started(index, len(steps), step)
            run_isolated(session, step, result, dry_run, reporter)
            reporter.step_finished(result)
            report.steps.append(result)
    report.drift = [] if dry_run else node_drift(load_or_empty(cfg.registry_path))
    return report


def sorted_entries(document: RegistryDocument) -> list[RegistryEntry]:
    """Every registered account, by name."""
    return [document.users[name] for name in sorted(document.users)]


def removal_step(cfg: SiteConfig, name: str) -> Step:
    """Account ``name``, removed from the registry on another node, goes here too: no
    new login first, then its jobs, its home link and the account; files stay."""
    resources = [
        AccountLocked(name),
        CrontabAbsent(name),
        AtJobsAbsent(name),
        SymlinkAbsent(HOME_ROOT / name, cfg.users_dir / name),
        AccountAbsent(name),
    ]
    return Step("REMOVED", name, resources, critical=False)


def record_sync(cfg: SiteConfig, report: SyncReport) -> None:
    """This node's record after a sync or a recovery that applied the registry."""
    node_state.beat(
        cfg,
        report.hostname,
        last_recovery=node_state.now_iso(),
        last_ok=report.ok,
        generation=report.generation,
        applied=report.changes[:100],
        drift=report.drift,
    )
