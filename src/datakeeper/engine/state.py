"""The read layer resources plan with: the system as it is, or as a dry run would leave it.

Outside a dry run every function reads the system directly. While the
executor plans a resource inside a dry run (``planning_against``), they answer
from the ``PlannedState`` first, so a resource sees what the changes planned
before it would have done (a home moved aside, a group created). Only reads
live here; writes stay with the resources' actions.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from datakeeper.engine.effects import DirectoryAt, FileAt
from datakeeper.engine.planned import PlannedState, is_planned_id
from datakeeper.system import accounts
from datakeeper.system.accounts import GroupInfo, UserInfo
from datakeeper.system.fs import read_nofollow

__all__ = [
    "file_digest",
    "group_by_gid",
    "group_by_name",
    "is_planned_group",
    "is_planned_id",
    "is_planned_user",
    "lstat",
    "on_disk",
    "password_hash",
    "planning_against",
    "readlink",
    "realpath",
    "supplementary_groups",
    "user_by_name",
    "user_by_uid",
]

_PLANNED: ContextVar[PlannedState | None] = ContextVar("datakeeper_planned_state", default=None)


@contextmanager
def planning_against(planned: PlannedState) -> Iterator[None]:
    """Within this block, reads answer as if ``planned``'s effects had been applied."""
    token = _PLANNED.set(planned)
    try:
        yield
    finally:
        _PLANNED.reset(token)


def lstat(path: Path | str) -> os.stat_result | None:
    """``lstat`` that answers None for a missing path (never follows a symlink)."""
    planned = _PLANNED.get()
    if planned is not None:
        return planned.lstat(path)
    try:
        return os.lstat(path)
    except FileNotFoundError:
        return None


def readlink(path: Path | str) -> str | None:
    """The target of the symlink at ``path``, or None when there is no symlink."""
    planned = _PLANNED.get()
    if planned is not None:
        return planned.readlink(path)
    try:
        return os.readlink(path)
    except OSError:
        return None


def realpath(path: Path | str) -> Path:
    """``path`` with every symlink resolved."""
    planned = _PLANNED.get()
    if planned is not None:
        return planned.realpath(path)
    return Path(os.path.realpath(path))


def on_disk(path: Path | str) -> Path | None:
    """The path whose content on disk ``path`` will hold (itself, or the source of a
    planned merge); None when what will be there exists only as a plan."""
    planned = _PLANNED.get()
    if planned is None:
        return Path(path)
    found = planned.locate(path)
    return found if isinstance(found, Path) else None


def file_digest(path: Path | str) -> str | None:
    """SHA-256 of regular file ``path``; None when nothing can be opened there (absent,
    or a symlink: never followed)."""
    planned = _PLANNED.get()
    found = planned.locate(path) if planned is not None else Path(path)
    if isinstance(found, FileAt):
        return found.sha256
    if isinstance(found, DirectoryAt):
        raise IsADirectoryError(path)
    content = read_nofollow(found) if isinstance(found, Path) else None
    return None if content is None else hashlib.sha256(content).hexdigest()


def group_by_name(name: str) -> GroupInfo | None:
    planned = _PLANNED.get()
    return planned.group_by_name(name) if planned else accounts.group_by_name(name)


def group_by_gid(gid: int) -> GroupInfo | None:
    planned = _PLANNED.get()
    return planned.group_by_gid(gid) if planned else accounts.group_by_gid(gid)


def user_by_name(name: str) -> UserInfo | None:
    planned = _PLANNED.get()
    return planned.user_by_name(name) if planned else accounts.user_by_name(name)


def user_by_uid(uid: int) -> UserInfo | None:
    planned = _PLANNED.get()
    return planned.user_by_uid(uid) if planned else accounts.user_by_uid(uid)


def supplementary_groups(user: str) -> tuple[str, ...]:
    planned = _PLANNED.get()
    return planned.supplementary_groups(user) if planned else accounts.supplementary_groups(user)


def is_planned_user(name: str) -> bool:
    """Whether account ``name`` exists only as a change planned in this dry run."""
    planned = _PLANNED.get()
    return planned is not None and planned.is_planned_user(name)


def is_planned_group(name: str) -> bool:
    """Whether group ``name`` exists only as a change planned in this dry run."""
    planned = _PLANNED.get()
    return planned is not None and planned.is_planned_group(name)


def password_hash(user: str) -> str | None:
    """The shadow password field of ``user``; None for an account not created yet
    (a planned password is never held in the plan: it is a secret)."""
    if is_planned_user(user):
        return None
    return accounts.password_hash(user)
