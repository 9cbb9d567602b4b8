"""``datakeeper recover``: bring accounts and environment back after the SSD was wiped.

Everything comes from persistent storage: the site config and the registry.
Accounts come back with the SAME uid, gid, groups, shell, gecos and password
hash, because files on storage keep numeric owners. A user whose name or ids
are taken by someone else is skipped and reported, never guessed about; the
others are still recovered. Any other error in one step, even an unexpected
one, skips that step only: it is reported and the rest goes on. Nothing is
downloaded at boot (every ``Downloader`` is left out): Miniconda, uv and the
Python tools live on storage already, only their links are recreated. The
done marker and the record of the result are written by the plan too, so a
dry run writes neither and the action log has both.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from datakeeper.actionlog import batched_sync
from datakeeper.engine import Resource
from datakeeper.engine.session import change_session
from datakeeper.features.cluster.record import record_recovery
from datakeeper.features.enabled import enabled_steps
from datakeeper.features.recovery.boot import login_check_files
from datakeeper.features.recovery.login_block import logins_blocked
from datakeeper.features.recovery.step_limit import USER_STEP_TIMEOUT, time_limit
from datakeeper.features.setup.init import SetupReporter, StepResult, run_step
from datakeeper.features.setup.steps import SetupContext, Step, build_steps
from datakeeper.features.users.groups import grantable_groups, registry_warnings
from datakeeper.features.users.layouts import home_resources, ssh_chain_problem
from datakeeper.i18n import _, ngettext
from datakeeper.paths import DONE_MARKER, HOME_ROOT, LAST_RECOVERY_NAME
from datakeeper.progress import tracked
from datakeeper.registry import RegistryDocument, RegistryEntry, load_or_empty
from datakeeper.resources import Group, UserAccount
from datakeeper.resources.download import Downloader
from datakeeper.resources.recorded_hashes import RecordedHash, RecordedHashes
from datakeeper.resources.state_file import StateFile
from datakeeper.status import StepStatus
from datakeeper.system.accounts import cached_reads
from datakeeper.system.mounts import watched_mounts

if TYPE_CHECKING:
    from datakeeper.config import SiteConfig


@dataclass
class RecoveryReport:
    site: list[StepResult] = field(default_factory=list)
    users: list[StepResult] = field(default_factory=list)
    # Recorded OS packages left out (boot downloads nothing): the summary names the
    # command that installs them again.
    packages_left_out: bool = False

    def count(self, status: StepStatus) -> int:
        return sum(1 for u in self.users if u.status == status)

    @property
    def skipped(self) -> list[StepResult]:
        return [u for u in self.users if u.status == StepStatus.FAILED]

    @property
    def ok(self) -> bool:
        return not self.skipped and all(s.status != StepStatus.FAILED for s in self.site)

    def summary(self) -> str:
        recovered = self.count(StepStatus.CHANGED) + self.count(StepStatus.PLANNED)
        line = ngettext(
            "{n} user recovered, {u} already right, {s} skipped",
            "{n} users recovered, {u} already right, {s} skipped",
            recovered,
        ).format(n=recovered, u=self.count(StepStatus.UNCHANGED), s=len(self.skipped))
        if self.packages_left_out:
            line += _("; OS packages not reinstalled: run 'datakeeper packages install'")
        return line

    def as_dict(self) -> dict:
        return {
            "ok": self.ok,
            "summary": self.summary(),
            "site": [vars(s) for s in self.site],
            "users": [vars(u) for u in self.users],
        }


def recover(
    cfg: SiteConfig, config_path: Path, *, dry_run: bool, reporter: SetupReporter
) -> RecoveryReport:
    """Block member logins first (``/run/nologin``), converge groups, every registered
    user, then the site steps; report per user; lift the block, even on failure."""
    with logins_blocked(dry_run=dry_run) as block:
        report = _recover(cfg, config_path, dry_run=dry_run, reporter=reporter)
        block.ok, block.summary = report.ok, report.summary()
    if not dry_run:  # several servers sharing /data: this node's record (node list)
        changes = [c for step in (*report.users, *report.site) for c in step.changes]
        record_recovery(cfg, ok=report.ok, changes=changes)
    return report


def _recover(
    cfg: SiteConfig, config_path: Path, *, dry_run: bool, reporter: SetupReporter
) -> RecoveryReport:
    report = RecoveryReport()
    # Thousands of accounts: one parse of passwd/group/shadow while they stay unchanged,
    # the mount table read again only when it changes (the storage guard checks it
    # before every step), the action log flushed once a second, not after every record.
    # The registry is the truth here: do not copy /etc/shadow into it first.
    with (
        watched_mounts(),
        cached_reads(),
        batched_sync(),
        change_session(cfg, dry_run=dry_run, sync_passwords=False) as session,
    ):
        # Before any account exists: an interactive login then waits for the recovery.
        session.converge(login_check_files(cfg, config_path), keep_going=True)
        document = _registry(cfg)
        entries = _ordered(document, cfg)
        steps = [groups_step(cfg, document)]
        steps += [user_step(cfg, entry, password=False) for entry in entries]
        steps.append(passwords_step(entries))
        steps += site_steps(cfg, config_path)
        report.packages_left_out = any(s.key == "PACKAGES" and s.notes for s in steps)
        with tracked(_("recovering"), len(steps), "steps") as progress:
            for index, step in enumerate(steps, start=1):
                result = StepResult(step.key, step.title, notes=list(step.notes))
                reporter.step_started(index, len(steps), step)
                run_isolated(session, step, result, dry_run, reporter)
                reporter.step_finished(result)
                progress.advance(1)
                (report.users if step.key == "USER" else report.site).append(result)
        session.converge(result_files(cfg, report), keep_going=True)
    return report


def run_isolated(session, step: Step, result: StepResult, dry_run: bool, reporter) -> None:
    """Run one step; whatever it raises fails that step alone, recorded in ``result``.

    A user's home can hold what nobody foresaw (it is theirs to fill), so an
    unexpected error in one user's step must not stop the recovery of the
    others, nor the done marker that logins wait for.
    """
    try:
        with time_limit(USER_STEP_TIMEOUT if step.key == "USER" else None):
            run_step(session, step, result, dry_run, reporter)
    except Exception as error:  # isolation is the point: any error, reported, not raised
        why = f"{type(error).__name__}: {error}"
        result.errors.append(_("unexpected error, step skipped: {why}").format(why=why))
        result.status = StepStatus.FAILED


def _registry(cfg: SiteConfig) -> RegistryDocument:
    return load_or_empty(cfg.registry_path)


def _ordered(document: RegistryDocument, cfg: SiteConfig) -> list[RegistryEntry]:
    """The admin first (the site steps need it), then everyone by name."""
    entries = sorted(document.users.values(), key=lambda e: (e.name != cfg.admin, e.name))
    return entries


def groups_step(cfg: SiteConfig, document: RegistryDocument) -> Step:
    """The site group and every recorded shared group, with their recorded gids."""
    recorded = dict(document.groups)
    names = sorted({cfg.group, *recorded})
    resources: list[Resource] = [Group(name, recorded.get(name)) for name in names]
    return Step("GROUPS", _("shared groups"), resources, critical=False)


def user_step(cfg: SiteConfig, entry: RegistryEntry, *, password: bool = True) -> Step:
    """One registered account, exactly as recorded, with its home in the recorded layout
    (a hybrid home with every link, before member logins are allowed again).

    A recorded root-equivalent group (sudo, docker …) is granted only when the
    record allows it explicitly; otherwise it is left out and reported. With
    ``password=False`` the recorded hash is left to a later ``RecordedHashes`` step
    (``recover`` sets them all with one ``chpasswd``).
    """
    resources: list[Resource] = [
        Group(entry.primary_group, entry.gid),
        UserAccount(
            entry.name,
            entry.uid,
            entry.primary_group,
            grantable_groups(cfg, entry),
            entry.shell,
            entry.gecos,
            str(HOME_ROOT / entry.name),
            entry.password_hash if password else None,
        ),
        *home_resources(cfg, entry.name, entry.home_layout, primary_group=entry.primary_group),
    ]
    notes = registry_warnings(cfg, entry)
    if entry.home_layout == "hybrid" and (problem := ssh_chain_problem(cfg)):
        notes.append(problem)  # the home is built; key logins into it would be refused
    return Step("USER", entry.name, resources, notes=notes)


def passwords_step(entries: list[RegistryEntry]) -> Step:
    """Every recorded password hash, set with one ``chpasswd`` after the accounts exist
    (one rewrite of ``/etc/shadow`` instead of one per account)."""
    wanted = tuple(
        RecordedHash(entry.name, entry.uid, entry.gid, entry.password_hash)
        for entry in entries
        if entry.password_hash is not None
    )
    return Step("PASSWORDS", _("recorded passwords"), [RecordedHashes(wanted)], critical=False)


def site_steps(cfg: SiteConfig, config_path: Path) -> list[Step]:
    """The setup steps (groups already done) and what the admin enabled since, without
    downloads."""
    steps = [s for s in build_steps(SetupContext(cfg, config_path)) if s.key != "GROUP"]
    steps += enabled_steps(cfg, config_path)
    for step in steps:
        kept = without_downloads(step.resources)
        if len(kept) != len(step.resources):
            step.notes += _left_out_note(step.key)
        step.resources = kept
    return steps


def without_downloads(resources: list[Resource]) -> list[Resource]:
    """``resources`` less every ``Downloader``: at boot the network may not be up, and
    what recovery brings back lives on storage already."""
    return [r for r in resources if not isinstance(r, Downloader)]


def _left_out_note(key: str) -> list[str]:
    if key == "PACKAGES":
        return [_("OS packages are not reinstalled at boot (nothing is downloaded then); "
                  "'datakeeper packages install' with no names installs the recorded ones "
                  "again")]  # fmt: skip
    return [_("software installs are not repeated at boot; run 'datakeeper init' if conda "
              "or uv is missing")]  # fmt: skip


def result_files(cfg: SiteConfig, report: RecoveryReport) -> list[Resource]:
    """The done marker (on tmpfs: logins waiting for it go on) and the result's record on
    storage (what ``recovery status`` shows)."""
    record = {"time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **report.as_dict()}
    text = json.dumps(record, indent=2, default=str) + "\n"
    record_path = cfg.state_dir / LAST_RECOVERY_NAME
    done = _("mark recovery as done in {path}: waiting logins go on").format(path=DONE_MARKER)
    saved = _("record the result of this recovery in {path}").format(path=record_path)
    return [
        StateFile(DONE_MARKER, (report.summary() + "\n").encode(), 0o644, done),
        StateFile(record_path, text.encode(), 0o600, saved, folder_mode=0o700),
    ]
