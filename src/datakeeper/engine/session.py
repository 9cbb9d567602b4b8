"""Wiring for commands that change the system: guard, one-admin lock, action log.

Features call ``converge(cfg, resources, dry_run=…)``, or open one
``change_session`` for several steps, and never build an executor themselves,
so every change goes through the same checks.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from datakeeper.actionlog import ActionLog
from datakeeper.engine import Change, Executor, Outcome, Resource
from datakeeper.errors import InvalidInputError, NotRootError
from datakeeper.i18n import _
from datakeeper.storage import StorageGuard
from datakeeper.system.lock import exclusive_lock
from datakeeper.system.masking import mask_secrets

if TYPE_CHECKING:
    from datakeeper.config import SiteConfig

ChangeListener = Callable[[Change, str], None]
LOCK_TIMEOUT_ENV = "DATAKEEPER_LOCK_TIMEOUT"
DEFAULT_LOCK_TIMEOUT = 60.0


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
    on_unchanged: Callable[[Resource], None] | None = None,
    keep_going: bool = False,
    secrets: Sequence[str] = (),
) -> Outcome:
    """Plan and apply ``resources`` (or only plan, in a dry run) in a session of its own."""
    with change_session(cfg, dry_run=dry_run) as session:
        return session.converge(
            resources,
            on_change=on_change,
            on_unchanged=on_unchanged,
            keep_going=keep_going,
            secrets=secrets,
        )


@dataclass
class Session:
    """A run allowed to change the system: storage checked, lock held, log open."""

    cfg: SiteConfig
    dry_run: bool
    log: ActionLog | None

    def converge(
        self,
        resources: Sequence[Resource],
        *,
        on_change: ChangeListener | None = None,
        on_unchanged: Callable[[Resource], None] | None = None,
        keep_going: bool = False,
        secrets: Sequence[str] = (),
    ) -> Outcome:
        """Converge ``resources``; the guard checks every path they may write first."""
        executor = Executor(
            dry_run=self.dry_run,
            guard=StorageGuard(self.cfg.storage_roots),
            on_change=on_change,
            on_unchanged=on_unchanged,
            keep_going=keep_going,
        )
        if self.log is not None:
            log = self.log
            executor.record = lambda change, outcome: log.record(
                resource=change.resource,
                change=mask_secrets(change.summary, secrets),
                outcome=outcome,
            )
        return executor.converge(resources)


@contextmanager
def change_session(
    cfg: SiteConfig, *, dry_run: bool, timeout: float | None = None, sync_passwords: bool = True
) -> Iterator[Session]:
    """Open a session: before anything is written, the data root (where the action
    log, registry and lock live) must pass the storage guard; the state directory
    is created; an exclusive lock keeps a second admin out until the session ends.
    A dry run takes no lock and writes nothing.

    ``timeout`` (seconds to wait for the lock) defaults to the environment
    variable ``DATAKEEPER_LOCK_TIMEOUT``, read now, else 60.

    Once the lock is held, password changes made with ``passwd`` are saved in the
    registry (best effort, see ``features.users.passwords``), unless
    ``sync_passwords=False`` (recovery: it is about to set the recorded hashes).
    """
    if dry_run:
        yield Session(cfg, True, None)
        return
    wait = lock_timeout() if timeout is None else timeout
    StorageGuard(cfg.storage_roots)([cfg.action_log_path])
    _ensure_state_dir(cfg.state_dir)
    lock = cfg.state_dir / "run.lock"
    with exclusive_lock(lock, timeout=wait, what=_("datakeeper (another admin's run)")):
        log = ActionLog(cfg.action_log_path)
        if sync_passwords:
            _sync_passwords(cfg, log)
        yield Session(cfg, False, log)


def lock_timeout() -> float:
    """Seconds to wait for another run's lock: ``DATAKEEPER_LOCK_TIMEOUT`` or 60."""
    text = os.environ.get(LOCK_TIMEOUT_ENV, "").strip()
    if not text:
        return DEFAULT_LOCK_TIMEOUT
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value < float("inf"):
        raise InvalidInputError(
            _("{var}={value!r}: expected a number of seconds, e.g. 60").format(
                var=LOCK_TIMEOUT_ENV, value=text
            )
        )
    return value


def _sync_passwords(cfg: SiteConfig, log: ActionLog) -> None:
    from datakeeper.features.users.passwords import sync_best_effort

    sync_best_effort(cfg, log)


def _ensure_state_dir(state_dir: Path) -> None:
    """Root-only directory for the registry, the manifest and the action log."""
    state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
