"""Run ``datakeeper backup run --scheduled`` on ``[backup] schedule``: a systemd
timer, or cron without systemd.

Built from the disk alert's schedule pieces (``disk.schedule``): the same
``Schedule`` places, the same guarded command, the same cron file; only the
names, the calendar and the flag differ. ``enable`` leaves the flag on
persistent storage, so ``recover`` brings the schedule back after a wipe and
``check`` plans the same resources to find drift (``features/enabled.py``).
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from datakeeper.config.calendar import parse_calendar
from datakeeper.engine import Outcome, Resource
from datakeeper.engine.session import converge
from datakeeper.features.backup import last_run
from datakeeper.features.disk.schedule import (
    Schedule,
    cron_file,
    disable_resources,
    enable_resources,
    scheduled_command,
    timer_resources,
)
from datakeeper.features.drift import converged
from datakeeper.i18n import _
from datakeeper.status import yes_no
from datakeeper.system import systemd
from datakeeper.text import printable

if TYPE_CHECKING:
    from datakeeper.config import SiteConfig

UNIT_NAME = "datakeeper-backup"
CRON_PATH = Path("/etc/cron.d/datakeeper-backup")  # no dot: cron skips such names
FLAG_NAME = "backup-schedule-enabled"
FLAG_TEXT = b"datakeeper: the backup schedule is enabled\n"
CRON_HEADER = "# Managed by datakeeper (datakeeper backup enable); edits here are overwritten.\n"


def backup_schedule() -> Schedule:
    """Where this system keeps the backup schedule: systemd units, or the cron file."""
    return Schedule.for_this_system(UNIT_NAME, CRON_PATH)


def backup_command(cfg: SiteConfig, config_path: Path) -> list[str]:
    """What the timer runs: the persistent datakeeper behind the trust guard."""
    return scheduled_command(cfg, config_path, "backup", "run", "--scheduled")


def schedule_files(cfg: SiteConfig, config_path: Path, schedule: Schedule) -> dict[Path, bytes]:
    """The files ``enable`` writes: two units, or one cron file."""
    argv = backup_command(cfg, config_path)
    calendar = parse_calendar(cfg.backup.schedule)
    if schedule.use_systemd:
        service, timer = schedule.unit_paths
        text = {
            service: systemd.oneshot_service(_("datakeeper: take a backup snapshot"), argv),
            timer: systemd.calendar_timer(
                _("datakeeper: nightly backup snapshot"), calendar.on_calendar, service.name
            ),
        }
    else:
        text = {schedule.cron_path: cron_file(CRON_HEADER, calendar.cron, argv)}
    return {path: content.encode() for path, content in text.items()}


def flag_path(cfg: SiteConfig) -> Path:
    """On persistent storage: the schedule is enabled (``recover`` recreates it)."""
    return cfg.state_dir / FLAG_NAME


def schedule_resources(
    cfg: SiteConfig, config_path: Path, schedule: Schedule | None = None
) -> list[Resource]:
    """The files (and timer state) of an enabled schedule."""
    schedule = schedule or backup_schedule()
    return timer_resources(cfg, schedule, schedule_files(cfg, config_path, schedule))


def enabled_resources(cfg: SiteConfig, config_path: Path) -> list[Resource]:
    """The schedule, if it was enabled: what ``recover`` recreates and ``check`` plans."""
    if not flag_path(cfg).exists():
        return []
    return schedule_resources(cfg, config_path)


def enable_schedule(
    cfg: SiteConfig,
    config_path: Path,
    *,
    dry_run: bool,
    schedule: Schedule | None = None,
    on_change=None,
) -> Outcome:
    """Write the flag and the schedule's files (and start the timer under systemd)."""
    schedule = schedule or backup_schedule()
    job = schedule_resources(cfg, config_path, schedule)
    resources = enable_resources(cfg, schedule, flag_path(cfg), FLAG_TEXT, job)
    return converge(cfg, resources, dry_run=dry_run, on_change=on_change)


def disable_schedule(
    cfg: SiteConfig, *, dry_run: bool, schedule: Schedule | None = None, on_change=None
) -> Outcome:
    """Stop the timer and remove the flag and every file ``enable_schedule`` wrote."""
    schedule = schedule or backup_schedule()
    resources = disable_resources(cfg, schedule, flag_path(cfg))
    return converge(cfg, resources, dry_run=dry_run, on_change=on_change)


@dataclass(frozen=True)
class BackupStatus:
    """``backup status``: the schedule, the last run, the next one."""

    mechanism: str
    schedule: str
    enabled: bool
    in_place: bool  # the files and timer are as ``enable`` leaves them
    next_run: str | None
    last: last_run.LastRun | None

    def as_dict(self) -> dict[str, Any]:
        """JSON-able (``backup status --json``)."""
        return {
            "mechanism": self.mechanism,
            "schedule": self.schedule,
            "enabled": self.enabled,
            "in_place": self.in_place,
            "next_run": self.next_run,
            "last_run": self.last.as_dict() if self.last else None,
        }

    def lines(self) -> list[str]:
        """What ``backup status`` and the menu's Backups screen show."""
        if not self.enabled:
            lines = [_("schedule: off (turn it on with 'datakeeper backup enable')")]
        else:
            state = _("enabled") if self.in_place else _("enabled, not in place: run check --fix")
            lines = [
                _("schedule: {when} ({mechanism}), {state}").format(
                    when=self.schedule, mechanism=self.mechanism, state=state
                ),
                _("next run: {when}").format(when=self.next_run or "-"),
            ]
        last = self.last
        if last is None:
            return [*lines, _("last run: none yet")]
        detail = last.summary if last.ok else last.error
        lines.append(
            _("last run: {when} {mark} {detail}").format(
                when=last.finished, mark=yes_no(last.ok), detail=printable(detail)
            )
        )
        if last.last_error and last.ok:
            lines.append(
                _("last error: {when}: {error}").format(
                    when=last.last_error_at, error=printable(last.last_error)
                )
            )
        return lines


def backup_status(
    cfg: SiteConfig, config_path: Path, schedule: Schedule | None = None
) -> BackupStatus:
    """Whether the schedule is enabled and in place, when it runs next, the last run."""
    schedule = schedule or backup_schedule()
    enabled = flag_path(cfg).exists()
    resources = schedule_resources(cfg, config_path, schedule)
    in_place = enabled and all(converged(r) for r in resources)
    calendar = parse_calendar(cfg.backup.schedule)
    if not enabled:
        next_run = None
    elif schedule.use_systemd:
        next_run = _next_elapse(schedule.timer)
    else:
        next_run = _("cron: {fields}").format(fields=calendar.cron)
    return BackupStatus(
        mechanism=schedule.mechanism,
        schedule=calendar.on_calendar,
        enabled=enabled,
        in_place=in_place,
        next_run=next_run,
        last=last_run.read_last_run(cfg),
    )


def _next_elapse(timer: str) -> str | None:
    """The timer's next run, as ``systemctl list-timers`` shows it."""
    try:
        result = subprocess.run(
            ["systemctl", "show", timer, "--property=NextElapseUSecRealtime", "--value"],
            capture_output=True, text=True, timeout=10, check=False,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    value = result.stdout.strip()
    return value or None
