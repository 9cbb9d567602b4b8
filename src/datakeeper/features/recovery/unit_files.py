"""The texts boot recovery installs: three systemd units and the login wait script.

Every command in them is the persistent install (``INSTALLED_TOOL`` on the data
disk), which survives the wipe, started through ``trust.guarded_command``: root
runs it only when its path is root's all the way up, else one line in the
journal and exit 3.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import TYPE_CHECKING

from datakeeper.i18n import _
from datakeeper.paths import INSTALLED_TOOL
from datakeeper.system import accounts, systemd
from datakeeper.trust import guarded_command

if TYPE_CHECKING:
    from datakeeper.config import SiteConfig

SERVICE = "datakeeper-recovery.service"
SYNC_PATH = "datakeeper-password-sync.path"
SYNC_SERVICE = "datakeeper-password-sync.service"
SYNC_LOCK_WAIT = 600  # seconds the path-triggered sync waits for a running datakeeper
START_TIMEOUT = "30min"  # a hung recovery must not keep sshd from starting for ever


def installed_tool(cfg: SiteConfig) -> Path:
    """The persistent install of datakeeper (install.sh), which survives a wipe."""
    return cfg.storage.data_root / INSTALLED_TOOL


def tool_command(cfg: SiteConfig, config_path: Path, *args: str) -> list[str]:
    """The persistent datakeeper with this site config, running ``args`` as root: behind
    the guard that refuses a copy whose path others could have changed."""
    config = str(Path(config_path).absolute())
    return guarded_command(installed_tool(cfg), ["--config", config, *args])


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
