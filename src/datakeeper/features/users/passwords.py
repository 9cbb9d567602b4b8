"""Keep the registry's password hashes in step with ``/etc/shadow``.

A user who runs ``passwd`` changes only ``/etc/shadow``, which the next wipe
erases; recovery restores the hash recorded in the registry. So the live hash
of every registered account is copied into the registry: on every datakeeper
run that changes the system, when ``/etc/shadow`` changes (a systemd path
unit), and at shutdown (the recovery service's ``ExecStop``).

Only an account that exists here with the SAME uid and gid as recorded is
read: right after a wipe ``/etc`` knows nobody (or someone else under that
name), and nothing must be overwritten then. A bare lock (``!``, ``!!``,
``*``: what ``useradd`` leaves before recovery sets the recorded hash) never
replaces a recorded usable hash: that is an interrupted recovery, not a change.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from datakeeper.i18n import _
from datakeeper.registry import RegistryEntry, open_registry, read_document
from datakeeper.system import accounts

if TYPE_CHECKING:
    from datakeeper.actionlog import ActionLog
    from datakeeper.config import SiteConfig

BARE_LOCKS = frozenset({"!", "!!", "*"})


@dataclass
class SyncPlan:
    """New hashes to record (name -> hash) and accounts held back, with the reason."""

    updates: dict[str, str] = field(default_factory=dict)
    held_back: dict[str, str] = field(default_factory=dict)


def plan_sync(entries: Iterable[RegistryEntry], shadow: Path = accounts.SHADOW_PATH) -> SyncPlan:
    """Compare each registered account's live hash with the recorded one; reads only."""
    plan = SyncPlan()
    for entry in entries:
        live = _live_hash(entry, shadow)
        if live is None or live == entry.password_hash:
            continue
        if live in BARE_LOCKS and _usable(entry.password_hash):
            plan.held_back[entry.name] = _(
                "{name} has no password here but one is recorded (an interrupted recovery?): "
                "kept the recorded one; run 'datakeeper recover', or 'datakeeper user register "
                "{name}' if the account was locked on purpose"
            ).format(name=entry.name)
            continue
        plan.updates[entry.name] = live
    return plan


def _live_hash(entry: RegistryEntry, shadow: Path) -> str | None:
    """The shadow field of the account, only when it is the recorded account (same ids)."""
    user = accounts.user_by_name(entry.name)
    if user is None or (user.uid, user.gid) != (entry.uid, entry.gid):
        return None
    return accounts.password_hash(entry.name, shadow)


def _usable(hashed: str) -> bool:
    return bool(hashed) and not hashed.startswith(("!", "*"))


def sync_passwords(
    cfg: SiteConfig, *, dry_run: bool = False, shadow: Path = accounts.SHADOW_PATH
) -> list[str]:
    """Record the live hash of every registered account whose hash changed; return the
    names (sorted). A dry run only reports them. The registry is written only when
    something changed, under its own lock, each entry checked again there."""
    return sorted(sync(cfg, dry_run=dry_run, shadow=shadow).updates)


def sync(
    cfg: SiteConfig, *, dry_run: bool = False, shadow: Path = accounts.SHADOW_PATH
) -> SyncPlan:
    """Like ``sync_passwords``, returning the whole plan (held-back accounts too)."""
    if not cfg.registry_path.exists():
        return SyncPlan()
    plan = plan_sync(read_document(cfg.registry_path).users.values(), shadow)
    if dry_run or not plan.updates:
        return plan
    with open_registry(cfg.registry_path) as registry:
        for name in list(plan.updates):
            entry = registry.get(name)
            fresh = plan_sync([entry], shadow) if entry is not None else SyncPlan()
            if name not in fresh.updates:
                del plan.updates[name]
                continue
            registry.upsert(entry.model_copy(update={"password_hash": fresh.updates[name]}))
    return plan


def record(log: ActionLog, names: Iterable[str]) -> None:
    """One action-log line per account whose new hash was saved (never the hash)."""
    for name in names:
        log.record(
            resource=f"registry {name}",
            change=_("saved the changed password of {name} in the registry").format(name=name),
        )


def sync_best_effort(cfg: SiteConfig, log: ActionLog | None) -> list[str]:
    """The sync every datakeeper run does first: a failure is a warning on stderr, never
    an error, so a broken sync cannot stop the command the admin asked for."""
    if os.geteuid() != 0:
        return []  # /etc/shadow and the registry are root's
    try:
        plan = sync(cfg)
        if log is not None:
            record(log, sorted(plan.updates))
    except Exception as error:  # best effort by design: warn and go on
        _warn(_("could not save changed passwords in the registry: {why}").format(why=error))
        return []
    for reason in plan.held_back.values():
        _warn(reason)
    return sorted(plan.updates)


def _warn(message: str) -> None:
    print(_("datakeeper: warning: {message}").format(message=message), file=sys.stderr)
