"""Boot integration of ``datakeeper recover``: the service, the password sync, the login wait.

``enable`` writes a flag on persistent storage (``<state_dir>/recovery-enabled``); from
then on every ``recover`` recreates these files too, so a wipe of ``/etc`` (even of
``/etc/systemd``) loses them only until the next recovery: ``datakeeper-recovery.service``
(``recover --boot`` after the storage mounts, before member logins),
``datakeeper-shutdown-sync.service`` (its ``ExecStop`` saves password changes at shutdown;
the hook path's recovery starts it, so the sync is armed after a hook boot too),
``datakeeper-password-sync.path`` + ``.service`` (a change to ``/etc/shadow`` saves the
new hashes at once) and ``/etc/profile.d/00-recovery-check.sh`` (an interactive login of a
member waits for recovery's done marker). Every command is the persistent
install, which survives the wipe; without systemd, or when ``/etc/systemd`` is wiped too,
the one line from ``hook_line`` runs recovery from cloud-init or rc.local.
"""

from __future__ import annotations

import json
import os
import shlex
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from datakeeper.engine import Outcome, Resource
from datakeeper.engine.session import converge
from datakeeper.features.drift import FileState, file_states
from datakeeper.features.recovery.unit_files import (
    SERVICE,
    SHUTDOWN_SYNC,
    SYNC_PATH,
    SYNC_SERVICE,
    installed_tool,
    login_check_script,
    recovery_service,
    shutdown_sync_service,
    sync_path_unit,
    sync_service,
    tool_command,
)
from datakeeper.i18n import _
from datakeeper.managed import OwnedFilesManifest
from datakeeper.paths import DONE_MARKER, LAST_RECOVERY_NAME, RECOVERY_FLAG_NAME
from datakeeper.resources import ManagedFile
from datakeeper.resources.absent import Absent
from datakeeper.resources.ownership import Ownership
from datakeeper.resources.systemd_unit import DaemonReload, SystemdUnits
from datakeeper.storage import backup_missing_note, inspect
from datakeeper.system import systemd
from datakeeper.system.systemd import UnitState

if TYPE_CHECKING:
    from datakeeper.config import SiteConfig

UNITS = (SERVICE, SHUTDOWN_SYNC, SYNC_PATH, SYNC_SERVICE)
UNIT_DIR = systemd.UNIT_DIR
LOGIN_CHECK = Path("/etc/profile.d/00-recovery-check.sh")
ROOT_FILE = Ownership("root", "root", 0o644)  # systemd and login shells trust root's files
FLAG_FILE = Ownership("root", "root", 0o600)
FLAG_TEXT = b"# datakeeper recovery enable: every recover recreates the boot service\n"


@dataclass
class BootResult:
    """What ``enable``/``disable`` did, and what the admin should know next."""

    outcome: Outcome
    notes: list[str] = field(default_factory=list)


def flag_path(cfg: SiteConfig) -> Path:
    """The flag on persistent storage that says boot recovery is enabled."""
    return cfg.state_dir / RECOVERY_FLAG_NAME


def hook_line(cfg: SiteConfig, config_path: Path) -> str:
    """The one line a cloud-init per-boot script or ``/etc/rc.local`` runs when ``/etc/systemd``
    is wiped too; ``recover`` refuses by itself when the data disk is not mounted."""
    return shlex.join(tool_command(cfg, config_path, "recover", "--boot"))


def boot_resources(cfg: SiteConfig, config_path: Path) -> list[Resource]:
    """What ``recover`` recreates and ``check`` plans: nothing unless recovery is enabled
    (see the module)."""
    if not flag_path(cfg).exists():
        return []
    return _boot_resources(cfg, config_path)


def _boot_resources(cfg: SiteConfig, config_path: Path) -> list[Resource]:
    resources: list[Resource] = [*_file_resources(cfg, config_path)]
    if systemd.is_running() or systemd.is_installed():
        resources.append(boot_units(enabled=True, online=systemd.is_running()))
    return resources


def _file_resources(cfg: SiteConfig, config_path: Path) -> list[ManagedFile]:
    manifest = OwnedFilesManifest(cfg.managed_files_path)
    return [
        ManagedFile(path, text.encode(), ROOT_FILE, manifest, replace_unmanaged=True)
        for path, text in boot_files(cfg, config_path).items()
    ]


