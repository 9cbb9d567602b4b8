"""The node sync's systemd units: a path unit watching the registry and a timer.

``datakeeper-node-sync.service`` runs ``datakeeper node sync`` (idempotent: it
applies the registry when its generation moved or this node drifted, else only
beats the heartbeat). ``.path`` starts it when the registry file changes, which
inotify sees for writes made on this node (or a local bind); writes made on
another NFS client are invisible to inotify, so ``.timer`` also starts it every
``[cluster] sync_interval`` seconds. ``node join`` writes the flag
``<state_dir>/node-sync-enabled`` on the shared storage; from then on every
node's ``recover`` recreates these units after a wipe (``features/enabled.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from datakeeper.engine import Resource
from datakeeper.features.disk.schedule import scheduled_command
from datakeeper.features.recovery.unit_files import SERVICE as RECOVERY_SERVICE
from datakeeper.features.recovery.unit_files import storage_dependencies
from datakeeper.i18n import _
from datakeeper.managed import OwnedFilesManifest
from datakeeper.resources import ManagedFile
from datakeeper.resources.ownership import Ownership
from datakeeper.resources.systemd_unit import SystemdUnits
from datakeeper.system import systemd

if TYPE_CHECKING:
    from datakeeper.config import SiteConfig

UNIT_NAME = "datakeeper-node-sync"
SERVICE = f"{UNIT_NAME}.service"
PATH_UNIT = f"{UNIT_NAME}.path"
TIMER = f"{UNIT_NAME}.timer"
FLAG_NAME = "node-sync-enabled"
FLAG_TEXT = b"# datakeeper node join: every node syncs with the registry (node-sync units)\n"
ROOT_FILE = Ownership("root", "root", 0o644)
FLAG_FILE = Ownership("root", "root", 0o600)
SYNC_LOCK_WAIT = 120  # seconds a sync waits for another admin's run before giving up


def flag_path(cfg: SiteConfig) -> Path:
    """The flag on shared storage that says the nodes sync with the registry."""
    return cfg.state_dir / FLAG_NAME


def sync_service(cfg: SiteConfig, config_path: Path) -> str:
    """The oneshot that runs ``node sync``, after boot recovery, with the data disk."""
    argv = scheduled_command(cfg, config_path, "node", "sync")
    description = _("datakeeper: apply the shared registry on this node")
    return (
        f"[Unit]\nDescription={_text(description)}\n"
        f"After={RECOVERY_SERVICE}\n{storage_dependencies(cfg, backup=False)}\n"
        "[Service]\nType=oneshot\n"
        f"Environment=DATAKEEPER_LOCK_TIMEOUT={SYNC_LOCK_WAIT}\n"
        f"ExecStart={systemd.exec_line(argv)}\n"
    )


def sync_path_unit(cfg: SiteConfig) -> str:
    """Starts the sync when the registry file is replaced."""
    description = _("datakeeper: watch the shared registry")
    return (
        f"[Unit]\nDescription={_text(description)}\n\n"
        f"[Path]\nPathChanged={cfg.registry_path}\nUnit={SERVICE}\n\n"
        "[Install]\nWantedBy=multi-user.target\n"
    )


def sync_timer(cfg: SiteConfig) -> str:
    """Starts the sync every ``sync_interval`` seconds (changes made on other NFS clients)."""
    every = cfg.cluster.sync_interval
    description = _("datakeeper: sync with the shared registry every {n} s").format(n=every)
    return (
        f"[Unit]\nDescription={_text(description)}\n\n"
        f"[Timer]\nOnBootSec={every}s\nOnUnitActiveSec={every}s\nAccuracySec=1s\n"
        f"Unit={SERVICE}\n\n[Install]\nWantedBy=timers.target\n"
    )


def unit_files(cfg: SiteConfig, config_path: Path) -> dict[Path, str]:
    """Path -> content of the three units."""
    folder = systemd.UNIT_DIR
    return {
        folder / SERVICE: sync_service(cfg, config_path),
        folder / PATH_UNIT: sync_path_unit(cfg),
        folder / TIMER: sync_timer(cfg),
    }


def sync_resources(cfg: SiteConfig, config_path: Path) -> list[Resource]:
    """The unit files and, under systemd, the path and timer enabled and running."""
    manifest = OwnedFilesManifest(cfg.managed_files_path)
    resources: list[Resource] = [
        ManagedFile(path, text.encode(), ROOT_FILE, manifest, replace_unmanaged=True)
        for path, text in unit_files(cfg, config_path).items()
    ]
    if systemd.is_running() or systemd.is_installed():
        online = systemd.is_running()
        label = _("systemd units of the node sync")
        units = (PATH_UNIT, TIMER)
        resources.append(SystemdUnits(label, units, units, (SERVICE,), True, online))
    return resources


def enabled_resources(cfg: SiteConfig, config_path: Path) -> list[Resource]:
    """What ``recover`` recreates and ``check`` plans: nothing until a node joined."""
    if not flag_path(cfg).exists():
        return []
    return sync_resources(cfg, config_path)


def flag_resource(cfg: SiteConfig) -> ManagedFile:
    """The shared flag ``node join`` writes."""
    manifest = OwnedFilesManifest(cfg.managed_files_path)
    return ManagedFile(flag_path(cfg), FLAG_TEXT, FLAG_FILE, manifest)


def _text(value: str) -> str:
    return " ".join(value.split()).replace("%", "%%")
