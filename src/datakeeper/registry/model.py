"""What the registry records about each managed account, validated with pydantic.

Recovery recreates accounts from these entries after a wipe, so every field
must be usable as-is in ``/etc/passwd``, ``/etc/group`` and ``/etc/shadow``:
names follow our own rule (stricter than ``useradd``), text fields cannot
contain ``:`` or control characters, and ids are never 0 (root) or 65534
(nobody/nogroup). Lists are stored as sorted, de-duplicated tuples so the
file diffs cleanly and an entry cannot be changed behind the registry's back.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from datakeeper.i18n import _

NAME_PATTERN = r"^[a-z_][a-z0-9_-]{0,31}$"
MAX_ID = 4294967294  # 2**32 - 2; 2**32 - 1 is (uid_t)-1, "no id"
NOBODY_ID = 65534
MASK = "***"


def utc_now() -> datetime:
    """The current time in UTC, to the second (the registry needs no more)."""
    return datetime.now(timezone.utc).replace(microsecond=0)


# A colon or a control character (C0 or DEL) would break a passwd/shadow line.
_NOT_IN_A_FIELD = re.compile(r"[:\x00-\x1f\x7f]")


def _no_control_or_colon(value: str) -> str:
    if _NOT_IN_A_FIELD.search(value):
        raise PydanticCustomError(
            "passwd_field", _("must not contain ':', a newline or other control characters")
        )
    return value


def _not_nobody(value: int) -> int:
    if value == NOBODY_ID:
        raise PydanticCustomError("nobody_id", _("65534 is nobody/nogroup; choose another id"))
    return value


def _absolute_path(value: str) -> str:
    if not value.startswith("/"):
        raise PydanticCustomError("absolute_path", _("must be an absolute path"))
    return value


def _utc(value: datetime) -> datetime:
    return value.astimezone(timezone.utc)


def _sorted_unique(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(sorted(set(values)))


Name = Annotated[str, StringConstraints(pattern=NAME_PATTERN)]
Id = Annotated[int, Field(strict=True, ge=1, le=MAX_ID), AfterValidator(_not_nobody)]
PasswdText = Annotated[str, AfterValidator(_no_control_or_colon)]
# Colons belong to "SHA256:..." fingerprints: refuse only spaces and controls.
Fingerprint = Annotated[str, StringConstraints(pattern=r"^[^\s\x00-\x1f\x7f]+$")]
UtcDatetime = Annotated[AwareDatetime, AfterValidator(_utc)]


class RegistryEntry(BaseModel):
    """One managed account: everything needed to recreate it with the same ids."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: Name
    uid: Id
    gid: Id
    primary_group: Name
    groups: Annotated[tuple[Name, ...], AfterValidator(_sorted_unique)] = ()
    shell: Annotated[PasswdText, AfterValidator(_absolute_path)] = "/bin/bash"
    gecos: PasswdText = ""
    password_hash: PasswdText = ""  # "" means no usable password
    ssh_key_fingerprints: Annotated[tuple[Fingerprint, ...], AfterValidator(_sorted_unique)] = ()
    home_layout: Literal["link", "hybrid"] = "link"
    # Root-equivalent groups (sudo, docker …) the admin allowed by name; recovery
    # grants a recorded privileged group only when it is listed here.
    privileged_groups_allowed: Annotated[tuple[Name, ...], AfterValidator(_sorted_unique)] = ()
    created_at: UtcDatetime = Field(default_factory=utc_now)
    updated_at: UtcDatetime = Field(default_factory=utc_now)

    @model_validator(mode="after")
    def _allowed_are_groups(self) -> RegistryEntry:
        stray = set(self.privileged_groups_allowed) - set(self.groups)
        if stray:
            raise PydanticCustomError(
                "registry_allowance",
                _("privileged_groups_allowed: {groups} not among the groups"),
                {"groups": ", ".join(sorted(stray))},
            )
        return self

    def same_account(self, other: RegistryEntry) -> bool:
        """True when both describe the same account, timestamps aside."""
        ignore = {"created_at", "updated_at"}
        return self.model_dump(exclude=ignore) == other.model_dump(exclude=ignore)

    def masked(self) -> dict[str, Any]:
        """A JSON-ready dict for printing, with a non-empty password hash shown as ``***``.

        An empty hash stays "" so that "no usable password" remains visible.
        """
        data = self.model_dump(mode="json")
        if data["password_hash"]:
            data["password_hash"] = MASK
        return data


