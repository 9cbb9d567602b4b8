"""The registry's password hashes, kept in step with ``/etc/shadow``.

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

Hashes are secrets: no sentence, diff or log line names one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from datakeeper.engine.change import Change
from datakeeper.engine.resource import Resource
from datakeeper.i18n import _
from datakeeper.registry import RegistryEntry, open_registry, read_document
from datakeeper.system import accounts

BARE_LOCKS = frozenset({"!", "!!", "*"})


@dataclass(frozen=True)
class PasswordReview:
    """Accounts whose live hash should be recorded, and those held back (name -> why)."""

    updates: tuple[str, ...] = ()
    held_back: dict[str, str] = field(default_factory=dict)


def review_passwords(entries: Iterable[RegistryEntry], shadow: Path) -> PasswordReview:
    """Compare each registered account's live hash with the recorded one; reads only."""
    updates: list[str] = []
    held_back: dict[str, str] = {}
    for entry in entries:
        live, why_not = _new_hash(entry, shadow)
        if why_not is not None:
            held_back[entry.name] = why_not
        elif live is not None:
            updates.append(entry.name)
    return PasswordReview(tuple(sorted(updates)), held_back)


def _new_hash(entry: RegistryEntry, shadow: Path) -> tuple[str | None, str | None]:
    """(the live hash to record, or None; why it is held back, or None)."""
    live = _live_hash(entry, shadow)
    if live is None or live == entry.password_hash:
        return None, None
    if live in BARE_LOCKS and _usable(entry.password_hash):
        return None, _(
            "{name} has no password here but one is recorded (an interrupted recovery?): "
            "kept the recorded one; run 'datakeeper recover', or 'datakeeper user register "
            "{name}' if the account was locked on purpose"
        ).format(name=entry.name)
    return live, None


def record_id(name: str) -> str:
    """The resource name a saved hash of ``name`` is planned and logged under."""
    return f"registry {name}"


@dataclass(frozen=True)
class RecordedPasswords(Resource):
    """The registry at ``registry`` records the live hash of every registered account.

    One change per account whose hash changed; each is checked again under the
    registry's own lock when it is saved, so a concurrent change is never undone.
    """

    registry: Path
    shadow: Path = accounts.SHADOW_PATH

    @property
    def id(self) -> str:
        return "registry passwords"

    def touches(self) -> tuple[Path, ...]:
        return (self.registry,)

    def review(self) -> PasswordReview:
        """What ``plan`` would save, and the accounts held back; reads only."""
        if not self.registry.exists():
            return PasswordReview()
        return review_passwords(read_document(self.registry).users.values(), self.shadow)

    def plan(self) -> list[Change]:
        return [
            Change(
                record_id(name),
                _("save {name}'s new password hash in the registry").format(name=name),
                partial(self._save, name),
                operation="save",
            )
            for name in self.review().updates
        ]

    def _save(self, name: str) -> None:
        with open_registry(self.registry) as registry:
            entry = registry.get(name)
            live = _new_hash(entry, self.shadow)[0] if entry is not None else None
            if entry is not None and live is not None:  # else changed since the plan: done
                registry.upsert(entry.model_copy(update={"password_hash": live}))


def _live_hash(entry: RegistryEntry, shadow: Path) -> str | None:
    """The shadow field of the account, only when it is the recorded account (same ids)."""
    user = accounts.user_by_name(entry.name)
    if user is None or (user.uid, user.gid) != (entry.uid, entry.gid):
        return None
    return accounts.password_hash(entry.name, shadow)


def _usable(hashed: str) -> bool:
    return bool(hashed) and not hashed.startswith(("!", "*"))
