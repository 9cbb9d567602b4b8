"""``datakeeper disk alert``: warn when a storage root fills up.

Every storage root whose use reaches the threshold (``percent >= threshold``,
percent as df's "Use%": used / (used + available)) fires: a line in the
action log (only when the data root is the persistent disk, so a failed
mount never leaves a log on the SSD) and in syslog/the journal, then the
admin's hook from the config with the figures in its environment. The caller
exits 1 so cron and systemd notice. A dry run only says what it would do.

The line goes through the session layer's ``record_event``, without the admin
lock: the alert runs from a timer and must never wait behind an admin's long
run. Scheduling it (a systemd timer, or cron) lives in ``disk.schedule``.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from datakeeper.engine.session import record_event
from datakeeper.errors import DatakeeperError
from datakeeper.features.disk.usage import RootUsage, root_usage
from datakeeper.i18n import _
from datakeeper.sizes import human_size
from datakeeper.storage import inspect
from datakeeper.trust import audit_trusted_file

if TYPE_CHECKING:
    from datakeeper.config import SiteConfig

syslog: ModuleType | None
try:
    import syslog
except ImportError:  # not every platform has it
    syslog = None

HOOK_TIMEOUT_SECONDS = 120
ENV_PREFIX = "DATAKEEPER_ALERT_"


@dataclass(frozen=True)
class AlertCheck:
    """One storage root against the threshold."""

    usage: RootUsage
    threshold: int

    @property
    def fires(self) -> bool:
        """At or above the threshold (a missing root is not measured, so it never fires)."""
        return self.usage.exists and self.usage.percent >= self.threshold

    def sentence(self) -> str:
        """What a person (and the log) reads about this root."""
        figures = {
            "root": self.usage.root,
            "percent": self.usage.percent,
            "threshold": self.threshold,
            "used": human_size(self.usage.used),
            "total": human_size(self.usage.total),
        }
        if not self.usage.exists:
            return _("{root} does not exist; not checked").format(**figures)
        if self.fires:
            return _(
                "{root} is {percent:.1f}% full ({used} of {total} used): at or above "
                "the alert threshold of {threshold}%"
            ).format(**figures)
        return _("{root} is {percent:.1f}% full, below the alert threshold of {threshold}%").format(
            **figures
        )

    def environment(self) -> dict[str, str]:
        """The figures a hook receives."""
        return {
            f"{ENV_PREFIX}ROOT": str(self.usage.root),
            f"{ENV_PREFIX}PERCENT": f"{self.usage.percent:.1f}",
            f"{ENV_PREFIX}USED_BYTES": str(self.usage.used),
            f"{ENV_PREFIX}TOTAL_BYTES": str(self.usage.total),
            f"{ENV_PREFIX}THRESHOLD": str(self.threshold),
        }

    def as_dict(self) -> dict[str, Any]:
        return {**self.usage.as_dict(), "threshold": self.threshold, "fires": self.fires}


@dataclass
class AlertOutcome:
    """What ``run_alert`` found and did."""

    checks: list[AlertCheck]
    dry_run: bool
    actions: list[str] = field(default_factory=list)  # done, or (dry run) would be done
    problems: list[str] = field(default_factory=list)  # logging or the hook went wrong

    @property
    def fired(self) -> list[AlertCheck]:
        return [c for c in self.checks if c.fires]

    def as_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "alert": bool(self.fired),
            "checks": [c.as_dict() for c in self.checks],
            "actions": self.actions,
            "problems": self.problems,
        }


def check_roots(roots: list[Path], threshold: int) -> list[AlertCheck]:
    """Measure every root against ``threshold`` (percent)."""
    return [AlertCheck(root_usage(root), threshold) for root in roots]


def run_alert(
    cfg: SiteConfig, *, threshold: int | None = None, dry_run: bool = False
) -> AlertOutcome:
    """Check every storage root; for each one that fires, log it and run the hook."""
    limit = cfg.alert.threshold_percent if threshold is None else threshold
    outcome = AlertOutcome(check_roots(cfg.storage_roots, limit), dry_run)
    for check in outcome.fired:
        _record(cfg, check, outcome)
        if cfg.alert.hook is not None:
            _run_hook(cfg.alert.hook, check, outcome)
    return outcome


def _record(cfg: SiteConfig, check: AlertCheck, outcome: AlertOutcome) -> None:
    """Action log (persistent data root, root only) plus syslog; syslog alone otherwise."""
    if outcome.dry_run:
        outcome.actions.append(
            _("would log the alert for {root} (action log and syslog)").format(
                root=check.usage.root
            )
        )
        return
    resource = f"disk {check.usage.root}"
    why_not = log_alert(cfg, resource, check.sentence(), check.as_dict(), code="disk.alert")
    if why_not is None:
        outcome.actions.append(
            _("logged the alert for {root} (action log and syslog)").format(root=check.usage.root)
        )
        return
    outcome.actions.append(_("sent the alert for {root} to syslog").format(root=check.usage.root))
    outcome.problems.append(_("not written to the action log: {why}").format(why=why_not))


def log_alert(
    cfg: SiteConfig, resource: str, sentence: str, details: dict[str, Any], *, code: str
) -> str | None:
    """One ``alert`` record in the action log (persistent data root, root only) and
    syslog; syslog alone otherwise. None when logged, else why the log file was not.
    ``code`` is the record's stable kind (``disk.alert``)."""
    why_not = _why_no_log_file(cfg)
    if why_not is None:
        try:
            record_event(
                cfg, code=code, resource=resource, event=sentence, outcome="alert", details=details
            )
            return None  # record_event also sends the line to syslog
        except (OSError, DatakeeperError) as error:  # the hook must still run
            why_not = str(error)
    send_to_syslog(sentence)
    return why_not