def find_conflict(entry: RegistryEntry, others: list[RegistryEntry]) -> str | None:
    """Why ``entry`` cannot sit next to ``others`` (entries of other names), or None.

    Recovery runs ``useradd -u`` and ``groupadd -g`` from the registry, so a
    uid may belong to one name only, and a primary group name and its gid
    must agree across entries.
    """
    for other in others:
        if other.uid == entry.uid:
            return _("uid {uid} is already recorded for {name}").format(
                uid=entry.uid, name=other.name
            )
        if other.gid == entry.gid and other.primary_group != entry.primary_group:
            return _("gid {gid} is recorded as group {group} (user {name}), not {wanted}").format(
                gid=entry.gid,
                group=other.primary_group,
                name=other.name,
                wanted=entry.primary_group,
            )
        if other.primary_group == entry.primary_group and other.gid != entry.gid:
            return _("group {group} is recorded with gid {gid} (user {name}), not {wanted}").format(
                group=entry.primary_group, gid=other.gid, name=other.name, wanted=entry.gid
            )
    return None


class RegistryDocument(BaseModel):
    """The whole registry file: a format version and the entries by name."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: Annotated[int, Field(strict=True)] = 1
    # Goes up by one with every write: nodes sharing /data compare it with the
    # generation they last applied (``datakeeper node sync``).
    generation: Annotated[int, Field(strict=True, ge=0)] = 0
    users: dict[str, RegistryEntry] = Field(default_factory=dict)
    # Shared groups datakeeper manages (the site group, extra groups): name -> gid,
    # so they come back with the same gid and shared folders keep their group.
    groups: dict[Name, Id] = Field(default_factory=dict)
    # Removed accounts: name -> last uid. Their files may remain anywhere on
    # storage, so the uid is never handed to a newcomer silently.
    retired: dict[Name, Id] = Field(default_factory=dict)

    @field_validator("version")
    @classmethod
    def _known_version(cls, value: int) -> int:
        if value != 1:
            raise PydanticCustomError(
                "registry_version",
                _("version {version} is not understood by this datakeeper (expects 1)"),
                {"version": value},
            )
        return value

    @model_validator(mode="after")
    def _consistent(self) -> RegistryDocument:
        seen: list[RegistryEntry] = []
        # Each conflict needs a uid, gid or primary group already seen: without one,
        # the scan of every earlier entry is skipped (O(n), not O(n²), at 1000 users).
        ids: set[object] = set()
        for key, entry in self.users.items():
            if key != entry.name:
                raise PydanticCustomError(
                    "registry_key",
                    _("users.{key}: key does not match the entry's name {name}"),
                    {"key": key, "name": entry.name},
                )
            marks = {("uid", entry.uid), ("gid", entry.gid), ("group", entry.primary_group)}
            problem = find_conflict(entry, seen) if marks & ids else None
            ids |= marks
            if problem:
                raise PydanticCustomError(
                    "registry_conflict",
                    _("users.{key}: {problem}"),
                    {"key": key, "problem": problem},
                )
            seen.append(entry)
        problem = find_group_conflict(self.groups, self.users.values())
        if problem:
            raise PydanticCustomError(
                "registry_conflict", "groups: {problem}", {"problem": problem}
            )
        return self


def find_group_conflict(groups: dict[str, int], users: Iterable[RegistryEntry]) -> str | None:
    """Why the recorded shared groups contradict each other or the users, or None."""
    by_gid: dict[int, str] = {}
    for name, gid in groups.items():
        if gid in by_gid:
            return _("gid {gid} is recorded for both {a} and {b}").format(
                gid=gid, a=by_gid[gid], b=name
            )
        by_gid[gid] = name
    for user in users:
        recorded = groups.get(user.primary_group)
        if recorded is not None and recorded != user.gid:
            return _("group {group} has gid {gid} but user {name} records {other}").format(
                group=user.primary_group, gid=recorded, name=user.name, other=user.gid
            )
        holder = by_gid.get(user.gid)
        if holder is not None and holder != user.primary_group:
            return _("gid {gid} is recorded for group {group} and as {name}'s {other}").format(
                gid=user.gid, group=holder, name=user.name, other=user.primary_group
            )
    return None
