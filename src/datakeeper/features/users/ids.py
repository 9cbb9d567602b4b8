"""Choose a new account's uid so it never inherits someone else's files.

Files on persistent storage keep numeric owners. A uid is free only when no
account, no group (the private group takes the same number), no registry
record and no directory under the users folder uses it: an orphaned home
from a deleted account must not be handed to a newcomer silently.
"""

from __future__ import annotations

import grp
import os
import pwd
import stat
from pathlib import Path
from typing import TYPE_CHECKING

from datakeeper.errors import ConflictError
from datakeeper.i18n import _
from datakeeper.registry import RegistryDocument
from datakeeper.system import accounts, logindefs

if TYPE_CHECKING:
    from datakeeper.config import SiteConfig


def choose_uid(cfg: SiteConfig, name: str, document: RegistryDocument, *, adopt_home: bool) -> int:
    """The uid (and private gid) for new account ``name``.

    Uids of removed accounts (``retired`` in the registry) are never reused:
    their files may remain anywhere on storage.
    """
    recorded = document.users.get(name)
    if recorded is not None:
        return _recorded_uid(name, recorded.uid)
    home = _existing_home(cfg.users_dir / name)
    if home is not None:
        return _adopted_uid(cfg.users_dir / name, home, adopt_home)
    return _first_free(_taken_ids(cfg.users_dir, document))


def _recorded_uid(name: str, uid: int) -> int:
    holder = accounts.user_by_uid(uid)
    if holder is not None and holder.name != name:
        raise ConflictError(
            _(
                "{name} is recorded with uid {uid}, but account {other} has it now; resolve by hand"
            ).format(name=name, uid=uid, other=holder.name)
        )
    return uid


def _existing_home(path: Path) -> os.stat_result | None:
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return None
    if not stat.S_ISDIR(info.st_mode):
        raise ConflictError(
            _("{path} exists and is not a directory; move it away first").format(path=path)
        )
    return info


def _adopted_uid(path: Path, info: os.stat_result, adopt_home: bool) -> int:
    holder = accounts.user_by_uid(info.st_uid)
    if holder is not None:
        raise ConflictError(
            _(
                "{path} belongs to account {other} (uid {uid}); move it away or choose another name"
            ).format(path=path, other=holder.name, uid=info.st_uid)
        )
    if info.st_uid == 0 or info.st_uid < logindefs.uid_min():
        raise ConflictError(
            _("{path} is owned by uid {uid}, a system id; move it away first").format(
                path=path, uid=info.st_uid
            )
        )
    if not adopt_home:
        raise ConflictError(
            _(
                "{path} already exists, owned by uid {uid} (a removed account?): pass "
                "--adopt-home to give the new account that uid and keep the files, or move the "
                "directory away"
            ).format(path=path, uid=info.st_uid)
        )
    return info.st_uid


def _taken_ids(users_dir: Path, document: RegistryDocument) -> set[int]:
    taken = {entry.pw_uid for entry in pwd.getpwall()}
    taken |= {entry.gr_gid for entry in grp.getgrall()}
    taken |= {e.uid for e in document.users.values()} | {e.gid for e in document.users.values()}
    taken |= set(document.groups.values()) | set(document.retired.values())
    taken |= _owners_under(users_dir)
    return taken


def _owners_under(users_dir: Path) -> set[int]:
    """Owner and group ids of every entry directly under the users folder."""
    owners: set[int] = set()
    try:
        entries = list(os.scandir(users_dir))
    except FileNotFoundError:
        return owners
    for entry in entries:
        info = entry.stat(follow_symlinks=False)
        owners |= {info.st_uid, info.st_gid}
    return owners


def _first_free(taken: set[int]) -> int:
    for candidate in range(logindefs.uid_min(), logindefs.uid_max() + 1):
        if candidate not in taken:
            return candidate
    raise ConflictError(_("no free uid left between UID_MIN and UID_MAX (/etc/login.defs)"))
