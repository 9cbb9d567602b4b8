"""The ``[gpu] idle_minutes`` rule: idle GPU holders reported like a full disk.

``datakeeper gpu --alert`` looks at the GPUs, adds a sample, and for every
process that has held memory on an idle GPU for ``idle_minutes`` or more it
takes the disk alert's path (``features.disk.alert``): one line in the action
log and syslog, the admin's ``[alert] hook`` with the figures in its
environment (``DATAKEEPER_ALERT_KIND=gpu-idle``), and exit 1 for cron and
systemd. A dry run only says what it would do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from datakeeper.errors import ConfigError
from datakeeper.features.disk.alert import ENV_PREFIX, log_alert, run_hook
from datakeeper.features.gpu.idle import IdleHolder, IdleReport, SampleStore, find_idle
from datakeeper.features.gpu.snapshot import GpuSnapshot
from datakeeper.i18n import _, ngettext

if TYPE_CHECKING:
    from datakeeper.config import SiteConfig


def idle_sentence(holder: IdleHolder) -> str:
    """What a person (and the log) reads about one idle holder."""
    process = holder.process
    return ngettext(
        "GPU {gpu}: pid {pid} ({user}, {command}) has held memory with the GPU at 0% "
        "for {minutes:.0f} minute",
        "GPU {gpu}: pid {pid} ({user}, {command}) has held memory with the GPU at 0% "
        "for {minutes:.0f} minutes",
        round(holder.minutes),
    ).format(
        gpu=process.gpu,
        pid=process.pid,
        user=process.owner,
        command=process.command or "?",
        minutes=holder.minutes,
    )


def hook_environment(holder: IdleHolder, threshold: int) -> dict[str, str]:
    """The figures a hook receives for one idle holder."""
    process = holder.process
    return {
        f"{ENV_PREFIX}KIND": "gpu-idle",
        f"{ENV_PREFIX}GPU": str(process.gpu),
        f"{ENV_PREFIX}PID": str(process.pid),
        f"{ENV_PREFIX}USER": process.owner,
        f"{ENV_PREFIX}USED_BYTES": "" if process.used_memory is None else str(process.used_memory),
        f"{ENV_PREFIX}IDLE_MINUTES": f"{holder.minutes:.0f}",
        f"{ENV_PREFIX}THRESHOLD": str(threshold),
    }


@dataclass
class GpuAlertOutcome:
    """What ``run_idle_alert`` found and did."""

    report: IdleReport
    dry_run: bool
    actions: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def fired(self) -> bool:
        return bool(self.report.holders)

    def as_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "alert": self.fired,
            **self.report.as_dict(),
            "actions": self.actions,
            "problems": self.problems,
        }


def rule_minutes(cfg: SiteConfig) -> int:
    """``[gpu] idle_minutes``; ``ConfigError`` when the site has no such rule."""
    if not cfg.gpu.idle_minutes:
        raise ConfigError(
            _("no GPU alert rule: set idle_minutes in the [gpu] section of the site config")
        )
    return cfg.gpu.idle_minutes


def run_idle_alert(
    cfg: SiteConfig, snapshot: GpuSnapshot, store: SampleStore | None, *, dry_run: bool = False
) -> GpuAlertOutcome:
    """Apply the rule to ``snapshot``: log each idle holder and run the hook for it."""
    threshold = rule_minutes(cfg)
    outcome = GpuAlertOutcome(find_idle(snapshot, threshold, store, keep=not dry_run), dry_run)
    for holder in outcome.report.holders:
        _report(cfg, holder, threshold, outcome)
    return outcome


def _report(cfg: SiteConfig, holder: IdleHolder, threshold: int, outcome: GpuAlertOutcome) -> None:
    sentence = idle_sentence(holder)
    subject = _("GPU {gpu} pid {pid}").format(gpu=holder.process.gpu, pid=holder.process.pid)
    environment = hook_environment(holder, threshold)
    if outcome.dry_run:
        outcome.actions.append(_("would log the alert for {what}").format(what=subject))
        if cfg.alert.hook is not None:
            figures = " ".join(f"{k}={v}" for k, v in environment.items())
            outcome.actions.append(
                _("would run {hook} with {figures}").format(hook=cfg.alert.hook, figures=figures)
            )
        return
    resource = f"gpu {holder.process.gpu} pid {holder.process.pid}"
    why_not = log_alert(cfg, resource, sentence, holder.as_dict(), code="gpu.idle_alert")
    if why_not is None:
        outcome.actions.append(
            _("logged the alert for {what} (action log and syslog)").format(what=subject)
        )
    else:
        outcome.actions.append(_("sent the alert for {what} to syslog").format(what=subject))
        outcome.problems.append(_("not written to the action log: {why}").format(why=why_not))
    if cfg.alert.hook is not None:
        problem = run_hook(cfg.alert.hook, environment)
        if problem:
            outcome.problems.append(problem)
        else:
            outcome.actions.append(
                _("ran {hook} for {what}").format(hook=cfg.alert.hook, what=subject)
            )
