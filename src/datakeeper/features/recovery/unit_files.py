"""The texts boot recovery installs: four systemd units and the login wait script.

Every command in them is the persistent install (``INSTALLED_TOOL`` on the data
disk), which survives the wipe, started through ``trust.guarded_command``: root
runs it only when its path is root's all the way up, else one line in the
journal and exit 3.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from datakeeper.errors import DatakeeperError
from datakeeper.features.login_language import (
    Gettext,
    choose_language_sh,
    forget_sh,
    in_each_language,
    pick_sh,
)
from datakeeper.i18n import N_, SOURCE_LANGUAGE, _
from datakeeper.paths import FAILED_MARKER, INSTALLED_TOOL
from datakeeper.registry import load_or_empty
from datakeeper.system import accounts, systemd
from datakeeper.trust import guarded_command

if TYPE_CHECKING:
    from datakeeper.config import SiteConfig

SERVICE = "datakeeper-recovery.service"
SYNC_PATH = "datakeeper-password-sync.path"
SYNC_SERVICE = "datakeeper-password-sync.service"
SHUTDOWN_SYNC = "datakeeper-shutdown-sync.service"
SYNC_LOCK_WAIT = 600  # seconds the path-triggered sync waits for a running datakeeper
# TimeoutStartSec of the recovery: BASE_TIMEOUT_MIN plus STEP_TIMEOUT_MIN for every
# started USERS_PER_STEP registered users (at most MAX_TIMEOUT_MIN), so that adding a
# user changes the unit text only every USERS_PER_STEP users.
BASE_TIMEOUT_MIN = 5
STEP_TIMEOUT_MIN = 5
USERS_PER_STEP = 150  # ~2 s a user; a user's step normally takes well under 1 s
MAX_TIMEOUT_MIN = 60


def installed_tool(cfg: SiteConfig) -> Path:
    """The persistent install of datakeeper (install.sh), which survives a wipe."""
    return cfg.storage.data_root / INSTALLED_TOOL


def tool_command(cfg: SiteConfig, config_path: Path, *args: str) -> list[str]:
    """The persistent datakeeper with this site config, running ``args`` as root: behind
    the guard that refuses a copy whose path others could have changed."""
    config = str(Path(config_path).absolute())
    return guarded_command(installed_tool(cfg), ["--config", config, *args])


def start_timeout(users: int) -> str:
    """``TimeoutStartSec`` for ``users`` registered users, bucketed (see the constants)."""
    steps = -(-max(users, 0) // USERS_PER_STEP)  # ceiling division
    return f"{min(BASE_TIMEOUT_MIN + STEP_TIMEOUT_MIN * steps, MAX_TIMEOUT_MIN)}min"


def registered_users(cfg: SiteConfig) -> int:
    """How many users the registry holds; where it is not readable (a member runs
    ``recovery status``), the home folders on storage: one per registered user."""
    try:
        return len(load_or_empty(cfg.registry_path).users)
    except (OSError, DatakeeperError):
        try:
            return sum(1 for entry in cfg.users_dir.iterdir() if entry.is_dir())
        except OSError:
            return 0


def recovery_service(cfg: SiteConfig, config_path: Path) -> str:
    """The unit that recovers at boot, after the storage mounts and before member logins.

    Ordered before ``systemd-user-sessions.service`` only (which lifts ``/run/nologin``),
    not before sshd: root can log in to a server whose recovery hangs.
    """
    return (
        "[Unit]\n"
        f"Description={_unit_text(_('datakeeper: recover accounts and environment'))}\n"
        "After=local-fs.target\n"
        f"{storage_dependencies(cfg)}"
        "Before=systemd-user-sessions.service\n\n"
        "[Service]\nType=oneshot\nRemainAfterExit=yes\n"
        f"TimeoutStartSec={start_timeout(registered_users(cfg))}\n"
        f"ExecStart={systemd.exec_line(tool_command(cfg, config_path, 'recover', '--boot'))}\n\n"
        "[Install]\nWantedBy=multi-user.target\n"
    )


def shutdown_sync_service(cfg: SiteConfig, config_path: Path) -> str:
    """Saves changed passwords at shutdown (its ``ExecStop``). Its own unit, started at
    boot and by the hook path's recovery, so the sync is armed in both deployment modes;
    not ordered after the recovery, so recovery can start it without waiting for itself."""
    sync = tool_command(cfg, config_path, "recovery", "sync-passwords")
    return (
        "[Unit]\n"
        f"Description={_unit_text(_('datakeeper: save changed passwords at shutdown'))}\n"
        f"{storage_dependencies(cfg, backup=False)}\n"
        "[Service]\nType=oneshot\nRemainAfterExit=yes\n"
        "ExecStart=/bin/true\n"
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
        f"{storage_dependencies(cfg, backup=False)}\n"
        "[Service]\nType=oneshot\n"
        f"Environment=DATAKEEPER_LOCK_TIMEOUT={SYNC_LOCK_WAIT}\n"
        f"ExecStart={systemd.exec_line(sync)}\n"
    )


def login_check_script(
    marker: Path,
    wait_seconds: int,
    failed: Path = FAILED_MARKER,
    *,
    site_language: str = SOURCE_LANGUAGE,
    languages: Mapping[str, Gettext] | None = None,
) -> str:
    """POSIX sh for /etc/profile.d: an interactive login of a member waits for ``marker``
    (at most ``wait_seconds``), then goes on with a warning; root and other shells never
    wait. While ``failed`` exists (the last recovery had problems) every interactive login
    is told so. Each message is written in every language (``languages``: code ->
    gettext; the catalogs by default) and the login's locale picks one, else
    ``site_language`` (``features.login_language``)."""
    n = int(wait_seconds)
    texts = {
        "_dk_waiting": in_each_language(
            lambda tr: tr(WAITING) + " " + tr(WAIT_UP_TO).format(n=n), languages
        ),
        "_dk_late": in_each_language(lambda tr: tr(LATE), languages),
        "_dk_problems": in_each_language(lambda tr: tr(PROBLEMS), languages),
    }
    indent = " " * 4
    done = shlex.quote(str(marker))
    return _LOGIN_CHECK.format(
        choose=choose_language_sh(site_language, indent),
        texts="".join(pick_sh(name, found, indent) for name, found in texts.items()),
        done=done,
        wait=_WAIT.format(done=done, n=n) if n > 0 else "        :\n",
        failed=shlex.quote(str(failed)),
        forget=forget_sh(tuple(texts), indent),
    )


# Message ids of the login script, translated into each language when it is written.
WAITING = N_("datakeeper: this server is still restoring accounts and settings after a reboot;")
WAIT_UP_TO = N_("waiting up to {n} s...")
LATE = N_("datakeeper: warning: recovery has not finished; some settings may be missing.")
PROBLEMS = N_(
    "datakeeper: warning: the recovery after the last reboot had problems; "
    "some accounts or settings may be missing (the admin can run "
    "'datakeeper recovery status')."
)
_LOGIN_CHECK = """\
# Written by datakeeper (datakeeper recovery enable); changes are overwritten.
# Interactive logins wait until boot recovery has finished; root and scripts never wait.
# Messages follow the login's locale (LANGUAGE, LC_ALL, LC_MESSAGES, LANG), else the
# site's default language.
case $- in
*i*)
{choose}{texts}    if [ ! -e {done} ]; then
        if [ "$(id -u)" != 0 ]; then
{wait}        fi
        [ -e {done} ] || printf '%s\\n' "$_dk_late" >&2
    fi
    if [ -e {failed} ]; then
        printf '%s\\n' "$_dk_problems" >&2
    fi
{forget}    ;;
esac
"""
_WAIT = """\
        printf '%s\\n' "$_dk_waiting" >&2
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


def storage_dependencies(cfg: SiteConfig, *, backup: bool = True) -> str:
    """The ``[Unit]`` lines tying a unit to the storage: the data disk is required (no
    recovery without the registry); the backup disk (``backup``) only wanted and ordered
    before, so a failed backup disk leaves recovery running (``status`` and ``check``
    warn). A mount unit that does not exist (storage mounted before boot) is ignored."""
    lines = [f"RequiresMountsFor={cfg.storage.data_root}"]
    if backup and cfg.storage.backup_root is not None:
        backup = systemd.mount_unit(cfg.storage.backup_root)
        lines += [f"Wants={backup}", f"After={backup}"]
    return "".join(f"{line}\n" for line in lines)
