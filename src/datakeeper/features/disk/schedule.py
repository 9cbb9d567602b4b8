"""Run ``datakeeper disk alert`` on a schedule: a systemd timer, or cron without systemd.

``enable`` also leaves a flag on persistent storage, so ``recover`` brings the
schedule back after a wipe took ``/etc`` with it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from datakeeper.engine import Change, Outcome, Resource
from datakeeper.errors import RefusedError
from datakeeper.i18n import _
from datakeeper.managed import ManagedFiles
from datakeeper.resources.absent import Absent
from datakeeper.system.fs import read_nofollow

if TYPE_CHECKING:
    from datakeeper.config import SiteConfig


UNIT_NAME = "datakeeper-disk-alert"
CRON_PATH = Path("/etc/cron.d/datakeeper-disk-alert")  # no dot: cron skips such names
CRON_TIMES = {"hourly": "0 * * * *", "daily": "0 0 * * *"}
FLAG_TEXT = b"datakeeper: the disk alert schedule is enabled\n"
CRON_HEADER = (
    "# Managed by datakeeper (datakeeper disk alert enable); edits here are overwritten.\n"
)


@dataclass(frozen=True)
class Schedule:
    """Where the schedule goes: systemd units, or the cron file."""

    use_systemd: bool
    unit_dir: Path
    cron_path: Path = CRON_PATH

    @classmethod
    def for_this_system(cls) -> Schedule:
        from datakeeper.system import systemd

        return cls(systemd.is_running(), systemd.UNIT_DIR)

    @property
    def unit_paths(self) -> tuple[Path, Path]:
        return self.unit_dir / f"{UNIT_NAME}.service", self.unit_dir / f"{UNIT_NAME}.timer"

    @property
    def mechanism(self) -> str:
        return "systemd" if self.use_systemd else "cron"


def alert_command(cfg: SiteConfig, config_path: Path) -> list[str]:
    """The command the schedule runs: the persistent install when there is one, so it
    still works after a wipe, else the datakeeper running now; always with this config."""
    import sys

    installed = cfg.storage.data_root / "apps/datakeeper/current/bin/datakeeper"
    running = Path(os.path.realpath(sys.argv[0]))
    if installed.exists():
        program = [str(installed)]
    elif running.name.startswith("datakeeper") and os.access(running, os.X_OK):
        program = [str(running)]
    else:  # started as "python -m datakeeper" (or from a test runner)
        program = [sys.executable, "-m", "datakeeper"]
    return [*program, "--config", str(config_path), "disk", "alert", "--quiet"]


def schedule_files(cfg: SiteConfig, config_path: Path, schedule: Schedule) -> dict[Path, bytes]:
    """The files ``enable`` writes: two units, or one cron file."""
    from datakeeper.system import systemd

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
        line = f"{CRON_TIMES[cfg.alert.interval]} root {_cron_command(argv)}\n"
        path_line = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"
        text = {schedule.cron_path: CRON_HEADER + "SHELL=/bin/sh\n" + path_line + line}
    return {path: content.encode() for path, content in text.items()}


def _cron_command(argv: list[str]) -> str:
    import shlex

    return shlex.join(argv).replace("%", "\\%")  # cron turns a bare % into a newline


def flag_path(cfg: SiteConfig) -> Path:
    """On persistent storage: the schedule is enabled (``recover`` recreates it)."""
    return cfg.state_dir / "disk-alert-enabled"


def schedule_resources(
    cfg: SiteConfig, config_path: Path, schedule: Schedule | None = None
) -> list[Resource]:
    """The files (and timer state) of an enabled schedule."""
    from datakeeper.resources import ManagedFile
    from datakeeper.resources.ownership import Ownership

    schedule = schedule or Schedule.for_this_system()
    manifest = ManagedFiles(cfg.managed_files_path)
    wanted = schedule_files(cfg, config_path, schedule)
    root_file = Ownership("root", "root", 0o644)  # cron and systemd ignore others' files
    resources: list[Resource] = [ManagedFile(p, c, root_file, manifest) for p, c in wanted.items()]
    resources += [Absent(p, manifest) for p in _all_paths(schedule) if p not in wanted]
    if schedule.use_systemd:
        resources.append(_TimerState(f"{UNIT_NAME}.timer", enabled=True))
    elif not schedule.cron_path.parent.is_dir():
        raise RefusedError(
            _("there is neither systemd nor {dir}: install cron, then run again").format(
                dir=schedule.cron_path.parent
            )
        )
    return resources


def recovery_resources(cfg: SiteConfig, config_path: Path) -> list[Resource]:
    """What ``recover`` recreates after a wipe: the schedule, if it was enabled."""
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
    from datakeeper.engine.session import converge
    from datakeeper.resources import ManagedFile
    from datakeeper.resources.ownership import Ownership

    manifest = ManagedFiles(cfg.managed_files_path)
    flag = ManagedFile(flag_path(cfg), FLAG_TEXT, Ownership("root", "root", 0o600), manifest)
    resources = [flag, *schedule_resources(cfg, config_path, schedule)]
    return converge(cfg, resources, dry_run=dry_run, on_change=on_change)


def disable_schedule(
    cfg: SiteConfig, *, dry_run: bool, schedule: Schedule | None = None, on_change=None
) -> Outcome:
    """Stop the timer and remove the flag and every file ``enable_schedule`` wrote."""
    from datakeeper.engine.session import converge

    schedule = schedule or Schedule.for_this_system()
    manifest = ManagedFiles(cfg.managed_files_path)
    resources: list[Resource] = []
    if schedule.use_systemd:
        resources.append(_TimerState(f"{UNIT_NAME}.timer", enabled=False))
    resources += [Absent(p, manifest) for p in [*_all_paths(schedule), flag_path(cfg)]]
    return converge(cfg, resources, dry_run=dry_run, on_change=on_change)


def schedule_status(
    cfg: SiteConfig, config_path: Path, schedule: Schedule | None = None
) -> dict[str, Any]:
    """Whether the schedule is installed, current (as ``enable`` would write it) and running."""
    from datakeeper.system import systemd

    schedule = schedule or Schedule.for_this_system()
    wanted = schedule_files(cfg, config_path, schedule)
    files = []
    for path in _all_paths(schedule):
        content = read_nofollow(path)
        current = path in wanted and content == wanted[path]
        files.append({"path": str(path), "present": content is not None, "current": current})
    status: dict[str, Any] = {
        "mechanism": schedule.mechanism,
        "interval": cfg.alert.interval,
        "threshold": cfg.alert.threshold_percent,
        "command": alert_command(cfg, config_path),
        "files": files,
    }
    installed = all(f["current"] for f in files if Path(f["path"]) in wanted)
    if schedule.use_systemd:
        status["timer"] = systemd.unit_state(f"{UNIT_NAME}.timer")
        installed = installed and status["timer"]["active"] == "active"
    status["enabled"] = installed
    return status


def _all_paths(schedule: Schedule) -> list[Path]:
    return [*schedule.unit_paths, schedule.cron_path]


@dataclass(frozen=True)
class _TimerState(Resource):
    """A systemd timer enabled and running (after a daemon-reload), or stopped and disabled."""

    unit: str
    enabled: bool

    @property
    def id(self) -> str:
        return f"timer {self.unit}"

    def plan(self) -> list[Change]:
        from datakeeper.system import systemd

        state = systemd.unit_state(self.unit)
        running = state["enabled"] == "enabled" and state["active"] == "active"
        if self.enabled and (not running or state["needs_reload"] == "yes"):
            summary = _("reload systemd, enable and start {unit}").format(unit=self.unit)
            return [Change(self.id, summary, lambda: _start(self.unit))]
        if not self.enabled and state["enabled"] in ("enabled", "enabled-runtime"):
            summary = _("stop and disable {unit}").format(unit=self.unit)
            return [Change(self.id, summary, lambda: systemd.disable_now(self.unit))]
        return []


def _start(unit: str) -> None:
    from datakeeper.system import systemd

    systemd.daemon_reload()
    systemd.enable_now(unit)
