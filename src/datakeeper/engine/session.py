"""Wiring for commands that change the system: guard, one-admin lock, action log.

Features call ``converge(cfg, resources, dry_run=…)``, or open one
``change_session`` for several steps, and never build an executor themselves,
so every change goes through the same checks. An event that is not a change
(a disk alert) is logged with ``record_event``: the one other way into the
action log, with the same masking, actor and syslog line.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from datakeeper.actionlog import ActionLog
from datakeeper.engine import Change, Executor, Outcome, Resource
from datakeeper.engine.planned import PlannedState
from datakeeper.errors import InvalidInputError, NotRootError
from datakeeper.i18n import _
from datakeeper.resources.password_record import RecordedPasswords
from datakeeper.storage import StorageGuard
from datakeeper.system.lock import exclusive_lock
from datakeeper.system.masking import mask_secrets

if TYPE_CHECKING:
    from datakeeper.config import SiteConfig

ChangeListener = Callable[[Change, str], None]
LOCK_TIMEOUT_ENV = "DATAKEEPER_LOCK_TIMEOUT"
DEFAULT_LOCK_TIMEOUT = 60.0
# Warnings of the best-effort password sync; with no logging configured (the CLI),
# Python prints them on stderr as they are.
logger = logging.getLogger("datakeeper")


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
    """A run allowed to change the system: storage checked, lock held, log open.

    In a dry run, ``planned`` collects what the changes planned so far would
    leave, so each converge plans against the state the ones before it made.
    """

    cfg: SiteConfig
    dry_run: bool
    log: ActionLog | None
    planned: PlannedState = field(default_factory=PlannedState)

    def converge(
        self,
        resources: Sequence[Resource],
        *,
        on_change: ChangeListener | None = None,
        on_unchanged: Callable[[Resource], None] | None = None,
        keep_going: bool = False,
        secrets: Sequence[str] = (),
        rollback: bool = False,
    ) -> Outcome:
        """Converge ``resources``; the guard checks every path they may write first.

        With ``rollback``, a failure undoes what this call created (``Executor``).
        """
        executor = Executor(
            dry_run=self.dry_run,
            guard=StorageGuard(self.cfg.storage_roots),
            on_change=on_change,
            on_unchanged=on_unchanged,
            keep_going=keep_going,
            rollback=rollback,
            planned=self.planned,
        )
        if self.log is not None:
            log = self.log
            executor.record = lambda change, outcome: _write(
                log,
                _Entry(change.code or "", change.resource, change.summary, outcome),
                secrets,
                _result(change, secrets),
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
    registry (``RecordedPasswords``, best effort: a failure is a warning), unless
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
        session = Session(cfg, False, ActionLog(cfg.action_log_path))
        if sync_passwords:
            _sync_passwords(session)
        yield session


def record_event(
    cfg: SiteConfig,
    *,
    code: str,
    resource: str,
    event: str,
    outcome: str,
    details: dict[str, Any] | None = None,
    secrets: Sequence[str] = (),
) -> None:
    """Log ``event``, something that happened rather than a planned change (a disk
    alert), in the action log and syslog, masked and with the actor as for changes.
    ``code`` is its stable, English kind (``disk.alert``), like a change's code.

    It takes no lock, so a timer's run never waits behind an admin's; the log
    appends whole lines under its own brief lock. The data root must pass the
    storage guard (``StorageNotPersistentError`` otherwise), so a failed mount
    never leaves a log on the SSD.
    """
    StorageGuard(cfg.storage_roots)([cfg.action_log_path])
    _ensure_state_dir(cfg.state_dir)
    entry = _Entry(code, resource, event, outcome)
    _write(ActionLog(cfg.action_log_path), entry, secrets, details)


@dataclass(frozen=True)
class _Entry:
    """One action-log line before masking: its code, resource, sentence and outcome."""

    code: str
    resource: str
    change: str
    outcome: str


def _write(
    log: ActionLog,
    entry: _Entry,
    secrets: Sequence[str],
    details: dict[str, Any] | None = None,
) -> None:
    log.record(
        code=entry.code,
        resource=mask_secrets(entry.resource, secrets),
        change=mask_secrets(entry.change, secrets),
        outcome=entry.outcome,
        details=details,
    )


def _result(change: Change, secrets: Sequence[str]) -> dict[str, Any] | None:
    """What an applied change reported (a merge's rescued and skipped entries), masked."""
    return {"result": mask_secrets(change.result, secrets)} if change.result else None


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


def _sync_passwords(session: Session) -> None:
    """Save hashes changed with ``passwd`` in the registry, logged like any change.

    Best effort by design: a failure, or an account held back, is a warning and
    never stops the command the admin asked for.
    """
    if os.geteuid() != 0:
        return  # /etc/shadow and the registry are root's
    resource = RecordedPasswords(session.cfg.registry_path)
    try:
        held_back = resource.review().held_back
        outcome = session.converge([resource], keep_going=True)
        problems = [str(error) for _name, error in outcome.failed]
    except Exception as error:  # best effort: anything at all only warns
        held_back, problems = {}, [str(error)]
    for why in problems:
        _warn(_("could not save changed passwords in the registry: {why}").format(why=why))
    for reason in held_back.values():
        _warn(reason)


def _warn(message: str) -> None:
    logger.warning(_("datakeeper: warning: {message}").format(message=message))


def _ensure_state_dir(state_dir: Path) -> None:
    """Root-only directory for the registry, the manifest and the action log."""
    state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
