"""Trusted paths: what root runs or trusts must be out of every other user's reach.

A file is trusted when it is a regular file owned by root that neither its
group nor others can write, and when every directory above it is owned by
root all the way up to ``/``: otherwise someone could rename it away and put
their own in its place (docs/security.md). A directory others can write is
accepted on the way only when it is root's, sticky, and the next entry on the
path is root's too: the sticky bit then stops everyone else from renaming or
removing that entry, and since it exists nobody can create it first. This is
how the storage roots are made (``root:<group>`` 3775: the admin creates
folders through the group bit). A sticky directory whose next entry is
missing, or belongs to someone else, is not trusted, nor is any directory
owned by another account, whatever its mode. Symlinks on the way are followed
for the check: the link itself must be root's and the directories of its
target are checked as well. POSIX ACLs are not inspected (datakeeper never
sets them on these paths).

Each audit returns one sentence per problem (naming the path and the fix); an
empty list means trusted. ``datakeeper check``, the installers of the sudo
helper and the disk alert's hook use them. ``guarded_command`` wraps a program
root runs at boot in the same rule, checked by the system's Python before the
program starts, so a copy planted on a path others control is never run.
"""

from __future__ import annotations

import itertools
import json
import os
import stat
from collections.abc import Sequence
from pathlib import Path

from datakeeper.errors import ExitCode
from datakeeper.i18n import _
from datakeeper.system import accounts

# The Python that checks a program before root starts it at boot: the OS's own,
# on the root disk, never one on storage others might control.
SYSTEM_PYTHON = "/usr/bin/python3"

# The rule above, in one line of Python for ``python3 -I -c`` (argv[1] is the
# program): resolve it; every component from / down must be root's and writable
# by root only, except sticky directories (their next entry is root's: checked
# in turn); the program must be a regular file. Then exec the resolved path, so
# no link can be switched between the check and the start. It has no "%", "$"
# or single quote of its own (unit files and sh quote it, see systemd.exec_line).
_GUARD = (
    "import os,sys;t=sys.argv[1];p=os.path.realpath(t);"
    'c=[p[:i] or "/" for i,x in enumerate(p) if x=="/"]+[p];'
    "b=[d for d in c if not os.path.lexists(d) or (lambda s:s.st_uid or s.st_mode&0o22 "
    "and (d==p or not s.st_mode&0o1000))(os.lstat(d))]+([] if os.path.isfile(p) else [p]);"
    "b and (sys.stderr.write(MESSAGE.format(tool=t,path=b[0])+chr(10)),sys.exit(CODE));"
    "os.execv(p,sys.argv[1:])"
)


def guarded_command(program: Path, args: Sequence[str] = ()) -> list[str]:
    """The command line that runs ``program`` with ``args`` as root at boot (systemd
    units, the hook line): the system's isolated Python first checks that ``program``
    is root's all the way up (the rule of this module) and only then executes it;
    otherwise it prints one line and exits 3, running nothing (``install.sh``
    and ``datakeeper init`` make the installed copy pass)."""
    message = _(
        "datakeeper: refused to run {tool}: {path} is not root-only (every folder up to / "
        "owned by root and writable by root alone, or sticky; the program a regular file "
        "only root can write); nothing was run; reinstall with install.sh, then run: "
        "datakeeper check --fix"
    )
    literal = json.dumps(message, ensure_ascii=False)  # a Python string literal too
    code = _GUARD.replace("MESSAGE", literal).replace("CODE", str(int(ExitCode.REFUSED)))
    return [SYSTEM_PYTHON, "-I", "-c", code, str(program), *args]


def untrusted_ancestors(path: Path) -> list[str]:
    """Problems with the directories above ``path`` (its directory up to ``/``)."""
    problems: list[str] = []
    for directory, child in _ancestor_chain(Path(path)):
        problems.extend(_directory_problems(directory, child))
    return problems


def audit_trusted_file(path: Path) -> list[str]:
    """Problems with file ``path`` (regular, root's, not group/other-writable) and with
    every directory above it."""
    path = Path(os.path.abspath(path))
    return untrusted_ancestors(path) + _file_problems(path)


def _ancestor_chain(path: Path) -> list[tuple[Path, Path]]:
    """(directory, its next entry on the way to ``path``) for the directories above
    ``path``, as written and as resolved, ``/`` first, no repeats."""
    path = Path(os.path.abspath(path))
    real = Path(os.path.realpath(path.parent)) / path.name
    chain: list[tuple[Path, Path]] = []
    for below in (path, real):
        steps = [*reversed(below.parents), below]
        for pair in itertools.pairwise(steps):
            if pair not in chain:
                chain.append(pair)
    return chain


def _directory_problems(path: Path, child: Path | None) -> list[str]:
    info = _lstat(path)
    if info is None:
        return [_missing(path)]
    if stat.S_ISLNK(info.st_mode):
        return _owner_problems(path, info)  # the target's directories are checked too
    if not stat.S_ISDIR(info.st_mode):
        return [_("{path} is not a directory").format(path=path)]
    if child is not None and _sticky_root_over_root(info, child):
        return []  # nobody else can rename, remove or create the entry below
    return _owner_problems(path, info) + _write_problems(path, info)


def _sticky_root_over_root(info: os.stat_result, child: Path) -> bool:
    """A root-owned sticky directory whose entry ``child`` exists and is root's."""
    if info.st_uid != 0 or not info.st_mode & stat.S_ISVTX:
        return False
    below = _lstat(child)
    return below is not None and below.st_uid == 0


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
