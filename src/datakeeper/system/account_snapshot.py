"""One parse of the account databases, reused while their files stay the same.

A lookup through the C library (``getgrnam``, ``getpwuid``) scans ``/etc/group`` or
``/etc/passwd`` line by line, and the group list of a user reads every group: at a
thousand accounts, the dozen lookups per account of ``recover`` cost seconds on a
server where nothing changed. Within :func:`cached_reads`, ``system.accounts``
answers from one enumeration per database (``getpwall``/``getgrall``, through NSS
like any lookup) and ``/etc/shadow`` parsed once.

A cached table is only trusted while its file is exactly as it was read: same
inode, size, mtime and ctime (shadow-utils and ``vipw`` replace the file by a
rename, so every write changes the inode). A file that changes often, as during a
recovery that adds accounts one by one, is not enumerated again at each change:
until the same version has been asked :data:`STABLE_AFTER` times, single lookups
go to the C library as they would without the cache. A name or id missing from a
table is also asked of the C library, so an NSS source that does not enumerate
(LDAP without enumeration) is still found.
"""

from __future__ import annotations

import grp
import os
import pwd
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PASSWD_PATH = Path("/etc/passwd")
GROUP_PATH = Path("/etc/group")
STABLE_AFTER = 8  # lookups of one file version before it is worth enumerating

Signature = tuple[int, int, int, int] | None


@dataclass
class _Table:
    """One database: the version it was read at and its indexes (first entry wins, as
    in a lookup by the C library)."""

    path: Path
    build: Callable[[], dict[str, dict[Any, Any]]]
    signature: Signature = None
    indexes: dict[str, dict[Any, Any]] | None = None
    seen: Signature = None
    seen_count: int = 0

    def get(self, *, eager: bool) -> dict[str, dict[Any, Any]] | None:
        """The indexes when current; built now when ``eager`` or the file is stable."""
        current = _signature(self.path)
        if self.indexes is not None and current == self.signature and current is not None:
            return self.indexes
        self.seen_count = self.seen_count + 1 if current == self.seen else 1
        self.seen = current
        if current is None or not (eager or self.seen_count >= STABLE_AFTER):
            return None
        self.signature, self.indexes = current, self.build()
        return self.indexes


@dataclass
class Snapshot:
    """The cached passwd, group and shadow tables of one :func:`cached_reads` block."""

    shadow_path: Path
    tables: dict[str, _Table] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.tables = {
            "passwd": _Table(PASSWD_PATH, _users),
            "group": _Table(GROUP_PATH, _groups),
            "shadow": _Table(self.shadow_path, lambda: _shadow(self.shadow_path)),
        }

    def lookup(self, table: str, index: str, key: Any, *, eager: bool = False) -> tuple[bool, Any]:
        """``(True, entry or None)`` from the cache, or ``(False, None)`` when the caller
        must ask the system (the table is not current, or ``key`` is not in it)."""
        indexes = self.tables[table].get(eager=eager)
        if indexes is None:
            return False, None
        found = indexes[index].get(key)
        return (found is not None or eager), found


_ACTIVE: ContextVar[Snapshot | None] = ContextVar("datakeeper_account_snapshot", default=None)


@contextmanager
def cached_reads(shadow_path: Path) -> Iterator[Snapshot]:
    """Within this block, account reads may come from the cached tables (see above)."""
    token = _ACTIVE.set(Snapshot(shadow_path))
    try:
        yield _ACTIVE.get()  # type: ignore[misc]
    finally:
        _ACTIVE.reset(token)


def active() -> Snapshot | None:
    """The snapshot of the enclosing :func:`cached_reads` block, if any."""
    return _ACTIVE.get()


def _signature(path: Path) -> Signature:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)


def _users() -> dict[str, dict[Any, Any]]:
    by_name: dict[str, pwd.struct_passwd] = {}
    by_uid: dict[int, pwd.struct_passwd] = {}
    for entry in pwd.getpwall():
        by_name.setdefault(entry.pw_name, entry)
        by_uid.setdefault(entry.pw_uid, entry)
    return {"name": by_name, "uid": by_uid}


def _groups() -> dict[str, dict[Any, Any]]:
    by_name: dict[str, grp.struct_group] = {}
    by_gid: dict[int, grp.struct_group] = {}
    member_of: dict[str, set[str]] = {}
    for entry in grp.getgrall():
        by_name.setdefault(entry.gr_name, entry)
        by_gid.setdefault(entry.gr_gid, entry)
        for member in entry.gr_mem:
            member_of.setdefault(member, set()).add(entry.gr_name)
    members = {user: tuple(sorted(names)) for user, names in member_of.items()}
    return {"name": by_name, "gid": by_gid, "member_of": members}


def _shadow(path: Path) -> dict[str, dict[Any, Any]]:
    hashes: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        fields = line.split(":")
        if len(fields) > 1:
            hashes.setdefault(fields[0], fields[1])
    return {"user": hashes}
