"""The recorded password fields of many accounts, set with one ``chpasswd``."""

from __future__ import annotations

from dataclasses import dataclass, field

from datakeeper.engine import state
from datakeeper.engine.change import Change
from datakeeper.engine.resource import Resource
from datakeeper.i18n import _
from datakeeper.system import accounts
from datakeeper.system.commands import MASK


@dataclass(frozen=True)
class RecordedHash:
    """Account ``name`` with ids ``uid``/``gid`` should have shadow field ``hashed``."""

    name: str
    uid: int | None
    gid: int | None
    hashed: str = field(repr=False)


@dataclass(frozen=True)
class RecordedHashes(Resource):
    """Each listed account that exists with its recorded ids has its recorded hash.

    For ``recover``: ``chpasswd`` locks and rewrites ``/etc/shadow`` once however many
    lines it is given, where one run per account would rewrite it once per account.
    An account that is missing, or holds another uid or primary gid (a conflict its
    ``UserAccount`` refused), is left alone: a hash never lands on an account that
    merely shares a name. The hashes are secrets: never in a plan or a log.
    """

    wanted: tuple[RecordedHash, ...] = field(repr=False)

    @property
    def id(self) -> str:
        return "recorded passwords"

    def plan(self) -> list[Change]:
        due = {item.name: item.hashed for item in self.wanted if self._due(item)}
        if not due:
            return []
        # The sentence each account had when it was set alone, naming them all.
        summary = _("set the recorded password of {name}").format(name=", ".join(sorted(due)))
        masked = {"password": MASK}
        action = lambda: accounts.set_password_hashes(due)  # noqa: E731
        return [Change(self.id, summary, action, masked, masked, operation="set")]

    @staticmethod
    def _due(item: RecordedHash) -> bool:
        current = state.user_by_name(item.name)
        if current is None or item.uid not in (None, current.uid):
            return False
        if item.gid not in (None, current.gid):
            return False
        return state.password_hash(item.name) != item.hashed
