"""A user account: fixed uid, primary and supplementary groups, shell, gecos, password."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from datakeeper.engine import state
from datakeeper.engine.change import Change
from datakeeper.engine.effects import UserAt
from datakeeper.engine.resource import Resource
from datakeeper.errors import ConflictError
from datakeeper.i18n import _
from datakeeper.system import accounts
from datakeeper.system.commands import MASK


@dataclass(frozen=True)
class UserAccount(Resource):
    """Account ``name`` exists as described; the home directory itself is not touched.

    ``groups`` is the exact list of supplementary groups. ``password_hash`` is
    the shadow field to enforce, or None to leave the password alone; it never
    appears in a plan. A different uid or primary group on an existing account,
    or the uid held by another account, is a conflict: never guessed about.
    """

    name: str
    uid: int | None
    group: str
    groups: tuple[str, ...] = ()
    shell: str = "/bin/bash"
    gecos: str = ""
    home: str = ""
    password_hash: str | None = None
    code_kind: ClassVar[str] = "account"  # account.create, not user_account.create

    @property
    def id(self) -> str:
        return f"account {self.name}"

    def plan(self) -> list[Change]:
        current = state.user_by_name(self.name)
        if current is None:
            return [self._create()]
        self._check_identity(current)
        changes = self._field_changes(current)
        password = self._password_change()
        return changes + ([password] if password else [])

    def _create(self) -> Change:
        if self.uid is not None:
            holder = state.user_by_uid(self.uid)
            if holder is not None:
                raise ConflictError(
                    _(
                        "cannot create account {name} with uid {uid}: account {other} already has "
                        "it"
                    ).format(name=self.name, uid=self.uid, other=holder.name)
                )
        after = {
            "uid": self.uid,
            "group": self.group,
            "groups": list(self.groups),
            "shell": self.shell,
            "gecos": self.gecos,
            "home": self.home,
        }
        summary = _("create account {name} (uid {uid}, group {group}, shell {shell})").format(
            name=self.name,
            uid=self.uid if self.uid is not None else _("next free"),
            group=self.group,
            shell=self.shell,
        )
        effect = UserAt(
            self.name, self.uid, self.group, self.groups, self.home, self.shell, self.gecos
        )
        return Change(self.id, summary, self._add, None, after, (effect,), undo=self._undo)

    def _undo(self) -> None:
        """Delete the account this run created (its home is a separate resource)."""
        if accounts.user_by_name(self.name) is not None:
            accounts.delete_user(self.name)

    def _add(self) -> None:
        accounts.add_user(
            self.name,
            uid=self.uid,
            group=self.group,
            groups=self.groups,
            shell=self.shell,
            gecos=self.gecos,
            home=self.home,
        )
        if self.password_hash is not None:
            accounts.set_password_hash(self.name, self.password_hash)

    def _check_identity(self, current: accounts.UserInfo) -> None:
        if self.uid is not None and current.uid != self.uid:
            raise ConflictError(
                _(
                    "account {name} has uid {actual}, expected {uid}: its files on storage belong "
                    "to uid {uid}; resolve by hand, datakeeper will not guess"
                ).format(name=self.name, actual=current.uid, uid=self.uid)
            )
        wanted_group = state.group_by_name(self.group)
        if wanted_group is None or wanted_group.gid != current.gid:
            raise ConflictError(
                _(
                    "account {name} has primary gid {actual}, expected group {group}; "
                    "changing it would re-own files, resolve by hand"
                ).format(name=self.name, actual=current.gid, group=self.group)
            )

    def _field_changes(self, current: accounts.UserInfo) -> list[Change]:
        actual_groups = tuple(g for g in state.supplementary_groups(self.name) if g != self.group)
        differences = {}
        if actual_groups != tuple(sorted(self.groups)):
            differences["groups"] = (list(actual_groups), sorted(self.groups))
        for field_name in ("shell", "gecos", "home"):
            actual, wanted = getattr(current, field_name), getattr(self, field_name)
            if wanted and actual != wanted:
                differences[field_name] = (actual, wanted)
        if not differences:
            return []
        summary = _("modify account {name}: {what}").format(
            name=self.name,
            what=", ".join(f"{k} {a} -> {b}" for k, (a, b) in differences.items()),
        )
        before = {k: a for k, (a, _b) in differences.items()}
        after = {k: b for k, (_a, b) in differences.items()}
        action = lambda: self._modify(after)  # noqa: E731
        return [Change(self.id, summary, action, before, after, (self._modified(current),))]

    def _modified(self, current: accounts.UserInfo) -> UserAt:
        """The account as ``usermod`` leaves it: the wanted fields, the others as they are."""
        return UserAt(
            self.name,
            current.uid,
            self.group,
            tuple(sorted(self.groups)),
            self.home or current.home,
            self.shell or current.shell,
            self.gecos or current.gecos,
        )

    def _modify(self, after: dict) -> None:
        groups = after.get("groups")
        accounts.modify_user(
            self.name,
            groups=tuple(groups) if groups is not None else None,
            shell=after.get("shell"),
            gecos=after.get("gecos"),
            home=after.get("home"),
        )

    def _password_change(self) -> Change | None:
        if self.password_hash is None:
            return None
        if state.password_hash(self.name) == self.password_hash:
            return None
        summary = _("set the recorded password of {name}").format(name=self.name)
        action = lambda: accounts.set_password_hash(self.name, self.password_hash)  # noqa: E731
        return Change(self.id, summary, action, {"password": MASK}, {"password": MASK})
