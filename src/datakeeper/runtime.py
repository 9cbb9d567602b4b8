"""Wiring for commands that change the system: guard, one-admin lock, action log.

Front ends call ``converge(cfg, resources, dry_run=…)`` and never build an
executor themselves, so every change goes through the same checks.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING

from datakeeper.actionlog import ActionLog
from datakeeper.engine import Change, Executor, Outcome, Resource
from datakeeper.errors import NotRootError
from datakeeper.i18n import _
from datakeeper.storage import StorageGuard
from datakeeper.system.lock import exclusive_lock
from datakeeper.system.masking import mask_secrets

if TYPE_CHECKING:
    from datakeeper.config import SiteConfig

ChangeListener = Callable[[Change, str], None]


def require_root(action: str) -> None:
    """Refuse early, with the fix, when not running as root."""
    if os.geteuid() != 0:
        raise NotRootError(_("{action} needs root; run it with sudo").format(action=action))


def converge(
    cfg: SiteConfig,
    resources: Sequence[Resource],
    *,
    dry_run: bool,
    on_change: ChangeListener | None = None,
    secrets: Sequence[str] = (),
) -> Outcome:
    """Plan and apply ``resources`` (or only plan, in a dry run) under the site's rules.

    Before anything is written: the storage guard checks every storage root a
    resource touches and the data root (the action log lives there); the state
    directory is created; an exclusive lock keeps a second admin out.
    """
    guard = StorageGuard(cfg.storage_roots)
    executor = Executor(dry_run=dry_run, guard=guard, on_change=on_change)
    if dry_run:
        return executor.converge(resources)
    guard([cfg.action_log_path])
    _ensure_state_dir(cfg.state_dir)
    log = ActionLog(cfg.action_log_path)
    executor.record = lambda change, outcome: log.record(
        resource=change.resource, change=mask_secrets(change.summary, secrets), outcome=outcome
    )
    with admin_lock(cfg):
        return executor.converge(resources)


@contextmanager
def admin_lock(cfg: SiteConfig, *, timeout: float = 60.0) -> Iterator[None]:
    """One datakeeper changing the system at a time."""
    lock = cfg.state_dir / "run.lock"
    context = exclusive_lock(lock, timeout=timeout, what=_("datakeeper (another admin run)"))
    with context if lock.parent.is_dir() else nullcontext():
        yield


def _ensure_state_dir(state_dir: Path) -> None:
    """Root-only directory for the registry, the manifest and the action log."""
    state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
