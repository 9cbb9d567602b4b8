"""Run ``datakeeper disk alert`` on a schedule: a systemd timer, or cron without systemd.

``enable`` also leaves a flag on persistent storage, so ``recover`` brings the
schedule back after a wipe took ``/etc`` with it, and ``check`` plans the same
resources to find drift.
"""

from __future__ import annotations

import os
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from datakeeper.engine import Outcome, Resource
from datakeeper.engine.session import converge
from datakeeper.errors import RefusedError
from datakeeper.features.drift import FileState, converged, file_states
from datakeeper.i18n import _
from datakeeper.managed import OwnedFilesManifest
from datakeeper.paths import INSTALLED_TOOL
from datakeeper.resources import ManagedFile
from datakeeper.resources.absent import Absent
from datakeeper.resources.ownership import Ownership
from datakeeper.resources.systemd_unit import DaemonReload, SystemdUnits
from datakeeper.system import systemd
from datakeeper.system.systemd import UnitState
from datakeeper.trust import guarded_command

if TYPE_CHECKING:
    from datakeeper.config import SiteConfig


UNIT_NAME = "datakeeper-disk-alert"
TIMER = f"{UNIT_NAME}.timer"
CRON_PATH = Path("/etc/cron.d/datakeeper-disk-alert")  # no dot: cron skips such names
CRON_TIMES = {"hourly": "0 * * * *", "daily": "0 0 * * *"}
FLAG_TEXT = b"datakeeper: the disk alert schedule is enabled\n"
CRON_HEADER = (
    "# Managed by datakeeper (datakeeper disk alert enable); edits here are overwritten.\n"
)
ROOT_FILE = Ownership("root", "root", 0o644)  # cron and systemd ignore others' files


@dataclass(frozen=True)
class Schedule:
    """Where the schedule goes: systemd units, or the cron file."""

    use_systemd: bool
    unit_dir: Path
    cron_path: Path = CRON_PATH
    unit_name: str = UNIT_NAME  # the backup schedule has units of its own

    @classmethod
    def for_this_system(cls, unit_name: str = UNIT_NAME, cron_path: Path = CRON_PATH) -> Schedule:
        return cls(systemd.is_running(), systemd.UNIT_DIR, cron_path, unit_name)

    @property
    def timer(self) -> str:
        return f"{self.unit_name}.timer"

    @property
    def unit_paths(self) -> tuple[Path, Path]:
        return self.unit_dir / f"{self.unit_name}.service", self.unit_dir / self.timer

    @property
    def mechanism(self) -> str:
        return "systemd" if self.use_systemd else "cron"

    def all_paths(self) -> list[Path]:
        """Every file either mechanism writes."""
        return [*self.unit_paths, self.cron_path]


def alert_command(cfg: SiteConfig, config_path: Path) -> list[str]:
    """The command the schedule runs (see ``scheduled_command``)."""
    return scheduled_command(cfg, config_path, "disk", "alert", "--quiet")


def scheduled_command(cfg: SiteConfig, config_path: Path, *args: str) -> list[str]:
    """What a timer or cron runs: the persistent install when there is one, so it
    still works after a wipe, else the datakeeper running now; always with this config."""
    installed = cfg.storage.data_root / INSTALLED_TOOL
    running = Path(os.path.realpath(sys.argv[0]))
    if installed.exists():  # root runs it every hour: only behind the path guard
        program = guarded_command(installed)
    elif running.name.startswith("datakeeper") and os.access(running, os.X_OK):
        program = [str(running)]
    else:  # started as "python -m datakeeper" (or from a test runner)
        program = [sys.executable, "-m", "datakeeper"]
    return [*program, "--config", str(config_path), *args]


def schedule_files(cfg: SiteConfig, config_path: Path, schedule: Schedule) -> dict[Path, bytes]:
    """The files ``enable`` writes: two units, or one cron file."""
    argv = alert_command(cfg, config_path)
    if schedule.use_systemd:
        service, timer = schedule.unit_paths
        text = {
            service: systemd.oneshot_service(_("datakeeper: warn when storage fills up"), argv),
            timer: systemd.calendar_timer(
                _("datakeeper: check storage use"), cfg.alert.interval, service.name
            ),
        }
    else:
        text = {schedule.cron_path: cron_file(CRON_HEADER, CRON_TIMES[cfg.alert.interval], argv)}
    return {path: content.encode() for path, content in text.items()}


def cron_file(header: str, when: str, argv: list[str]) -> str:
    """A cron.d file running ``argv`` as root at ``when`` (five cron fields)."""
    path_line = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"
    return header + "SHELL=/bin/sh\n" + path_line + f"{when} root {_cron_command(argv)}\n"


def _cron_command(argv: list[str]) -> str:
    return shlex.join(argv).replace("%", "\\%")  # cron turns a bare % into a newline


