"""The state a change leaves behind, declared so a dry run can plan what comes after it.

A real run plans each resource just before applying it, so it sees what the
resources before it did. A dry run applies nothing; instead each planned
change declares its effects, and the executor feeds them to a
``PlannedState`` (``engine.state``) that the read layer consults first. The
effects name owners and groups (resolved when read) and never hold a secret:
a file's content is known by its SHA-256 only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class DirectoryAt:
    """``path`` will be a real directory owned by ``owner``:``group`` with ``mode``."""

    path: Path
    owner: str
    group: str
    mode: int


@dataclass(frozen=True)
class FileAt:
    """``path`` will be a regular file with this owner, mode and content digest."""

    path: Path
    owner: str
    group: str
    mode: int
    sha256: str


@dataclass(frozen=True)
class SymlinkAt:
    """``path`` will be a symbolic link to ``target``."""

    path: Path
    target: str


@dataclass(frozen=True)
class AbsentAt:
    """Nothing will be at ``path`` (removed, or moved aside), nor below it."""

    path: Path


@dataclass(frozen=True)
class MergedInto:
    """``destination`` will also hold every entry of ``source`` it lacked (kept as they
    are now: owner, mode, content); what it already had stays."""

    source: Path
    destination: Path


@dataclass(frozen=True)
class GroupAt:
    """Group ``name`` will exist, with ``gid`` (None: the next free one)."""

    name: str
    gid: int | None


@dataclass(frozen=True)
class UserAt:
    """Account ``name`` will exist as described (``groups``: exactly these supplementary
    groups; ``uid`` None: the next free one)."""

    name: str
    uid: int | None
    group: str
    groups: tuple[str, ...]
    home: str
    shell: str
    gecos: str


@dataclass(frozen=True)
class MemberOf:
    """``user`` will be a member of ``group`` (other memberships unchanged)."""

    user: str
    group: str


PathEffect = DirectoryAt | FileAt | SymlinkAt | AbsentAt
Effect = DirectoryAt | FileAt | SymlinkAt | AbsentAt | MergedInto | GroupAt | UserAt | MemberOf
