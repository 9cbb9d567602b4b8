"""An account on its way out: locked first, then absent (``userdel``, never ``-r``).

Both read the account when planned and plan nothing once it is gone, so a
removal that stopped half way is simply run again. Files are never touched:
what the account owned stays, owned by its old uid.
"""

from __future__ import annotations

from dataclasses import dataclass

from datakeeper.engine.change import Change
from datakeeper.engine.resource import Resource
from datakeeper.i18n import _
from datakeeper.system import accounts


@dataclass(frozen=True)
class AccountLocked(Resource):
    """Account ``name`` is locked and expired: no new login (keys included) while it
    is being removed. Planned whenever the account exists, since ``AccountAbsent``
    comes right after it."""

    name: str

    @property
    def id(self) -> str:
        return f"account {self.name}"

    def plan(self) -> list[Change]:
        if accounts.user_by_name(self.name) is None:
            return []
        summary = _("lock and expire account {name} (no new logins during the removal)").format(
            name=self.name
        )
        return [Change(self.id, summary, lambda: accounts.lock_user(self.name), operation="lock")]


@dataclass(frozen=True)
class AccountAbsent(Resource):
    """Account ``name`` does not exist, nor its private group (the group named like
    it, when it was its primary group and nobody else's)."""

    name: str

    @property
    def id(self) -> str:
        return f"account {self.name}"

    def plan(self) -> list[Change]:
        user = accounts.user_by_name(self.name)
        if user is None:
            return []
        group = private_group(self.name, user.gid)
        if group is not None:
            summary = _(
                "delete account {name} (uid {uid}) and its private group {name} (gid {gid}); "
                "files are not touched"
            ).format(name=self.name, uid=user.uid, gid=group.gid)
        else:
            summary = _("delete account {name} (uid {uid}); files are not touched").format(
                name=self.name, uid=user.uid
            )
        before = {"uid": user.uid, "gid": user.gid, "group": group.name if group else None}
        action = lambda: delete_account(self.name, group)  # noqa: E731
        return [Change(self.id, summary, action, before, None)]


def private_group(name: str, gid: int) -> accounts.GroupInfo | None:
    """The group named like the user, when it is their primary and no one else's."""
    group = accounts.group_by_gid(gid)
    if group is None or group.name != name:
        return None
    if [m for m in group.members if m != name]:
        return None
    if [u for u in accounts.primary_users(gid) if u != name]:
        return None
    return group


def delete_account(name: str, group: accounts.GroupInfo | None) -> None:
    """``userdel NAME``, then ``groupdel`` of its private ``group`` if userdel left it."""
    accounts.delete_user(name)
    if group is None:
        return
    left = accounts.group_by_name(group.name)
    if left is not None and left.gid == group.gid:  # userdel keeps it without USERGROUPS_ENAB
        accounts.delete_group(group.name)
