"""Trusted paths: what root runs or trusts must be out of every other user's reach.

A file is trusted when it is a regular file owned by root that neither its
group nor others can write, and when every directory above it is owned by
root and writable by neither group nor others: otherwise someone could
rename it away and put their own in its place (docs/security.md).
The sticky bit does not count here: it stops members from renaming entries
they do not own, but not from creating a name that is missing (after a wipe,
before root writes it), nor the directory's owner from anything. Symlinks
on the way are followed for the check: the link itself must be root's and
the directories of its target are checked as well. POSIX ACLs are not
inspected (datakeeper never sets them on these paths).

Each function returns one sentence per problem (naming the path and the
fix); an empty list means trusted. ``datakeeper check`` and the installers
of the sudo helper use them.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Collection
from pathlib import Path

from datakeeper.i18n import _
from datakeeper.system import accounts


def untrusted_ancestors(path: Path, *, accepted: Collection[Path] = ()) -> list[str]:
    """Problems with the directories above ``path`` (its directory up to ``/``).

    Directories in ``accepted`` are not judged (the caller has decided to trust
    them, e.g. the sticky shared storage roots).
    """
    problems: list[str] = []
    for directory in _ancestor_chain(Path(path)):
        if directory not in accepted:
            problems.extend(_directory_problems(directory))
    return problems


def audit_trusted_directory(path: Path) -> list[str]:
    """Problems with directory ``path`` itself and every directory above it."""
    path = Path(os.path.abspath(path))
    info = _lstat(path)
    own = [_missing(path)] if info is None else _directory_problems(path)
    return untrusted_ancestors(path) + own


def audit_trusted_file(path: Path, *, accepted: Collection[Path] = ()) -> list[str]:
    """Problems with file ``path`` (regular, root's, not group/other-writable) and its
    ancestors, except the ``accepted`` directories."""
    path = Path(os.path.abspath(path))
    return untrusted_ancestors(path, accepted=accepted) + _file_problems(path)


def _ancestor_chain(path: Path) -> list[Path]:
    """The directories above ``path``, as written and as resolved, ``/`` first, no repeats."""
    path = Path(os.path.abspath(path))
    lexical = list(reversed(path.parents))
    real_parent = Path(os.path.realpath(path.parent))
    resolved = [*reversed(real_parent.parents), real_parent]
    chain: list[Path] = []
    for directory in [*lexical, *resolved]:
        if directory not in chain:
            chain.append(directory)
    return chain


def _directory_problems(path: Path) -> list[str]:
    info = _lstat(path)
    if info is None:
        return [_missing(path)]
    if stat.S_ISLNK(info.st_mode):
        return _owner_problems(path, info)  # the target's directories are checked too
    if not stat.S_ISDIR(info.st_mode):
        return [_("{path} is not a directory").format(path=path)]
    return _owner_problems(path, info) + _write_problems(path, info)


def _file_problems(path: Path) -> list[str]:
    info = _lstat(path)
    if info is None:
        return [_("{path} does not exist").format(path=path)]
    if stat.S_ISLNK(info.st_mode):
        return [
            _("{path} is a symlink; a trusted file must be a regular file (replace the link)")
            .format(path=path)
        ]  # fmt: skip
    if not stat.S_ISREG(info.st_mode):
        return [_("{path} is not a regular file").format(path=path)]
    return _owner_problems(path, info) + _write_problems(path, info)


def _owner_problems(path: Path, info: os.stat_result) -> list[str]:
    if info.st_uid == 0:
        return []
    return [
        _("{path} is owned by {owner}, not root; fix: chown root {path}").format(
            path=path, owner=_user_name(info.st_uid)
        )
    ]


def _write_problems(path: Path, info: os.stat_result) -> list[str]:
    mode = stat.S_IMODE(info.st_mode)
    if not mode & 0o022:
        return []
    if mode & 0o022 == 0o022:
        who = _("its group and by others")
    elif mode & 0o020:
        who = _("its group")
    else:
        who = _("others")
    return [
        _("{path} is writable by {who} (mode {mode:04o}); fix: chmod go-w {path}").format(
            path=path, who=who, mode=mode
        )
    ]


def _missing(path: Path) -> str:
    return _("{path} does not exist; create it owned by root with mode 0755").format(path=path)


def _lstat(path: Path) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None


def _user_name(uid: int) -> str:
    found = accounts.user_by_uid(uid)
    return found.name if found else f"uid {uid}"
