"""The account side of ``user remove``: lock, registry entry, home link, ``userdel``.

Each ``plan_*`` reads the system now and returns the changes still needed
(nothing when already done), so a removal that stopped half way can simply
be run again.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from datakeeper.engine import Change, Resource
from datakeeper.i18n import _
from datakeeper.registry import open_registry, read_registry
from datakeeper.system import accounts


@dataclass(frozen=True)
class Target:
    """The account to remove (``account`` False: only its registry entry is left)."""

    name: str
    uid: int
    gid: int
    account: bool
    registered: bool

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Step(Resource):
    """One step of a removal: ``planner`` reads the system and returns its changes."""

    label: str
    planner: Callable[[], list[Change]] = field(compare=False, repr=False)
    paths: tuple[Path, ...] = ()

    @property
    def id(self) -> str:
        return self.label

    def plan(self) -> list[Change]:
        return self.planner()

    def touches(self) -> tuple[Path, ...]:
        return self.paths


def plan_lock(name: str) -> list[Change]:
    """Lock and expire the account first: no new login while it is being removed."""
    if accounts.user_by_name(name) is None:
        return []
    summary = _("lock and expire account {name} (no new logins during the removal)").format(
        name=name
    )
    return [Change(f"account {name}", summary, lambda: accounts.lock_user(name))]


def plan_unregister(registry: Path, name: str) -> list[Change]:
    """Forget the registry entry: recovery no longer recreates the account."""
    if not registry.exists() or all(e.name != name for e in read_registry(registry)):
        return []
    summary = _("forget {name} in the registry (recovery will not recreate it)").format(name=name)
    return [Change(f"registry {name}", summary, lambda: _unregister(registry, name))]


def _unregister(registry: Path, name: str) -> None:
    with open_registry(registry) as entries:
        entries.retire(name)  # its uid is remembered: files may remain on storage


def link_state(link: Path, persistent: Path) -> dict:
    """What ``/home/NAME`` is: missing, our link, another link, or a real directory."""
    try:
        info = os.lstat(link)
    except FileNotFoundError:
        return {"path": str(link), "kind": "missing"}
    if not stat.S_ISLNK(info.st_mode):
        kind = "directory" if stat.S_ISDIR(info.st_mode) else "other"
        return {"path": str(link), "kind": kind}
    target = os.readlink(link)
    ours = os.path.normpath(os.path.join(link.parent, target)) == os.path.normpath(persistent)
    return {"path": str(link), "kind": "link" if ours else "foreign link", "target": target}


def plan_unlink_home(link: Path, persistent: Path) -> list[Change]:
    """Remove ``/home/NAME`` only when it is a symlink to the persistent home."""
    state = link_state(link, persistent)
    if state["kind"] != "link":
        return []
    summary = _("remove the link {link} -> {target}").format(link=link, target=state["target"])
    return [Change(f"symlink {link}", summary, lambda: os.unlink(link), state, None)]


def plan_delete_account(name: str) -> list[Change]:
    """``userdel`` (never ``-r``), then make sure the empty private group went too."""
    user = accounts.user_by_name(name)
    if user is None:
        return []
    group = private_group(name, user.gid)
    if group is not None:
        summary = _(
            "delete account {name} (uid {uid}) and its private group {name} (gid {gid}); "
            "files are not touched"
        ).format(name=name, uid=user.uid, gid=group.gid)
    else:
        summary = _("delete account {name} (uid {uid}); files are not touched").format(
            name=name, uid=user.uid
        )
    before = {"uid": user.uid, "gid": user.gid, "group": group.name if group else None}
    return [Change(f"account {name}", summary, lambda: _delete(name, group), before, None)]


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


def _delete(name: str, group: accounts.GroupInfo | None) -> None:
    accounts.delete_user(name)
    if group is None:
        return
    left = accounts.group_by_name(group.name)
    if left is not None and left.gid == group.gid:  # userdel keeps it without USERGROUPS_ENAB
        accounts.delete_group(group.name)
