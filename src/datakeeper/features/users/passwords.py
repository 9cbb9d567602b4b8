"""Save password changes made with ``passwd`` in the registry, so recovery restores them.

Every change session does this first (``engine.session``); this module is the
explicit run: ``datakeeper recovery sync-passwords``, which the systemd path
unit starts when ``/etc/shadow`` changes and the recovery service runs at
shutdown. Both converge the same resource, ``RecordedPasswords``, so a dry run
shows exactly what the real run saves, and the lock and the action log apply.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from datakeeper.engine import Change
from datakeeper.engine.session import change_session
from datakeeper.resources.password_record import RecordedPasswords, record_id
from datakeeper.system import accounts

if TYPE_CHECKING:
    from datakeeper.config import SiteConfig


@dataclass(frozen=True)
class SyncResult:
    """The accounts whose new hash was saved (or, in a dry run, would be) and those
    held back, with the reason."""

    dry_run: bool
    updated: list[str] = field(default_factory=list)
    held_back: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"dry_run": self.dry_run, "updated": self.updated, "held_back": self.held_back}


def sync_passwords(
    cfg: SiteConfig,
    *,
    dry_run: bool,
    on_change: Callable[[Change, str], None] | None = None,
    shadow: Path = accounts.SHADOW_PATH,
) -> SyncResult:
    """Record the live hash of every registered account whose hash changed, in a
    change session of its own (lock, guard, one log line per account)."""
    resource = RecordedPasswords(cfg.registry_path, shadow)
    with change_session(cfg, dry_run=dry_run, sync_passwords=False) as session:
        review = resource.review()
        outcome = session.converge([resource], on_change=on_change)
    done = {change.resource for change in (outcome.planned if dry_run else outcome.applied)}
    updated = [name for name in review.updates if record_id(name) in done]
    return SyncResult(dry_run, updated, review.held_back)
