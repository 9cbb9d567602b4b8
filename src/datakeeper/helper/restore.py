"""``backup-restore`` and ``backup-browse``: a member's own files from a snapshot.

Standard library only (inlined into the sudo helper). The request comes on
stdin, not in argv: sudoers can only pin exact arguments (a wildcard would
also match ``..`` and extra words), so the drop-in allows exactly
``datakeeper-helper backup-restore`` and ``backup-browse`` and this module
validates what is asked. stdin holds three NUL-separated fields, at most
``MAX_REQUEST`` bytes::

    SNAPSHOT \\0 PATH \\0 FLAGS

SNAPSHOT is a name, a date or empty (the newest complete one); PATH is
relative to the caller's home (no ``..``, nothing absolute); FLAGS is a
space-separated subset of ``overwrite``, ``in-place`` and ``dry-run``. The
caller is ``SUDO_UID`` (set by sudo itself, looked up with ``pwd``), never an
argument.

Reading and writing are split between two processes. Root reads the snapshot
(never through a link, and only entries the caller owned: ``locate`` and
``_own``) and streams them as a tar archive into a pipe. A child that has
dropped to the caller's uid, gid and groups before it reads a byte opens the
destination in the caller's live home and unpacks the stream there: whatever
it writes, it writes with the caller's own rights, so a link planted in the
home can only lead where the caller could write anyway.
"""

from __future__ import annotations

import os
import pwd
import stat
import sys
import tarfile
import time

from datakeeper.helper.messages import _, ngettext
from datakeeper.helper.snapshots import (
    complete_snapshots,
    empty_stage,
    locate,
    move_into_place,
    pick,
    restored_name,
    split_relative,
)
from datakeeper.helper.walk import DIR_FLAGS, EXIT_FAILED, EXIT_OK, EXIT_USAGE, Refused, printable
from datakeeper.sizes import human_size

MAX_REQUEST = 8192
FLAGS = ("overwrite", "in-place", "dry-run")
TAR_OPTIONS = {"format": tarfile.GNU_FORMAT, "encoding": "utf-8", "errors": "surrogateescape"}


def read_request(data: bytes) -> tuple[str | None, str, set[str]]:
    """(snapshot or None, path, flags) from stdin's bytes; ``Refused`` (exit 2) otherwise."""
    fields = data.split(b"\0") if len(data) <= MAX_REQUEST else []
    if len(fields) != 3:
        raise Refused(_("the request on stdin must be SNAPSHOT\\0PATH\\0FLAGS"), EXIT_USAGE)
    snapshot, path = fields[0].decode("ascii", "replace"), os.fsdecode(fields[1])
    flags = set(fields[2].decode("ascii", "replace").split())
    if not flags <= set(FLAGS):
        shown = printable(" ".join(sorted(flags)))
        raise Refused(_("unknown flags {flags}").format(flags=shown), EXIT_USAGE)
    return snapshot or None, path, flags


def caller(environ) -> pwd.struct_passwd:
    """The account that ran sudo (``SUDO_UID``); ``Refused`` for root or none."""
    uid = environ.get("SUDO_UID", "")
    if not uid.isdigit() or int(uid) == 0:
        raise Refused(_("run this through sudo as a member, not as root"), EXIT_USAGE)
    try:
        return pwd.getpwuid(int(uid))
    except KeyError:
        raise Refused(_("uid {uid} has no account").format(uid=uid), EXIT_USAGE) from None


def _snapshot_home(policy: dict, wanted: str | None, user: str) -> tuple[str, str]:
    """(snapshot name, the caller's home inside it)."""
    folder = policy["backup"]["snapshots"]
    name = pick(complete_snapshots(folder), wanted)
    return name, f"{folder}/{name}/{policy['backup']['homes_inside']}/{user}"


def run_backup_browse(policy: dict, request: bytes, environ) -> int:
    """Print the caller's own entries in a folder (or one file) of a snapshot."""
    wanted, path, _flags = read_request(request)
    user = caller(environ)
    name, home = _snapshot_home(policy, wanted, user.pw_name)
    parts = split_relative(path) if path.strip("/") else []
    where, info = locate(home, parts, owner=user.pw_uid)
    print(_("snapshot {name}: {path}").format(name=name, path="~/" + printable("/".join(parts))))
    if not stat.S_ISDIR(info.st_mode):
        print(_entry_line(where, parts[-1], info))
        return EXIT_OK
    hidden = 0
    for entry in sorted(os.listdir(where)):
        entry_info = os.lstat(f"{where}/{entry}")
        if entry_info.st_uid != user.pw_uid:
            hidden += 1
            continue
        print(_entry_line(f"{where}/{entry}", entry, entry_info))
    if hidden:
        print(
            ngettext(
                "({n} entry of other accounts not shown)",
                "({n} entries of other accounts not shown)",
                hidden,
            ).format(n=hidden)
        )
    return EXIT_OK


def _entry_line(path: str, name: str, info: os.stat_result) -> str:
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(info.st_mtime))
    shown = printable(name)
    if stat.S_ISDIR(info.st_mode):
        return f"{'-':>10}  {when}  {shown}/"
    if stat.S_ISLNK(info.st_mode):
        return f"{'-':>10}  {when}  {shown} -> {printable(os.readlink(path))}"
    return f"{human_size(info.st_size):>10}  {when}  {shown}"