def boot_units(*, enabled: bool, online: bool = True) -> SystemdUnits:
    """systemd knows the boot units: the service enabled (it runs at boot, not now), the
    shadow watch and the shutdown sync enabled and running (after a hook boot too, so the
    sync runs at shutdown); or (``enabled=False``) all of them disabled. Offline
    (``online=False``, systemd not running) they are only enabled or disabled: links."""
    label = "systemd units of boot recovery"
    units = (SERVICE, SHUTDOWN_SYNC, SYNC_PATH)
    if not enabled:
        # Stopping the shutdown sync runs its sync, which waits for this run's lock: it
        # is stopped without waiting, like the service (see SystemdUnits).
        return SystemdUnits(label, units, (SYNC_PATH,), (SYNC_SERVICE,), enabled, online)
    running = (SHUTDOWN_SYNC, SYNC_PATH)
    return SystemdUnits(label, units, running, (SYNC_SERVICE,), enabled, online)


def boot_files(cfg: SiteConfig, config_path: Path) -> dict[Path, str]:
    """Path -> content of every file boot recovery needs."""
    return {
        UNIT_DIR / SERVICE: recovery_service(cfg, config_path),
        UNIT_DIR / SHUTDOWN_SYNC: shutdown_sync_service(cfg, config_path),
        UNIT_DIR / SYNC_PATH: sync_path_unit(),
        UNIT_DIR / SYNC_SERVICE: sync_service(cfg, config_path),
        LOGIN_CHECK: login_check_script(
            DONE_MARKER, cfg.recovery.login_wait_seconds, site_language=cfg.language
        ),
    }


def login_check_files(cfg: SiteConfig, config_path: Path) -> list[ManagedFile]:
    """The login wait script alone, when recovery is enabled: ``recover`` writes it first,
    before any account exists."""
    if not flag_path(cfg).exists():
        return []
    return [r for r in _file_resources(cfg, config_path) if r.path == LOGIN_CHECK]


def enable(cfg: SiteConfig, config_path: Path, *, dry_run: bool, on_change=None) -> BootResult:
    """Write the flag and the boot files; under systemd, enable the units (the recovery
    itself runs at the next boot, or now with ``datakeeper recovery run``)."""
    manifest = OwnedFilesManifest(cfg.managed_files_path)
    flag = ManagedFile(flag_path(cfg), FLAG_TEXT, FLAG_FILE, manifest)
    resources = [flag, *_boot_resources(cfg, config_path)]
    outcome = converge(cfg, resources, dry_run=dry_run, on_change=on_change)
    return BootResult(outcome, _enable_notes(cfg, config_path))


def _enable_notes(cfg: SiteConfig, config_path: Path) -> list[str]:
    hook = hook_line(cfg, config_path)
    notes = [
        _("{unit} runs at every boot ('datakeeper recovery run' recovers now). If /etc/systemd "
          "is wiped at boot too, also run this line from cloud-init or rc.local: {hook}")
        if systemd.is_running() else
        _("systemd is not running here: {unit} is enabled (links only) and runs at every "
          "boot under systemd. If /etc/systemd is wiped at boot too, also run this line from "
          "cloud-init or rc.local: {hook}")
        if systemd.is_installed() else
        _("systemd is not running here: the files are written, but nothing starts them at "
          "boot. Run this line at every boot (a cloud-init per-boot script or /etc/rc.local): "
          "{hook}")
    ]  # fmt: skip
    if not installed_tool(cfg).exists():
        notes.append(_("{tool} does not exist: install datakeeper onto the data disk with "
                       "install.sh, or nothing can run recovery at boot"))  # fmt: skip
    return [n.format(unit=SERVICE, hook=hook, tool=installed_tool(cfg)) for n in notes]


def disable(cfg: SiteConfig, *, dry_run: bool, on_change=None) -> BootResult:
    """Disable the units (offline too: links only), remove the flag and every boot file."""
    manifest = OwnedFilesManifest(cfg.managed_files_path)
    running = systemd.is_running()
    resources: list[Resource] = []
    if running or systemd.is_installed():  # offline, disable only removes the links
        resources.append(boot_units(enabled=False, online=running))
    resources.append(Absent(flag_path(cfg), manifest))
    resources += [Absent(path, manifest) for path in _all_paths()]
    if running:
        resources.append(DaemonReload(UNITS))
    outcome = converge(cfg, resources, dry_run=dry_run, on_change=on_change)
    return BootResult(outcome)


