"""Read accounts and groups (passwd, group, shadow) and change them with shadow-utils.

Reading goes through the C library (``pwd``/``grp``) so NSS sees what login
sees (within ``cached_reads``, from one enumeration per database while its file
is unchanged: ``system.account_snapshot``); changing goes through
``groupadd``/``useradd``/``usermod``/``chpasswd``, which take shadow-utils' locks,
keep the ``-`` backups and write atomically.
"""

from __future__ import annotations

import grp
import pwd
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from datakeeper.errors import InvalidInputError
from datakeeper.i18n import _
from datakeeper.system import account_snapshot, commands

SHADOW_PATH = Path("/etc/shadow")


@dataclass(frozen=True)
class GroupInfo:
    name: str
    gid: int
    members: tuple[str, ...]


@dataclass(frozen=True)
class UserInfo:
    name: str
    uid: int
    gid: int
    gecos: str
    home: str
    shell: str


@contextmanager
def cached_reads(shadow: Path = SHADOW_PATH) -> Iterator[None]:
    """Within this block, reads may answer from one parse of passwd, group and shadow,
    taken again when a file changes (``system.account_snapshot``): for a run that
    reads every account, like ``recover``."""
    with account_snapshot.cached_reads(shadow):
        yield


def _lookup(table: str, index: str, key: str | int, ask: Callable[[Any], Any]) -> Any:
    """The entry from the active snapshot when it knows, else ``ask(key)`` (None when
    the C library raises ``KeyError``: no such entry)."""
    snapshot = account_snapshot.active()
    if snapshot is not None:
        known, entry = snapshot.lookup(table, index, key)
        if known:
            return entry
    try:
        return ask(key)
    except KeyError:
        return None


def group_by_name(name: str) -> GroupInfo | None:
    """The group called ``name``, or None."""
    entry = _lookup("group", "name", name, grp.getgrnam)
    return None if entry is None else GroupInfo(entry.gr_name, entry.gr_gid, tuple(entry.gr_mem))


def group_by_gid(gid: int) -> GroupInfo | None:
    """The group with id ``gid``, or None."""
    entry = _lookup("group", "gid", gid, grp.getgrgid)
    return None if entry is None else GroupInfo(entry.gr_name, entry.gr_gid, tuple(entry.gr_mem))


def user_by_name(name: str) -> UserInfo | None:
    """The account called ``name``, or None."""
    entry = _lookup("passwd", "name", name, pwd.getpwnam)
    return None if entry is None else _user(entry)


def user_by_uid(uid: int) -> UserInfo | None:
    """The account with id ``uid``, or None."""
    entry = _lookup("passwd", "uid", uid, pwd.getpwuid)
    return None if entry is None else _user(entry)


def _user(entry: pwd.struct_passwd) -> UserInfo:
    return UserInfo(
        entry.pw_name, entry.pw_uid, entry.pw_gid, entry.pw_gecos, entry.pw_dir, entry.pw_shell
    )


def supplementary_groups(user: str) -> tuple[str, ...]:
    """Names of the groups that list ``user`` as a member, sorted."""
    snapshot = account_snapshot.active()
    if snapshot is not None:  # reading every group costs as much as caching them
        known, names = snapshot.lookup("group", "member_of", user, eager=True)
        if known:
            return names or ()
    return tuple(sorted(g.gr_name for g in grp.getgrall() if user in g.gr_mem))


def password_hash(user: str, shadow: Path = SHADOW_PATH) -> str | None:
    """The shadow password field of ``user`` (``!``/``*`` = locked), or None if absent."""
    snapshot = account_snapshot.active()
    if snapshot is not None and shadow == snapshot.shadow_path:
        known, hashed = snapshot.lookup("shadow", "user", user, eager=True)
        if known:
            return hashed
    for line in shadow.read_text(encoding="utf-8").splitlines():
        fields = line.split(":")
        if len(fields) > 1 and fields[0] == user:
            return fields[1]
    return None


def add_group(name: str, gid: int | None) -> None:
    """Create group ``name`` (with ``gid`` when given; never a duplicate id)."""
    argv = ["groupadd"]
    if gid is not None:
        argv += ["--gid", str(gid)]
    commands.run([*argv, "--", name])


def add_user(
    name: str,
    *,
    uid: int | None,
    group: str,
    groups: tuple[str, ...],
    shell: str,
    gecos: str,
    home: str,
) -> None:
    """Create account ``name`` without creating or touching its home directory."""
    argv = [
        "useradd",
        "--no-create-home",
        "--no-user-group",
        "--gid",
        group,
        "--shell",
        shell,
        "--comment",
        gecos,
        "--home-dir",
        home,
    ]
    if uid is not None:
        argv += ["--uid", str(uid)]
    if groups:
        argv += ["--groups", ",".join(groups)]
    commands.run([*argv, "--", name])


def modify_user(
    name: str,
    *,
    groups: tuple[str, ...] | None = None,
    shell: str | None = None,
    gecos: str | None = None,
    home: str | None = None,
) -> None:
    """Change the given fields of ``name``; never moves the home (no ``--move-home``)."""
    argv = ["usermod"]
    if groups is not None:
        argv += ["--groups", ",".join(groups)]
    if shell is not None:
        argv += ["--shell", shell]
    if gecos is not None:
        argv += ["--comment", gecos]
    if home is not None:
        argv += ["--home", home]
    commands.run([*argv, "--", name])


def add_to_group(user: str, group: str) -> None:
    """Add ``user`` to ``group``, keeping their other groups."""
    commands.run(["usermod", "--append", "--groups", group, "--", user])


def set_password_hash(user: str, hashed: str) -> None:
    """Set the shadow password field; passed on stdin so it never shows in ``ps``."""
    commands.run(["chpasswd", "--encrypted"], input=f"{user}:{hashed}\n", secrets=[hashed])


def set_password_hashes(hashes: dict[str, str]) -> None:
    """Set the shadow password field of every account in ``hashes`` (name -> field) with
    one ``chpasswd``: one lock and one rewrite of ``/etc/shadow`` for all of them.

    The lines go on stdin (never in ``ps``); a name or field that could break a line
    (``:`` in a name, a newline anywhere) is refused before anything is written.
    """
    for name, hashed in hashes.items():
        if ":" in name or "\n" in name or "\n" in hashed:
            why = _("must not contain ':', a newline or other control characters")
            raise InvalidInputError(f"{name!r}: {why}")
    lines = "".join(f"{name}:{hashed}\n" for name, hashed in hashes.items())
    commands.run(["chpasswd", "--encrypted"], input=lines, secrets=list(hashes.values()))


def lock_user(name: str) -> None:
    """Lock the password and expire the account, so no login (keys included) succeeds."""
    commands.run(["usermod", "--lock", "--expiredate", "1", "--", name])


def delete_user(name: str) -> None:
    """Delete account ``name`` (``userdel`` without ``-r``: the home is not touched).

    With ``USERGROUPS_ENAB yes`` userdel also deletes the private group of the
    same name when no other account uses it; callers check what is left.
    """
    commands.run(["userdel", "--", name])


def delete_group(name: str) -> None:
    """Delete group ``name`` (``groupdel`` refuses a group that is someone's primary)."""
    commands.run(["groupdel", "--", name])


def primary_users(gid: int) -> tuple[str, ...]:
    """Names of the accounts whose primary group is ``gid``."""
    return tuple(sorted(entry.pw_name for entry in pwd.getpwall() if entry.pw_gid == gid))
