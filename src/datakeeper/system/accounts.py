"""Read accounts and groups (passwd, group, shadow) and change them with shadow-utils.

Reading goes through the C library (``pwd``/``grp``) so NSS sees what login
sees; changing goes through ``groupadd``/``useradd``/``usermod``/``chpasswd``,
which take shadow-utils' locks, keep the ``-`` backups and write atomically.
"""

from __future__ import annotations

import grp
import pwd
from dataclasses import dataclass
from pathlib import Path

from datakeeper.system import commands

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


def group_by_name(name: str) -> GroupInfo | None:
    """The group called ``name``, or None."""
    try:
        entry = grp.getgrnam(name)
    except KeyError:
        return None
    return GroupInfo(entry.gr_name, entry.gr_gid, tuple(entry.gr_mem))


def group_by_gid(gid: int) -> GroupInfo | None:
    """The group with id ``gid``, or None."""
    try:
        entry = grp.getgrgid(gid)
    except KeyError:
        return None
    return GroupInfo(entry.gr_name, entry.gr_gid, tuple(entry.gr_mem))


def user_by_name(name: str) -> UserInfo | None:
    """The account called ``name``, or None."""
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        return None
    return _user(entry)


def user_by_uid(uid: int) -> UserInfo | None:
    """The account with id ``uid``, or None."""
    try:
        entry = pwd.getpwuid(uid)
    except KeyError:
        return None
    return _user(entry)


def _user(entry: pwd.struct_passwd) -> UserInfo:
    return UserInfo(
        entry.pw_name, entry.pw_uid, entry.pw_gid, entry.pw_gecos, entry.pw_dir, entry.pw_shell
    )


def supplementary_groups(user: str) -> tuple[str, ...]:
    """Names of the groups that list ``user`` as a member, sorted."""
    return tuple(sorted(g.gr_name for g in grp.getgrall() if user in g.gr_mem))


def password_hash(user: str, shadow: Path = SHADOW_PATH) -> str | None:
    """The shadow password field of ``user`` (``!``/``*`` = locked), or None if absent."""
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
