"""``datakeeper disk alert``: warn when a storage root fills up.

Every storage root whose use reaches the threshold (``percent >= threshold``,
percent as df's "Use%": used / (used + available)) fires: a line in the
action log (only when the data root is the persistent disk, so a failed
mount never leaves a log on the SSD) and in syslog/the journal, then the
admin's hook from the config with the figures in its environment. The caller
exits 1 so cron and systemd notice. A dry run only says what it would do.
``enable_schedule`` runs it hourly: a systemd timer, or a cron entry without systemd.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from datakeeper.engine import Change, Outcome, Resource
from datakeeper.errors import ConflictError, DatakeeperError, RefusedError
from datakeeper.features.disk_usage import RootUsage, human_size, root_usage
from datakeeper.i18n import _
from datakeeper.managed import ManagedFiles

if TYPE_CHECKING:
    from datakeeper.config import SiteConfig

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
        outcome.actions.append(_("would log: {line}").format(line=check.sentence()))
        return
    why_not = _why_no_log_file(cfg)
    if why_not is None:
        try:
            _log_file(cfg, check)
            outcome.actions.append(_("logged: {line}").format(line=check.sentence()))
            return
        except (OSError, DatakeeperError) as error:  # the hook must still run
            why_not = str(error)
    send_to_syslog(check.sentence())
    outcome.actions.append(_("sent to syslog: {line}").format(line=check.sentence()))
    outcome.problems.append(_("not written to the action log: {why}").format(why=why_not))


def _why_no_log_file(cfg: SiteConfig) -> str | None:
    from datakeeper.storage import inspect

    if os.geteuid() != 0:
        return _("only root writes the action log")
    if not inspect(cfg.storage.data_root).persistent:
        return _("{root} is not the persistent disk").format(root=cfg.storage.data_root)
    return None


def _log_file(cfg: SiteConfig, check: AlertCheck) -> None:
    from datakeeper.actionlog import ActionLog

    cfg.state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    ActionLog(cfg.action_log_path).record(  # also sends the line to syslog
        resource=f"disk {check.usage.root}",
        change=check.sentence(),
        outcome="alert",
        details=check.as_dict(),
    )


def send_to_syslog(message: str) -> None:
    """A warning in syslog/the journal (ident ``datakeeper``), best effort."""
    try:
        import syslog
    except ImportError:
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
    refused = _untrusted_hook(hook)
    if refused:
        outcome.problems.append(refused)
        return
    env = {**os.environ, **check.environment()}
    try:
        result = subprocess.run(
            [str(hook)], env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
            timeout=HOOK_TIMEOUT_SECONDS, check=False,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError) as error:
        outcome.problems.append(_("hook {hook} did not run: {why}").format(hook=hook, why=error))
        return
    if result.returncode != 0:
        output = " ".join((result.stderr or result.stdout).split())[:300]
        outcome.problems.append(
            _("hook {hook} failed (exit {rc}): {output}").format(
                hook=hook, rc=result.returncode, output=output or _("no output")
            )
        )
        return
    outcome.actions.append(_("ran {hook} for {root}").format(hook=hook, root=check.usage.root))


def _untrusted_hook(hook: Path) -> str | None:
    """Root runs the hook: it must be a file only root can change (see trust.py)."""
    if os.geteuid() != 0:
        return None  # a user's own run can only hurt the user
    from datakeeper.trust import audit_trusted_file

    problems = audit_trusted_file(hook)
    if not problems:
        return None
    return _("hook {hook} not run: root must not run a file others can change ({why})").format(
        hook=hook, why="; ".join(problems)
    )


# -- scheduling: an hourly systemd timer, or a cron entry where systemd is absent --

UNIT_NAME = "datakeeper-disk-alert"
CRON_PATH = Path("/etc/cron.d/datakeeper-disk-alert")  # no dot: cron skips such names
CRON_TIMES = {"hourly": "0 * * * *", "daily": "0 0 * * *"}
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


def enable_schedule(
    cfg: SiteConfig, config_path: Path, *, dry_run: bool, schedule: Schedule | None = None,
    on_change=None,
) -> Outcome:  # fmt: skip
    """Write the schedule's files (and start the timer under systemd); idempotent."""
    from datakeeper.resources import ManagedFile
    from datakeeper.resources.ownership import Ownership
    from datakeeper.runtime import converge

    schedule = schedule or Schedule.for_this_system()
    manifest = ManagedFiles(cfg.managed_files_path)
    wanted = schedule_files(cfg, config_path, schedule)
    root_file = Ownership("root", "root", 0o644)  # cron and systemd ignore others' files
    resources: list[Resource] = [ManagedFile(p, c, root_file, manifest) for p, c in wanted.items()]
    resources += [_Removed(p, manifest) for p in _all_paths(schedule) if p not in wanted]
    if schedule.use_systemd:
        resources.append(_TimerState(f"{UNIT_NAME}.timer", enabled=True))
    elif not schedule.cron_path.parent.is_dir():
        raise RefusedError(
            _("there is neither systemd nor {dir}: install cron, then run again").format(
                dir=schedule.cron_path.parent
            )
        )
    return converge(cfg, resources, dry_run=dry_run, on_change=on_change)


def disable_schedule(
    cfg: SiteConfig, *, dry_run: bool, schedule: Schedule | None = None, on_change=None
) -> Outcome:
    """Stop the timer and remove every file ``enable_schedule`` wrote."""
    from datakeeper.runtime import converge

    schedule = schedule or Schedule.for_this_system()
    manifest = ManagedFiles(cfg.managed_files_path)
    resources: list[Resource] = []
    if schedule.use_systemd:
        resources.append(_TimerState(f"{UNIT_NAME}.timer", enabled=False))
    resources += [_Removed(p, manifest) for p in _all_paths(schedule)]
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
        content = _read(path)
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


def _read(path: Path) -> bytes | None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as handle:
        return handle.read()


@dataclass(frozen=True)
class _Removed(Resource):
    """A file datakeeper wrote is gone; one it did not write (or that was edited) is a conflict."""

    path: Path
    manifest: ManagedFiles

    @property
    def id(self) -> str:
        return f"file {self.path}"

    def touches(self) -> tuple[Path, ...]:
        return (self.path, self.manifest.path)

    def plan(self) -> list[Change]:
        from datakeeper.resources.file import sha256

        content = _read(self.path)
        if content is None:
            return []
        if self.manifest.digest_of(self.path) != sha256(content):
            raise ConflictError(
                _("{path} was not written by datakeeper (or was edited since); remove it "
                  "yourself if it should go").format(path=self.path)
            )  # fmt: skip
        return [Change(self.id, _("remove {path}").format(path=self.path), self._remove)]

    def _remove(self) -> None:
        os.unlink(self.path)
        self.manifest.forget(self.path)


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
