"""``datakeeper user remove``: offboard a researcher without losing data by accident.

First a read-only preview (size of their data, groups, sessions, processes)
and the engine's dry run of the removal; the front end shows both and asks.
Then, in one change session (storage guard, admin lock, action log), the same
resources are converged: lock the account, remove crontab and at jobs, end
processes, keep / archive / purge the persistent home, forget the registry
entry, remove the home link, delete the account (``userdel`` without ``-r``).
Data is kept by default.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from datakeeper.engine import Change
from datakeeper.engine.session import change_session
from datakeeper.errors import RefusedError
from datakeeper.features.users.remove.plan import removal_resources
from datakeeper.features.users.remove.preview import (
    RemovalPreview,
    busy_error,
    check_data_step,
    check_not_busy,
)
from datakeeper.features.users.remove.request import RemoveRequest, check_request
from datakeeper.i18n import _, ngettext
from datakeeper.system import activity
from datakeeper.system.home_move import inspect_home

if TYPE_CHECKING:
    from datakeeper.config import SiteConfig


@dataclass
class RemovalReport:
    """What a removal planned and did, and where the data is now."""

    preview: RemovalPreview
    data_action: str
    dry_run: bool
    planned: list[Change] = field(default_factory=list)
    applied: list[Change] = field(default_factory=list)

    @property
    def data_location(self) -> str | None:
        """Where the user's data is after the run (None: there was none, or it was purged)."""
        home = self.preview.home
        if home.kind == "missing" or self.data_action == "purge":
            return None
        if self.data_action == "archive" and home.kind == "directory":
            return str(self.preview.archive_to)
        return str(home.path)

    def done_line(self) -> str:
        """The one sentence that closes a real removal."""
        where = self.data_location
        if self.data_action == "purge" and self.preview.home.kind == "directory":
            tail = _("their data was deleted")
        elif where is None:
            tail = _("they had no persistent data")
        else:
            tail = _("their data is at {where}").format(where=where)
        count = len(self.applied)
        removed = ngettext(
            "{name} removed ({n} change); {tail}.", "{name} removed ({n} changes); {tail}.", count
        )
        return removed.format(name=self.preview.target.name, n=count, tail=tail)

    def as_dict(self) -> dict:
        return {
            "user": self.preview.as_dict(),
            "dry_run": self.dry_run,
            "data_action": self.data_action,
            "data_location": self.data_location,  # in a dry run: where it would be
            "planned": [c.as_dict() for c in self.planned],
            "applied": [c.as_dict() for c in self.applied],
        }


def remove_user(
    cfg: SiteConfig,
    request: RemoveRequest,
    preview: RemovalPreview,
    *,
    dry_run: bool,
    on_change: Callable[[Change, str], None] | None = None,
) -> RemovalReport:
    """Remove the user previewed (and confirmed); under the lock, look again first."""
    check_not_busy(preview, request)
    check_data_step(preview, request)
    with change_session(cfg, dry_run=dry_run) as session:
        _recheck(cfg, request, preview)
        resources = removal_resources(cfg, request, preview)
        outcome = session.converge(resources, on_change=on_change)
    return RemovalReport(preview, request.data, dry_run, outcome.planned, outcome.applied)


def _recheck(cfg: SiteConfig, request: RemoveRequest, preview: RemovalPreview) -> None:
    """What was confirmed must still hold now that the lock is held."""
    if check_request(cfg, request) != preview.target:
        raise RefusedError(_("{name} changed since it was inspected; run again").format(
            name=request.name))  # fmt: skip
    now = inspect_home(preview.home.path, measure=False)
    if (now.kind, now.ident) != (preview.home.kind, preview.home.ident):
        raise RefusedError(_("{path} changed since it was inspected; run again").format(
            path=preview.home.path))  # fmt: skip
    if not request.kill_sessions:
        logins = activity.login_sessions(request.name)
        running = activity.user_processes(preview.target.uid)
        if logins or running:
            raise busy_error(request.name, len(logins), len(running))
