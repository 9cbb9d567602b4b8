"""The last ``backup run``'s result, kept in the state directory for ``backup status``,
and the alert a failed scheduled run raises.

A failed scheduled run is an alert like a full disk: one ``alert`` record in
the action log (or syslog) and the admin's ``[alert] hook``, through the same
functions ``disk alert`` uses.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from datakeeper.errors import DatakeeperError
from datakeeper.features.backup import layout
from datakeeper.features.backup.run import RunReport, run_backup
from datakeeper.features.disk.alert import ENV_PREFIX, log_alert, run_hook
from datakeeper.i18n import _
from datakeeper.system.fs import atomic_write

if TYPE_CHECKING:
    from datakeeper.config import SiteConfig
    from datakeeper.engine import Outcome

RECORD_NAME = "backup-last-run.json"


@dataclass(frozen=True)
class LastRun:
    """One finished run: when, whether it worked, what it made or why it failed."""

    finished: str  # ISO time, UTC
    ok: bool
    scheduled: bool
    summary: str = ""
    error: str = ""
    last_error: str = ""  # the newest failure, kept after a later success
    last_error_at: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "finished": self.finished,
            "ok": self.ok,
            "scheduled": self.scheduled,
            "summary": self.summary,
            "error": self.error,
            "last_error": self.last_error,
            "last_error_at": self.last_error_at,
        }


def record_path(cfg: SiteConfig) -> Path:
    """Where the last run is recorded (root-only, on persistent storage)."""
    return cfg.state_dir / RECORD_NAME


def read_last_run(cfg: SiteConfig) -> LastRun | None:
    """The recorded last run, or None when there is none (or it cannot be read)."""
    data = layout.read_json(record_path(cfg))
    if data is None:
        return None
    names = LastRun.__dataclass_fields__
    try:
        return LastRun(**{k: v for k, v in data.items() if k in names})
    except TypeError:
        return None


def record_run(
    cfg: SiteConfig, *, ok: bool, scheduled: bool, summary: str = "", error: str = ""
) -> LastRun:
    """Write this run's result; a failure also becomes the "last error"."""
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    previous = read_last_run(cfg)
    last_error = error if not ok else (previous.last_error if previous else "")
    last_error_at = now if not ok else (previous.last_error_at if previous else "")
    run = LastRun(now, ok, scheduled, summary, error, last_error, last_error_at)
    if cfg.state_dir.is_dir():  # not there: /data is not mounted, never write on the SSD
        text = json.dumps(run.as_dict(), indent=2) + "\n"
        atomic_write(record_path(cfg), text.encode(), mode=0o600)
    return run


@dataclass
class FailureAlert:
    """What was done about a failed scheduled run."""

    actions: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def alert_failure(cfg: SiteConfig, error: str) -> FailureAlert:
    """Log the failure as an alert and run ``[alert] hook`` with it in the environment."""
    result = FailureAlert()
    sentence = _("the scheduled backup failed: {error}").format(error=error)
    details = {"error": error}
    why_not = log_alert(cfg, "backup schedule", sentence, details, code="backup.schedule_failed")
    if why_not is None:
        result.actions.append(_("logged the failed backup (action log and syslog)"))
    else:
        result.actions.append(_("sent the failed backup to syslog"))
        result.problems.append(_("not written to the action log: {why}").format(why=why_not))
    if cfg.alert.hook is not None:
        problem = run_hook(cfg.alert.hook, failure_environment(cfg, error))
        if problem:
            result.problems.append(problem)
        else:
            result.actions.append(_("ran {hook}").format(hook=cfg.alert.hook))
    return result


def failure_environment(cfg: SiteConfig, error: str) -> dict[str, str]:
    """What the hook receives about a failed backup."""
    root = cfg.storage.backup_root
    return {
        f"{ENV_PREFIX}KIND": "backup",
        f"{ENV_PREFIX}ROOT": str(root) if root is not None else "",
        f"{ENV_PREFIX}MESSAGE": " ".join(error.split())[:500],
    }


def record_result(
    cfg: SiteConfig, *, scheduled: bool, summary: str = "", error: str = ""
) -> list[str]:
    """Keep a real run's result for ``backup status``; a failed scheduled run also
    raises the alert. The problems met on the way, as sentences (never raised: the
    run's own result decides what the caller reports)."""
    problems: list[str] = []
    try:
        record_run(cfg, ok=not error, scheduled=scheduled, summary=summary, error=error)
    except OSError as problem:
        why = problem.strerror or str(problem)
        problems.append(_("the run was not recorded for 'backup status': {why}").format(why=why))
    if error and scheduled:
        problems += alert_failure(cfg, error).problems
    return problems


def run_summary(outcome: Outcome) -> tuple[str, str]:
    """(summary, error) of a finished run's outcome, as ``record_result`` takes them."""
    failed = "; ".join(f"{resource}: {error}" for resource, error in outcome.failed)
    done = "; ".join(str(change.result) for change in outcome.applied if change.result)
    return done, failed


def run_recorded(
    cfg: SiteConfig,
    config_path: Path | None,
    *,
    dry_run: bool,
    scheduled: bool = False,
    warn: Callable[[str], None] | None = None,
) -> RunReport:
    """``run_backup``, its result kept for ``backup status`` (a real run only) and a
    failed scheduled run alerted; ``warn`` hears the problems met doing so."""
    try:
        report = run_backup(cfg, config_path, dry_run=dry_run)
    except DatakeeperError as error:
        if not dry_run:
            _tell(warn, record_result(cfg, scheduled=scheduled, error=str(error)))
        raise
    if not dry_run:
        done, failed = run_summary(report.outcome)
        _tell(warn, record_result(cfg, scheduled=scheduled, summary=done, error=failed))
    return report


def _tell(warn: Callable[[str], None] | None, problems: list[str]) -> None:
    for problem in problems if warn is not None else ():
        warn(problem)
