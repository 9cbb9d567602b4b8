"""Boot integration of ``datakeeper recover``: the service, the password sync, the login wait.

``enable`` writes a flag on persistent storage (``<state_dir>/recovery-enabled``); from
then on every ``recover`` recreates these files too, so a wipe of ``/etc`` (even of
``/etc/systemd``) loses them only until the next recovery: ``datakeeper-recovery.service``
(``recover --boot`` after the storage mounts, before logins; its ``ExecStop`` saves password
changes at shutdown), ``datakeeper-password-sync.path`` + ``.service`` (a change to
``/etc/shadow`` saves the new hashes at once) and ``/etc/profile.d/00-recovery-check.sh``
(an interactive login waits for recovery's done marker). Every command is the persistent
install, which survives the wipe; without systemd, or when ``/etc/systemd`` is wiped too,
the one line from ``hook_line`` runs recovery from cloud-init or rc.local.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from datakeeper.engine import Change, Outcome, Resource
from datakeeper.i18n import _
from datakeeper.managed import ManagedFiles
from datakeeper.paths import DONE_MARKER, INSTALLED_TOOL, LAST_RECOVERY_NAME, RECOVERY_FLAG_NAME
from datakeeper.resources import ManagedFile
from datakeeper.resources.absent import Absent
from datakeeper.resources.ownership import Ownership
from datakeeper.system import accounts, commands, systemd

if TYPE_CHECKING:
    from datakeeper.config import SiteConfig

SERVICE = "datakeeper-recovery.service"
SYNC_PATH = "datakeeper-password-sync.path"
SYNC_SERVICE = "datakeeper-password-sync.service"
UNITS = (SERVICE, SYNC_PATH, SYNC_SERVICE)
UNIT_DIR = systemd.UNIT_DIR
LOGIN_CHECK = Path("/etc/profile.d/00-recovery-check.sh")
SYNC_LOCK_WAIT = 600  # seconds the path-triggered sync waits for a running datakeeper
START_TIMEOUT = "30min"  # a hung recovery must not keep sshd from starting for ever
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


def installed_tool(cfg: SiteConfig) -> Path:
    """The persistent install of datakeeper (install.sh), which survives a wipe."""
    return cfg.storage.data_root / INSTALLED_TOOL


def tool_command(cfg: SiteConfig, config_path: Path, *args: str) -> list[str]:
    """The persistent datakeeper with this site config, running ``args``."""
    return [str(installed_tool(cfg)), "--config", str(Path(config_path).absolute()), *args]


def hook_line(cfg: SiteConfig, config_path: Path) -> str:
    """The one line cloud-init ``runcmd`` or ``/etc/rc.local`` runs when ``/etc/systemd``
    is wiped too; ``recover`` refuses by itself when the data disk is not mounted."""
    return shlex.join(tool_command(cfg, config_path, "recover", "--boot"))


def boot_resources(cfg: SiteConfig, config_path: Path) -> list[Resource]:
    """What ``recover`` recreates: nothing unless recovery is enabled (see the module)."""
    if not flag_path(cfg).exists():
        return []
    return _boot_files(cfg, config_path)


def _boot_files(cfg: SiteConfig, config_path: Path) -> list[Resource]:
    manifest = ManagedFiles(cfg.managed_files_path)
    resources: list[Resource] = [
        ManagedFile(path, text.encode(), ROOT_FILE, manifest, replace_unmanaged=True)
        for path, text in boot_files(cfg, config_path).items()
    ]
    if systemd.is_running():
        resources.append(BootUnits(enabled=True))
    return resources


def boot_files(cfg: SiteConfig, config_path: Path) -> dict[Path, str]:
    """Path -> content of every file boot recovery needs."""
    return {
        UNIT_DIR / SERVICE: recovery_service(cfg, config_path),
        UNIT_DIR / SYNC_PATH: sync_path_unit(),
        UNIT_DIR / SYNC_SERVICE: sync_service(cfg, config_path),
        LOGIN_CHECK: login_check_script(DONE_MARKER, cfg.recovery.login_wait_seconds),
    }


def recovery_service(cfg: SiteConfig, config_path: Path) -> str:
    """The unit that recovers at boot, after the storage mounts and before logins."""
    sync = tool_command(cfg, config_path, "recovery", "sync-passwords")
    return (
        "[Unit]\n"
        f"Description={_unit_text(_('datakeeper: recover accounts and environment'))}\n"
        "After=local-fs.target\n"
        f"RequiresMountsFor={_unit_paths(cfg.storage_roots)}\n"
        "Before=systemd-user-sessions.service ssh.service sshd.service\n\n"
        "[Service]\nType=oneshot\nRemainAfterExit=yes\n"
        f"TimeoutStartSec={START_TIMEOUT}\n"
        f"ExecStart={systemd.exec_line(tool_command(cfg, config_path, 'recover', '--boot'))}\n"
        f"ExecStop={systemd.exec_line(sync)}\n\n"
        "[Install]\nWantedBy=multi-user.target\n"
    )


def sync_path_unit() -> str:
    """Starts the password sync whenever ``/etc/shadow`` is written."""
    return (
        "[Unit]\n"
        f"Description={_unit_text(_('datakeeper: watch /etc/shadow for password changes'))}\n\n"
        f"[Path]\nPathChanged={accounts.SHADOW_PATH}\nUnit={SYNC_SERVICE}\n\n"
        "[Install]\nWantedBy=multi-user.target\n"
    )


def sync_service(cfg: SiteConfig, config_path: Path) -> str:
    """Saves changed password hashes in the registry (after a boot's recovery, never during)."""
    sync = tool_command(cfg, config_path, "recovery", "sync-passwords")
    return (
        "[Unit]\n"
        f"Description={_unit_text(_('datakeeper: save changed passwords in the registry'))}\n"
        f"After={SERVICE}\n"
        f"RequiresMountsFor={_unit_paths(cfg.storage_roots)}\n\n"
        "[Service]\nType=oneshot\n"
        f"Environment=DATAKEEPER_LOCK_TIMEOUT={SYNC_LOCK_WAIT}\n"
        f"ExecStart={systemd.exec_line(sync)}\n"
    )


def login_check_script(marker: Path, wait_seconds: int) -> str:
    """POSIX sh for /etc/profile.d: an interactive login waits for ``marker`` (at most
    ``wait_seconds``), then goes on with a warning; other shells never wait."""
    waiting = _("datakeeper: this server is still restoring accounts and settings after a reboot;")
    waiting += " " + _("waiting up to {n} s...").format(n=wait_seconds)
    late = _("datakeeper: warning: recovery has not finished; some settings may be missing.")
    done, n = shlex.quote(str(marker)), int(wait_seconds)
    wait = _WAIT.format(waiting=shlex.quote(waiting), done=done, n=n) if n > 0 else ""
    return _LOGIN_CHECK.format(done=done, wait=wait, late=shlex.quote(late))


_LOGIN_CHECK = """\
# Written by datakeeper (datakeeper recovery enable); changes are overwritten.
# Interactive logins wait until boot recovery has finished; scripts never wait.
case $- in
*i*)
    if [ ! -e {done} ]; then
{wait}        [ -e {done} ] || printf '%s\\n' {late} >&2
    fi
    ;;
esac
"""
_WAIT = """\
        printf '%s\\n' {waiting} >&2
        _dk_waited=0
        trap '_dk_waited={n}' INT  # Ctrl-C ends the wait, not the login
        while [ ! -e {done} ] && [ "$_dk_waited" -lt {n} ]; do
            sleep 1
            _dk_waited=$((_dk_waited + 1))
        done
        trap - INT
        unset _dk_waited
"""


def _unit_text(value: str) -> str:
    return " ".join(value.split()).replace("%", "%%")


def _unit_paths(paths: list[Path]) -> str:
    """Storage roots for a space-separated unit setting (the config allows no space or %)."""
    return " ".join(str(p) for p in paths)


def enable(cfg: SiteConfig, config_path: Path, *, dry_run: bool, on_change=None) -> BootResult:
    """Write the flag and the boot files; under systemd, enable the units (the recovery
    itself runs at the next boot, or now with ``datakeeper recovery run``)."""
    from datakeeper.engine.session import converge

    manifest = ManagedFiles(cfg.managed_files_path)
    flag = ManagedFile(flag_path(cfg), FLAG_TEXT, FLAG_FILE, manifest)
    resources = [flag, *_boot_files(cfg, config_path)]
    outcome = converge(cfg, resources, dry_run=dry_run, on_change=on_change)
    return BootResult(outcome, _enable_notes(cfg, config_path))


def _enable_notes(cfg: SiteConfig, config_path: Path) -> list[str]:
    hook = hook_line(cfg, config_path)
    notes = [
        _("{unit} runs at every boot ('datakeeper recovery run' recovers now). If /etc/systemd "
          "is wiped at boot too, also run this line from cloud-init or rc.local: {hook}")
        if systemd.is_running() else
        _("systemd is not running here: the files are written, but nothing starts them at "
          "boot. Run this line at boot (cloud-init runcmd or /etc/rc.local): {hook}")
    ]  # fmt: skip
    if not installed_tool(cfg).exists():
        notes.append(_("{tool} does not exist: install datakeeper onto the data disk with "
                       "install.sh, or nothing can run recovery at boot"))  # fmt: skip
    return [n.format(unit=SERVICE, hook=hook, tool=installed_tool(cfg)) for n in notes]


def disable(cfg: SiteConfig, *, dry_run: bool, on_change=None) -> BootResult:
    """Disable the units (under systemd), remove the flag and every boot file."""
    from datakeeper.engine.session import converge

    manifest = ManagedFiles(cfg.managed_files_path)
    running = systemd.is_running()
    resources: list[Resource] = [BootUnits(enabled=False)] if running else []
    resources.append(Absent(flag_path(cfg), manifest))
    resources += [Absent(path, manifest) for path in _all_paths()]
    if running:
        resources.append(DaemonReload())
    outcome = converge(cfg, resources, dry_run=dry_run, on_change=on_change)
    return BootResult(outcome)


def _all_paths() -> list[Path]:
    return [*(UNIT_DIR / unit for unit in UNITS), LOGIN_CHECK]


def status(cfg: SiteConfig, config_path: Path | None = None) -> dict[str, Any]:
    """Enabled flag, boot files (present, current), systemd state, last run, done marker."""
    wanted = boot_files(cfg, config_path) if config_path is not None else {}
    files = []
    for path in _all_paths():
        content = _read_text(path)
        entry: dict[str, Any] = {"path": str(path), "present": content is not None}
        if path in wanted:
            entry["current"] = content == wanted[path]
        files.append(entry)
    running = systemd.is_running()
    return {
        "enabled": flag_path(cfg).exists(),
        "files": files,
        "systemd": "running" if running else "not running",
        "units": {unit: systemd.unit_state(unit) for unit in UNITS} if running else {},
        "install": {"path": str(installed_tool(cfg)), "present": installed_tool(cfg).exists()},
        "last_run": last_run(cfg),
        "done_marker": DONE_MARKER.exists(),
        "hook": hook_line(cfg, config_path) if config_path is not None else None,
    }


def last_run(cfg: SiteConfig) -> dict[str, Any] | None:
    """Time, ok and summary of the last ``recover`` (written by it), or None."""
    text = _read_text(cfg.state_dir / LAST_RECOVERY_NAME)
    if text is None:
        return None
    try:
        record = json.loads(text)
    except json.JSONDecodeError:
        record = None
    if not isinstance(record, dict):
        return {"time": None, "ok": False, "summary": _("unreadable record")}
    return {key: record.get(key) for key in ("time", "ok", "summary")}


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


@dataclass(frozen=True)
class BootUnits(Resource):
    """systemd knows the boot units: the service enabled (it runs at boot, not now) and the
    shadow watch enabled and running; or (``enabled=False``) all of them disabled."""

    enabled: bool

    @property
    def id(self) -> str:
        return "systemd units of boot recovery"

    def plan(self) -> list[Change]:
        state = {unit: systemd.unit_state(unit) for unit in UNITS}
        on = _is_on(state)
        if self.enabled and (not on or any(s["needs_reload"] == "yes" for s in state.values())):
            summary = _("reload systemd, enable {a} and {b}, start {b}").format(
                a=SERVICE, b=SYNC_PATH
            )
            return [Change(self.id, summary, _enable_units)]
        if not self.enabled and _is_partly_on(state):
            summary = _("disable {a} and {b}, stop them").format(a=SERVICE, b=SYNC_PATH)
            return [Change(self.id, summary, _disable_units)]
        return []


def _is_on(state: dict[str, dict[str, str]]) -> bool:
    path = state[SYNC_PATH]
    enabled = state[SERVICE]["enabled"] == "enabled" and path["enabled"] == "enabled"
    return enabled and path["active"] == "active"


def _is_partly_on(state: dict[str, dict[str, str]]) -> bool:
    return any(
        state[u]["enabled"].startswith("enabled") or state[u]["active"] in ("active", "activating")
        for u in (SERVICE, SYNC_PATH)
    )


def _enable_units() -> None:
    systemd.daemon_reload()
    commands.run(["systemctl", "enable", SERVICE, SYNC_PATH])
    commands.run(["systemctl", "start", SYNC_PATH])


def _disable_units() -> None:
    systemd.disable_now(SYNC_PATH)
    commands.run(["systemctl", "disable", SERVICE])
    # Its ExecStop (a password sync) waits for this run's lock: do not wait for it.
    commands.run(["systemctl", "stop", "--no-block", SERVICE])


@dataclass(frozen=True)
class DaemonReload(Resource):
    """systemd has read the unit files again (after some were removed)."""

    @property
    def id(self) -> str:
        return "systemd manager"

    def plan(self) -> list[Change]:
        stale = [u for u in UNITS if systemd.unit_state(u)["needs_reload"] == "yes"]
        if not stale:
            return []
        summary = _("reload systemd ({units} changed on disk)").format(units=", ".join(stale))
        return [Change(self.id, summary, systemd.daemon_reload)]