def run_backup_restore(policy: dict, request: bytes, environ) -> int:
    """Restore one file or folder of the caller's from a snapshot, as the caller."""
    wanted, path, flags = read_request(request)
    parts = split_relative(path)
    user = caller(environ)
    name, home = _snapshot_home(policy, wanted, user.pw_name)
    source, _info = locate(home, parts, owner=user.pw_uid)
    target = parts[-1] if "in-place" in flags else restored_name(parts[-1], name)
    shown = "~/" + printable("/".join([*parts[:-1], target]))
    read_fd, write_fd = os.pipe()
    child = os.fork()
    if child == 0:  # the writing side: never returns
        os.close(write_fd)
        _unpack_as(user, policy, parts[:-1], target, flags, read_fd)
    os.close(read_fd)
    copied, left_out = 0, 0
    if "dry-run" in flags:
        os.close(write_fd)
    else:
        copied, left_out = _stream(source, target, user, write_fd)
    code = os.waitstatus_to_exitcode(os.waitpid(child, 0)[1])
    if code != EXIT_OK:
        return code
    asked = "~/" + printable(path)
    if "dry-run" in flags:
        said = _("would restore {path} from snapshot {name} to {target}")
        print(said.format(path=asked, name=name, target=shown))
        return EXIT_OK
    print(_restored_line(asked, name, shown, copied, left_out))
    return EXIT_OK


def _restored_line(path: str, name: str, target: str, copied: int, left_out: int) -> str:
    """What a restore did: how many entries, and how many of others' it left out."""
    line = ngettext(
        "restored {path} from snapshot {name} to {target}: {n} entry",
        "restored {path} from snapshot {name} to {target}: {n} entries",
        copied,
    ).format(path=path, name=name, target=target, n=copied)
    if not left_out:
        return line
    note = ngettext(
        "({n} entry of other accounts left out)",
        "({n} entries of other accounts left out)",
        left_out,
    ).format(n=left_out)
    return f"{line} {note}"


def _stream(source: str, target: str, user: pwd.struct_passwd, write_fd: int) -> tuple[int, int]:
    """Write ``source`` (the caller's entries only) as a tar stream into the pipe."""
    counts = [0, 0]

    def own(member: tarfile.TarInfo) -> tarfile.TarInfo | None:
        if member.uid != user.pw_uid or not (member.isreg() or member.isdir() or member.issym()):
            counts[1] += 1  # someone else's (or a device, a fifo): not the caller's to have
            return None
        counts[0] += 1
        member.uid, member.gid, member.uname, member.gname = user.pw_uid, user.pw_gid, "", ""
        return member

    try:
        with (
            os.fdopen(write_fd, "wb") as pipe,
            tarfile.open(fileobj=pipe, mode="w|", **TAR_OPTIONS) as archive,
        ):
            archive.add(source, arcname=target, recursive=True, filter=own)
    except BrokenPipeError:
        pass  # the writing side refused or failed: its exit code says why
    return counts[0], counts[1]


def _unpack_as(user, policy, parents, target, flags, read_fd) -> None:
    """In the child: drop to ``user``, then unpack the stream into the live home."""
    try:
        os.initgroups(user.pw_name, user.pw_gid)
        os.setgid(user.pw_gid)
        os.setuid(user.pw_uid)
        _unpack(f"{policy['backup']['homes']}/{user.pw_name}", parents, target, flags, read_fd)
        code = EXIT_OK
    except Refused as refused:
        print(f"datakeeper-helper: {refused}", file=sys.stderr)
        code = refused.code
    except (OSError, tarfile.TarError) as error:
        why = _("restore failed: {why}").format(why=printable(str(error)))
        print(f"datakeeper-helper: {why}", file=sys.stderr)
        code = EXIT_FAILED
    sys.stderr.flush()
    os._exit(code)


def _unpack(home: str, parents: list[str], target: str, flags: set[str], read_fd: int) -> None:
    fd = _open_folder(home, parents)
    try:
        existing = _lstat_at(target, fd)
        where = "~/" + printable("/".join([*parents, target]))
        if existing is not None and "overwrite" not in flags:
            exists = _("{path} exists; pass --overwrite to replace it").format(path=where)
            raise Refused(exists, EXIT_USAGE)
        if "dry-run" in flags:
            return
        stage = f".datakeeper-restore-{os.getpid()}"
        os.mkdir(stage, 0o700, dir_fd=fd)
        stage_fd = os.open(stage, DIR_FLAGS, dir_fd=fd)
        try:
            os.fchdir(stage_fd)
            with (
                os.fdopen(read_fd, "rb") as pipe,
                tarfile.open(fileobj=pipe, mode="r|", **TAR_OPTIONS) as archive,
            ):
                # Our own stream of the caller's entries, unpacked with the caller's rights.
                archive.extractall(".", numeric_owner=True)  # noqa: S202
            move_into_place(stage_fd, target, fd, target)
        finally:
            empty_stage(fd, stage, stage_fd)
    finally:
        os.close(fd)


def _open_folder(home: str, parents: list[str]) -> int:
    """The live folder ``home/parents…``, each component opened without following a link."""
    try:
        fd = os.open(home, DIR_FLAGS)
    except OSError:
        raise Refused(_("your home does not exist"), EXIT_USAGE) from None
    for index, part in enumerate(parents):
        try:
            next_fd = os.open(part, DIR_FLAGS, dir_fd=fd)
        except OSError:
            os.close(fd)
            shown = printable("/".join(parents[: index + 1]))
            why = _("{path} is not a folder now; restore the folder above it instead")
            raise Refused(why.format(path=f"~/{shown}"), EXIT_USAGE) from None
        os.close(fd)
        fd = next_fd
    return fd


def _lstat_at(name: str, fd: int) -> os.stat_result | None:
    try:
        return os.lstat(name, dir_fd=fd)
    except FileNotFoundError:
        return None