def _why_no_log_file(cfg: SiteConfig) -> str | None:
    if os.geteuid() != 0:
        return _("only root writes the action log")
    if not inspect(cfg.storage.data_root).persistent:
        return _("{root} is not the persistent disk").format(root=cfg.storage.data_root)
    return None


def send_to_syslog(message: str) -> None:
    """A warning in syslog/the journal (ident ``datakeeper``), best effort."""
    if syslog is None:
        return
    try:
        syslog.openlog("datakeeper", syslog.LOG_PID, syslog.LOG_USER)
        syslog.syslog(syslog.LOG_WARNING, message)
    except (OSError, ValueError):
        return


def _run_hook(hook: Path, check: AlertCheck, outcome: AlertOutcome) -> None:
    """Run the admin's hook with the figures; its failure is reported, never raised."""
    figures = " ".join(f"{k}={v}" for k, v in check.environment().items())
    if outcome.dry_run:
        outcome.actions.append(
            _("would run {hook} with {figures}").format(hook=hook, figures=figures)
        )
        return
    problem = run_hook(hook, check.environment())
    if problem:
        outcome.problems.append(problem)
        return
    outcome.actions.append(_("ran {hook} for {root}").format(hook=hook, root=check.usage.root))


def run_hook(hook: Path, environment: dict[str, str]) -> str | None:
    """Run the admin's hook with ``environment`` added (as root, only a trusted file);
    None when it succeeded, else the problem in one sentence (never raised)."""
    refused = _untrusted_hook(hook)
    if refused:
        return refused
    env = {**os.environ, **environment}
    try:
        result = subprocess.run(
            [str(hook)], env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
            timeout=HOOK_TIMEOUT_SECONDS, check=False,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError) as error:
        return _("hook {hook} did not run: {why}").format(hook=hook, why=error)
    if result.returncode != 0:
        output = " ".join((result.stderr or result.stdout).split())[:300]
        return _("hook {hook} failed (exit {rc}): {output}").format(
            hook=hook, rc=result.returncode, output=output or _("no output")
        )
    return None


def _untrusted_hook(hook: Path) -> str | None:
    """Root runs the hook: it must be a file only root can change (see trust.py)."""
    if os.geteuid() != 0:
        return None  # a user's own run can only hurt the user
    problems = audit_trusted_file(hook)
    if not problems:
        return None
    return _(
        "hook {hook} not run: root runs only a file that is root's all the way up "
        "(every folder up to / owned by root and writable by root alone, or sticky) ({why})"
    ).format(hook=hook, why="; ".join(problems))