def _all_paths() -> list[Path]:
    return [*(UNIT_DIR / unit for unit in UNITS), LOGIN_CHECK]


@dataclass(frozen=True)
class LastRun:
    """Time, ok and summary of the last ``recover`` (its record on storage)."""

    time: str | None
    ok: bool | None  # None: not known (a member reads only the done marker's summary)
    summary: str | None

    def as_dict(self) -> dict[str, Any]:
        """JSON-able (for --json)."""
        return {"time": self.time, "ok": self.ok, "summary": self.summary}


@dataclass(frozen=True)
class RecoveryStatus:
    """``recovery status``: enabled or not, the boot files, systemd's view, the last run."""

    enabled: bool | None  # None: not known (the flag's folder is root's)
    files: list[FileState]
    systemd_running: bool
    units: dict[str, UnitState]
    install: Path
    last_run: LastRun | None
    done_marker: bool
    hook: str
    warnings: list[str] = field(default_factory=list)  # e.g. the backup disk not mounted

    @property
    def systemd(self) -> str:
        """The word shown (and printed by --json): "running" or "not running"."""
        return "running" if self.systemd_running else "not running"

    @property
    def install_present(self) -> bool:
        return os.path.exists(self.install)

    def as_dict(self) -> dict[str, Any]:
        """JSON-able (the keys ``recovery status --json`` prints)."""
        return {
            "enabled": self.enabled,
            "files": [f.as_dict() for f in self.files],
            "systemd": self.systemd,
            "units": {unit: state.as_dict() for unit, state in self.units.items()},
            "install": {"path": str(self.install), "present": self.install_present},
            "last_run": self.last_run.as_dict() if self.last_run else None,
            "done_marker": self.done_marker,
            "hook": self.hook,
            "warnings": self.warnings,
        }


def status(cfg: SiteConfig, config_path: Path) -> RecoveryStatus:
    """Enabled flag, boot files (present, as ``enable`` writes them), systemd state, last
    run, done marker."""
    running = systemd.is_running()
    return RecoveryStatus(
        enabled=_exists(flag_path(cfg)),
        files=file_states(_file_resources(cfg, config_path)),
        systemd_running=running,
        units={unit: systemd.unit_state(unit) for unit in UNITS} if _knows_units() else {},
        install=installed_tool(cfg),
        last_run=last_run(cfg) or _marker_run(),
        done_marker=DONE_MARKER.exists(),
        hook=hook_line(cfg, config_path),
        warnings=storage_warnings(cfg),
    )


def storage_warnings(cfg: SiteConfig) -> list[str]:
    """A backup disk that exists but is not mounted: recovery runs without it (its unit
    only wants it), and the admin should know."""
    backup = cfg.storage.backup_root
    if backup is None or not os.path.isdir(backup) or inspect(backup).persistent:
        return []
    return [f"{backup}: {backup_missing_note()}"]


def _knows_units() -> bool:
    """Whether ``systemctl`` can say if the units are enabled (offline too)."""
    return systemd.is_running() or systemd.is_installed()


def last_run(cfg: SiteConfig) -> LastRun | None:
    """The record of the last ``recover`` (written by it), or None."""
    text = _read_text(cfg.state_dir / LAST_RECOVERY_NAME)
    if text is None:
        return None
    try:
        record = json.loads(text)
    except json.JSONDecodeError:
        record = None
    if not isinstance(record, dict):
        return LastRun(None, False, _("unreadable record"))
    return LastRun(record.get("time"), record.get("ok"), record.get("summary"))


def _marker_run() -> LastRun | None:
    """What anyone may know of this boot's recovery: the done marker (world-readable on
    /run) holds its summary. Used when the full record, which is root's, is not readable."""
    text = _read_text(DONE_MARKER)
    if text is None:
        return None
    when = time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(DONE_MARKER.stat().st_mtime))
    return LastRun(when, None, text.strip())


def _exists(path: Path) -> bool | None:
    """Whether ``path`` exists; None when a folder on the way is not ours to search."""
    try:
        return path.exists()
    except PermissionError:
        return None


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
