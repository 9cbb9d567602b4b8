"""What the admin enabled after setup, as steps: boot recovery, the disk alert
schedule, the backup schedule, the global packages.

Built once from the very resources ``recovery enable``, ``disk alert enable``,
``backup enable`` and ``packages install`` converge, and nothing unless each was enabled (its
flag or record on storage): ``recover`` recreates them after a wipe, ``check``
plans them to report drift, ``check --fix`` converges them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from datakeeper.features.backup.schedule import enabled_resources as backup_schedule
from datakeeper.features.cluster.units import enabled_resources as node_sync
from datakeeper.features.disk.schedule import enabled_resources as alert_schedule
from datakeeper.features.packages import package_resources
from datakeeper.features.recovery.boot import boot_resources
from datakeeper.features.setup.steps import Step
from datakeeper.i18n import _

if TYPE_CHECKING:
    from datakeeper.config import SiteConfig


def enabled_steps(cfg: SiteConfig, config_path: Path) -> list[Step]:
    """BOOT, ALERT, BACKUP, PACKAGES and NODE, each only when enabled; none stops the others."""
    parts = [
        ("BOOT", _("boot service and login wait"), boot_resources(cfg, config_path)),
        ("ALERT", _("disk alert schedule"), alert_schedule(cfg, config_path)),
        ("BACKUP", _("backup schedule"), backup_schedule(cfg, config_path)),
        ("PACKAGES", _("global packages"), package_resources(cfg)),
        ("NODE", _("node sync with the shared registry"), node_sync(cfg, config_path)),
    ]
    return [
        Step(key, title, resources, critical=False) for key, title, resources in parts if resources
    ]
