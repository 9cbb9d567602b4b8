"""The resources a removal converges, and the engine's dry run of them for the confirmation.

The confirmation lists the sentences of that dry run, the very plan
``--dry-run`` prints and the real run applies: never a description of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from datakeeper.engine import Change, Resource
from datakeeper.engine.session import converge
from datakeeper.features.users.remove.home_data import data_resources
from datakeeper.features.users.remove.preview import RemovalPreview
from datakeeper.features.users.remove.request import RemoveRequest
from datakeeper.i18n import _
from datakeeper.paths import HOME_ROOT
from datakeeper.resources.account_absent import AccountAbsent, AccountLocked
from datakeeper.resources.symlink_absent import SymlinkAbsent
from datakeeper.resources.unregistered import Unregistered
from datakeeper.resources.user_jobs import AtJobsAbsent, CrontabAbsent, ProcessesEnded

if TYPE_CHECKING:
    from datakeeper.config import SiteConfig


def removal_resources(
    cfg: SiteConfig, request: RemoveRequest, preview: RemovalPreview
) -> list[Resource]:
    """Every resource of the removal, in order: no new login first, the account last."""
    target = preview.target
    name = target.name
    resources: list[Resource] = []
    if target.account:
        resources += [AccountLocked(name), CrontabAbsent(name), AtJobsAbsent(name)]
    if request.kill_sessions:  # otherwise a process started since the check makes userdel fail
        resources.append(ProcessesEnded(name, target.uid))
    resources += data_resources(request.data, preview.home, preview.archive_to)
    return [
        *resources,
        Unregistered(name, cfg.registry_path, account_removed=True),
        SymlinkAbsent(HOME_ROOT / name, preview.home.path),
        AccountAbsent(name),
    ]


@dataclass(frozen=True)
class RemovalPlan:
    """The preview and every change the engine plans for the removal (its dry run)."""

    preview: RemovalPreview
    changes: tuple[Change, ...] = ()

    def change_lines(self) -> list[str]:
        """The planned changes, one sentence each, as the engine wrote them."""
        if not self.changes:
            return [_("Changes: none")]
        return [_("Changes:"), *(f"  - {change.summary}" for change in self.changes)]

    def lines(self) -> list[str]:
        """What is shown before asking: the preview, then the changes."""
        return [*self.preview.lines(), *self.change_lines()]

    def as_dict(self) -> dict:
        return {
            "user": self.preview.as_dict(),
            "data_action": self.preview.data,
            "planned": [change.as_dict() for change in self.changes],
        }


def plan_removal(cfg: SiteConfig, request: RemoveRequest, preview: RemovalPreview) -> RemovalPlan:
    """The engine's dry run of the removal ``request`` describes; changes nothing."""
    outcome = converge(cfg, removal_resources(cfg, request, preview), dry_run=True)
    return RemovalPlan(preview, tuple(outcome.planned))