def flag_path(cfg: SiteConfig) -> Path:
    """On persistent storage: the schedule is enabled (``recover`` recreates it)."""
    return cfg.state_dir / "disk-alert-enabled"


def schedule_resources(
    cfg: SiteConfig, config_path: Path, schedule: Schedule | None = None
) -> list[Resource]:
    """The files (and timer state) of an enabled schedule."""
    schedule = schedule or Schedule.for_this_system()
    return timer_resources(cfg, schedule, schedule_files(cfg, config_path, schedule))


def timer_resources(
    cfg: SiteConfig, schedule: Schedule, wanted: dict[Path, bytes]
) -> list[Resource]:
    """The ``wanted`` files of ``schedule`` (the other mechanism's absent), and under
    systemd its timer enabled and running. Shared by every scheduled datakeeper job."""
    manifest = OwnedFilesManifest(cfg.managed_files_path)
    resources: list[Resource] = [ManagedFile(p, c, ROOT_FILE, manifest) for p, c in wanted.items()]
    resources += [Absent(p, manifest) for p in schedule.all_paths() if p not in wanted]
    if schedule.use_systemd:
        timer = schedule.timer
        resources.append(SystemdUnits(f"timer {timer}", (timer,), running=(timer,)))
    return resources


def enable_resources(
    cfg: SiteConfig, schedule: Schedule, flag: Path, flag_text: bytes, job: list[Resource]
) -> list[Resource]:
    """The persistent flag (``recover`` and ``check`` follow it), then the ``job``'s
    resources; refused where neither systemd nor cron could run it."""
    if not schedule.use_systemd and not schedule.cron_path.parent.is_dir():
        raise RefusedError(
            _("there is neither systemd nor {dir}: install cron, then run again").format(
                dir=schedule.cron_path.parent
            )
        )
    manifest = OwnedFilesManifest(cfg.managed_files_path)
    return [ManagedFile(flag, flag_text, Ownership("root", "root", 0o600), manifest), *job]


def disable_resources(cfg: SiteConfig, schedule: Schedule, flag: Path) -> list[Resource]:
    """The timer stopped, every file either mechanism writes and the flag removed."""
    manifest = OwnedFilesManifest(cfg.managed_files_path)
    timer = schedule.timer
    resources: list[Resource] = []
    if schedule.use_systemd:
        resources.append(SystemdUnits(f"timer {timer}", (timer,), (timer,), enabled=False))
    resources += [Absent(p, manifest) for p in [*schedule.all_paths(), flag]]
    if schedule.use_systemd:
        resources.append(DaemonReload((f"{schedule.unit_name}.service", timer)))
    return resources


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
    schedule = schedule or Schedule.for_this_system()
    job = schedule_resources(cfg, config_path, schedule)
    resources = enable_resources(cfg, schedule, flag_path(cfg), FLAG_TEXT, job)
    return converge(cfg, resources, dry_run=dry_run, on_change=on_change)


def disable_schedule(
    cfg: SiteConfig, *, dry_run: bool, schedule: Schedule | None = None, on_change=None
) -> Outcome:
    """Stop the timer and remove the flag and every file ``enable_schedule`` wrote."""
    schedule = schedule or Schedule.for_this_system()
    resources = disable_resources(cfg, schedule, flag_path(cfg))
    return converge(cfg, resources, dry_run=dry_run, on_change=on_change)


@dataclass(frozen=True)
class ScheduleStatus:
    """How the alert is scheduled, and whether it is in place as ``enable`` leaves it."""

    mechanism: str
    interval: str
    threshold: int
    command: list[str]
    files: list[FileState]
    enabled: bool
    timer: UnitState | None = field(default=None)

    def as_dict(self) -> dict[str, Any]:
        """JSON-able (the keys ``disk alert status --json`` prints)."""
        found: dict[str, Any] = {
            "mechanism": self.mechanism,
            "interval": self.interval,
            "threshold": self.threshold,
            "command": self.command,
            "files": [f.as_dict() for f in self.files],
        }
        if self.timer is not None:
            found["timer"] = self.timer.as_dict()
        found["enabled"] = self.enabled
        return found


def schedule_status(
    cfg: SiteConfig, config_path: Path, schedule: Schedule | None = None
) -> ScheduleStatus:
    """Whether the schedule is in place: ``enable`` would plan nothing."""
    schedule = schedule or Schedule.for_this_system()
    resources = schedule_resources(cfg, config_path, schedule)
    order = schedule.all_paths()
    files = sorted(file_states(resources), key=lambda f: order.index(f.path))
    return ScheduleStatus(
        mechanism=schedule.mechanism,
        interval=cfg.alert.interval,
        threshold=cfg.alert.threshold_percent,
        command=alert_command(cfg, config_path),
        files=files,
        enabled=all(converged(r) for r in resources),
        timer=systemd.unit_state(TIMER) if schedule.use_systemd else None,
    )
