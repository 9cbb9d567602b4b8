"""The state a dry run's planned changes would leave: declared effects over the real system.

The executor records each planned change's effects here; while a resource
plans inside a dry run, the read layer (``engine.state``) asks this overlay
first and the real system second. Nothing here writes anything.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path

from datakeeper.engine.effects import (
    AbsentAt,
    DirectoryAt,
    Effect,
    FileAt,
    GroupAt,
    MemberOf,
    MergedInto,
    PathEffect,
    SymlinkAt,
    UserAt,
)
from datakeeper.system import accounts
from datakeeper.system.accounts import GroupInfo, UserInfo

MAX_LINKS = 40  # the kernel's limit on symlinks followed in one lookup
FIRST_PLANNED_ID = -2  # -1 means "leave unchanged" to chown; planned ids are -2 and below
UNKNOWN_ID = FIRST_PLANNED_ID  # a planned account whose group is not known yet


def is_planned_id(value: int | None) -> bool:
    """Whether ``value`` stands for the id of a group or account not created yet."""
    return value is not None and value <= FIRST_PLANNED_ID


def _link_target(found: Path | DirectoryAt | FileAt | SymlinkAt | None) -> str | None:
    if isinstance(found, SymlinkAt):
        return found.target
    if isinstance(found, Path):
        try:
            return os.readlink(found)
        except OSError:
            return None
    return None


def normal(path: Path | str) -> Path:
    """Absolute, with ``.`` and ``..`` folded, so one path has one key."""
    return Path(os.path.normpath(os.path.abspath(path)))


class PlannedState:
    """Effects of the changes planned so far in one dry run, in order."""

    def __init__(self) -> None:
        self._paths: dict[Path, PathEffect] = {}
        self._merges: list[MergedInto] = []
        self._groups: dict[str, int] = {}
        self._users: dict[str, tuple[UserAt, int]] = {}
        self._members: set[tuple[str, str]] = set()
        self._next_id = UNKNOWN_ID - 1

    def record(self, effects: Iterable[Effect]) -> None:
        """Take ``effects`` as done: later reads see them."""
        for effect in effects:
            if isinstance(effect, MergedInto):
                self._merges.append(MergedInto(normal(effect.source), normal(effect.destination)))
            elif isinstance(effect, GroupAt):
                self._groups[effect.name] = self._id(effect.gid)
            elif isinstance(effect, UserAt):
                self._users[effect.name] = (effect, self._id(effect.uid))
            elif isinstance(effect, MemberOf):
                self._members.add((effect.user, effect.group))
            else:
                self._paths[normal(effect.path)] = effect

    def _id(self, wanted: int | None) -> int:
        if wanted is not None:
            return wanted
        self._next_id -= 1
        return self._next_id + 1

    # -- paths -------------------------------------------------------------------

    def locate(self, path: Path | str) -> Path | DirectoryAt | FileAt | SymlinkAt | None:
        """What will be at ``path``: the path on disk that holds it now, the effect that
        makes it, or None when nothing will be there. Links in the parent directories,
        planned or real, are followed; ``path`` itself is not."""
        path = normal(path)
        return self._at(self.realpath(path.parent) / path.name)

    def _at(self, path: Path) -> Path | DirectoryAt | FileAt | SymlinkAt | None:
        """``locate`` for a path whose parent has no symlink in it."""
        for ancestor in (path, *path.parents):
            effect = self._paths.get(ancestor)
            if effect is None:
                continue
            if isinstance(effect, AbsentAt):
                return None
            if ancestor == path:
                return effect
            if not isinstance(effect, DirectoryAt):
                return None  # nothing lives below a file (a link here is a loop)
            break  # a planned directory holds what is on disk (or merged) below it
        return self._merged(path)

    def _merged(self, path: Path) -> Path:
        if os.path.lexists(path):
            return path  # a merge never replaces what the destination has
        for merge in reversed(self._merges):
            if path != merge.destination and path.is_relative_to(merge.destination):
                candidate = merge.source / path.relative_to(merge.destination)
                if os.path.lexists(candidate):
                    return candidate
        return path

    def lstat(self, path: Path | str) -> os.stat_result | None:
        """``os.lstat`` of what will be at ``path`` (None when nothing will be)."""
        found = self.locate(path)
        if found is None:
            return None
        if isinstance(found, Path):
            try:
                return os.lstat(found)
            except FileNotFoundError:
                return None
        return self._stat_of(found)

    def readlink(self, path: Path | str) -> str | None:
        """The target of the link that will be at ``path``, or None if no link will be."""
        return _link_target(self.locate(path))

    def realpath(self, path: Path | str, links: int = 0) -> Path:
        """``os.path.realpath`` through the planned links as well as the real ones."""
        resolved = Path("/")
        for part in normal(path).parts[1:]:
            candidate = resolved / part
            target = _link_target(self._at(candidate))
            if target is None or links >= MAX_LINKS:
                resolved = candidate
            else:
                resolved = self.realpath(resolved / target, links + 1)
        return resolved

    def _stat_of(self, effect: DirectoryAt | FileAt | SymlinkAt) -> os.stat_result:
        """An ``lstat`` answer for what ``effect`` makes (owner and group resolved now)."""
        if isinstance(effect, SymlinkAt):
            fields = (stat.S_IFLNK | 0o777, 0, 0, len(effect.target))
        else:
            kind = stat.S_IFDIR if isinstance(effect, DirectoryAt) else stat.S_IFREG
            uid, gid = self._uid(effect.owner), self._gid(effect.group)
            fields = (kind | effect.mode, uid, gid, 0)
        mode, uid, gid, size = fields
        return os.stat_result((mode, 0, 0, 1, uid, gid, size, 0, 0, 0))

    def _uid(self, owner: str) -> int | None:
        found = int(owner) if owner.isdigit() else self.user_by_name(owner)
        return found.uid if isinstance(found, UserInfo) else found

    def _gid(self, group: str) -> int | None:
        found = int(group) if group.isdigit() else self.group_by_name(group)
        return found.gid if isinstance(found, GroupInfo) else found

    # -- accounts ----------------------------------------------------------------

    def group_by_name(self, name: str) -> GroupInfo | None:
        """The group as it will be (planned groups get a planned id until created)."""
        gid = self._groups.get(name)
        if gid is None:
            real = accounts.group_by_name(name)
            if real is None:
                return None
            gid = real.gid
        return GroupInfo(name, gid, self._members_of(name))

    def group_by_gid(self, gid: int) -> GroupInfo | None:
        for name, planned in self._groups.items():
            if planned == gid:
                return self.group_by_name(name)
        real = accounts.group_by_gid(gid)
        return None if real is None else self.group_by_name(real.name)

    def user_by_name(self, name: str) -> UserInfo | None:
        """The account as it will be (a planned account gets a planned uid until created)."""
        if name not in self._users:
            return accounts.user_by_name(name)
        effect, uid = self._users[name]
        group = self._gid(effect.group)
        gid = group if group is not None else UNKNOWN_ID
        return UserInfo(name, uid, gid, effect.gecos, effect.home, effect.shell)

    def user_by_uid(self, uid: int) -> UserInfo | None:
        for name, (_effect, planned) in self._users.items():
            if planned == uid:
                return self.user_by_name(name)
        return accounts.user_by_uid(uid)

    def supplementary_groups(self, user: str) -> tuple[str, ...]:
        """The groups that will list ``user`` as a member, sorted."""
        if user in self._users:
            found = set(self._users[user][0].groups)
        else:
            found = set(accounts.supplementary_groups(user))
        found |= {group for member, group in self._members if member == user}
        return tuple(sorted(found))

    def _members_of(self, group: str) -> tuple[str, ...]:
        real = accounts.group_by_name(group)
        members = set(real.members) if real is not None else set()
        for name, (effect, _uid) in self._users.items():
            if group in effect.groups:
                members.add(name)
            else:
                members.discard(name)
        members |= {user for user, wanted in self._members if wanted == group}
        return tuple(sorted(members))

    def is_planned_user(self, name: str) -> bool:
        """Whether account ``name`` exists only as a planned change."""
        return name in self._users and accounts.user_by_name(name) is None

    def is_planned_group(self, name: str) -> bool:
        """Whether group ``name`` exists only as a planned change."""
        return name in self._groups and accounts.group_by_name(name) is None
