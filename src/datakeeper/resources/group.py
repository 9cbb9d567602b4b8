"""A Unix group with an optional fixed gid, and one user's membership in a group."""

from __future__ import annotations

from dataclasses import dataclass

from datakeeper.engine import state
from datakeeper.engine.change import Change
from datakeeper.engine.effects import GroupAt, MemberOf
from datakeeper.engine.resource import Resource
from datakeeper.errors import ConflictError
from datakeeper.i18n import _
from datakeeper.system import accounts


@dataclass(frozen=True)
class Group(Resource):
    """Group ``name`` exists; with ``gid`` set, with exactly that gid.

    An existing group with another gid, or the gid held by another group, is a
    conflict: files on persistent storage keep numeric ids, so guessing would
    hand one group's files to another.
    """

    name: str
    gid: int | None = None

    @property
    def id(self) -> str:
        return f"group {self.name}"

    def plan(self) -> list[Change]:
        current = state.group_by_name(self.name)
        if current is not None:
            self._check_gid(current.gid)
            return []
        if self.gid is not None:
            holder = state.group_by_gid(self.gid)
            if holder is not None:
                raise ConflictError(
                    _(
                        "cannot create group {name} with gid {gid}: group {other} already has it"
                    ).format(name=self.name, gid=self.gid, other=holder.name)
                )
        how = _("gid {gid}").format(gid=self.gid) if self.gid is not None else _("next free gid")
        summary = _("create group {name} ({how})").format(name=self.name, how=how)
        after = {"name": self.name, "gid": self.gid}
        action = lambda: accounts.add_group(self.name, self.gid)  # noqa: E731
        effects = (GroupAt(self.name, self.gid),)
        return [Change(self.id, summary, action, None, after, effects, undo=self._undo)]

    def _undo(self) -> None:
        """Delete the group this run created (``userdel`` may have done it already)."""
        if accounts.group_by_name(self.name) is not None:
            accounts.delete_group(self.name)

    def _check_gid(self, actual: int) -> None:
        if self.gid is not None and actual != self.gid:
            raise ConflictError(
                _(
                    "group {name} has gid {actual}, expected {gid}; files on storage use {gid}: "
                    "fix the group by hand (groupmod -g) or the record"
                ).format(name=self.name, actual=actual, gid=self.gid)
            )


@dataclass(frozen=True)
class GroupMembership(Resource):
    """``user`` is a member of ``group`` (other memberships are left as they are)."""

    user: str
    group: str

    @property
    def id(self) -> str:
        return f"membership {self.user} in {self.group}"

    def plan(self) -> list[Change]:
        if self.group in state.supplementary_groups(self.user):
            return []
        summary = _("add {user} to group {group}").format(user=self.user, group=self.group)
        action = lambda: accounts.add_to_group(self.user, self.group)  # noqa: E731
        effects = (MemberOf(self.user, self.group),)
        return [Change(self.id, summary, action, {"member": False}, {"member": True}, effects)]
