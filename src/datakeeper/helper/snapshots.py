"""Finding a snapshot and a path inside it, for restore and browse.

Standard library only: the sudo helper inlines this module, and the admin's
``backup restore``/``browse`` use the same code in-process. Snapshots are
root's alone (their folder is 0700), so nobody else can change them while we
look: an ``lstat`` of each component is as good as a descriptor walk. What
they hold was copied from trees members write, so a symlink inside is data,
never a way: every component is checked and a link is refused, except as the
very last one, which is then restored as a link.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import stat

from datakeeper.helper.messages import _
from datakeeper.helper.walk import EXIT_USAGE, Refused, printable

NAME = re.compile(r"\d{4}-\d\d-\d\dT\d{6}Z\Z")
DATE = re.compile(r"(\d{4}-\d\d-\d\d)(?:[T ](\d\d):?(\d\d)(?::?(\d\d))?Z?)?\Z")
SUMMARY = "meta/snapshot.json"
MAX_PATH = 4096


def complete_snapshots(folder: str) -> list[str]:
    """Names of the complete snapshots in ``folder``, oldest first."""
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return []
    found = [n for n in names if NAME.match(n) and os.path.isfile(f"{folder}/{n}/{SUMMARY}")]
    return sorted(found)


def pick(names: list[str], wanted: str | None) -> str:
    """The snapshot ``wanted`` names: the newest when None; a full name; a date or
    time (``2026-11-30``, ``2026-11-30T14:00``) for the newest at or before its end;
    else a unique prefix of a name. ``Refused`` (exit 2) when nothing matches."""
    if not names:
        raise Refused(_("no complete snapshot yet"), EXIT_USAGE)
    if wanted is None or wanted in names:
        return wanted or names[-1]
    bound = _bound(wanted)
    matches = [n for n in names if n <= bound] if bound else []
    if matches:
        return matches[-1]
    prefixed = [n for n in names if n.startswith(wanted)]
    if len(prefixed) == 1:
        return prefixed[0]
    why = _("no complete snapshot at or before {wanted}; the newest is {newest}")
    raise Refused(why.format(wanted=printable(wanted), newest=names[-1]), EXIT_USAGE)


def _bound(wanted: str) -> str | None:
    """The last snapshot name within the date or time ``wanted``, or None."""
    found = DATE.match(wanted)
    if found is None:
        return None
    day, hour, minute, second = found.groups()
    if hour is None:
        return f"{day}T235959Z"
    return f"{day}T{hour}{minute}{second or '59'}Z"


def split_relative(text: str) -> list[str]:
    """The components of a path relative to a home; ``Refused`` for an absolute
    path, ``..``, ``.``, empty components or a NUL."""
    if not text or len(text) > MAX_PATH or "\0" in text:
        raise Refused(_("the path is empty, too long or holds a NUL byte"), EXIT_USAGE)
    if text.startswith("/"):
        raise Refused(_("the path must be relative to your home"), EXIT_USAGE)
    parts = text.rstrip("/").split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise Refused(_("the path may not hold '..', '.' or '//'"), EXIT_USAGE)
    return parts


def locate(base: str, parts: list[str], owner: int | None = None) -> tuple[str, os.stat_result]:
    """``base/parts…`` inside a snapshot and its lstat, never through a link: every
    component but the last must be a real directory. With ``owner``, each component
    (and ``base``) must belong to that uid: a folder of someone else's is not
    the caller's to read. ``Refused`` (exit 2) otherwise."""
    path = base
    info = _lstat(path, "")
    for index, part in enumerate(parts):
        if not stat.S_ISDIR(info.st_mode):
            shown = printable("/".join(parts[:index]))
            why = _("{path} is not a folder in the snapshot").format(path=shown)
            raise Refused(why, EXIT_USAGE)
        _check_owner(info, owner, "/".join(parts[:index]))
        path = f"{path}/{part}"
        info = _lstat(path, "/".join(parts[: index + 1]))
    _check_owner(info, owner, "/".join(parts))
    return path, info


def _lstat(path: str, shown: str) -> os.stat_result:
    try:
        return os.lstat(path)
    except FileNotFoundError:
        why = _("{path} is not in this snapshot").format(path=printable(shown))
        raise Refused(why if shown else _("it is not in this snapshot"), EXIT_USAGE) from None


def _check_owner(info: os.stat_result, owner: int | None, shown: str) -> None:
    if owner is not None and info.st_uid != owner:
        why = _("{path} is not yours in the snapshot").format(path=printable(shown))
        raise Refused(why if shown else _("the home is not yours in the snapshot"), EXIT_USAGE)


def move_into_place(stage: int, copied: str, parent: int, name: str) -> None:
    """Rename ``copied`` (in the folder ``stage``) to ``name`` in ``parent``, replacing
    what is there: a file or link at once; a folder is first moved into the stage
    and removed there (``rmtree`` never follows a link)."""
    try:
        folder = stat.S_ISDIR(os.lstat(name, dir_fd=parent).st_mode)
    except FileNotFoundError:
        folder = False
    if folder:
        os.rename(name, ".replaced", src_dir_fd=parent, dst_dir_fd=stage)
    os.rename(copied, name, src_dir_fd=stage, dst_dir_fd=parent)
    if folder:
        shutil.rmtree(".replaced", dir_fd=stage)


def empty_stage(parent: int, stage: str, stage_fd: int) -> None:
    """Empty the stage through its descriptor (what a failed copy left), close it,
    then remove it by name: only an empty folder goes, whoever renamed what."""
    try:
        for entry in os.listdir(stage_fd):
            if stat.S_ISDIR(os.lstat(entry, dir_fd=stage_fd).st_mode):
                shutil.rmtree(entry, dir_fd=stage_fd)
            else:
                os.unlink(entry, dir_fd=stage_fd)
    finally:
        os.close(stage_fd)
    with contextlib.suppress(OSError):  # renamed by the folder's owner meanwhile: harmless
        os.rmdir(stage, dir_fd=parent)


def restored_name(name: str, snapshot: str) -> str:
    """``NAME.restored-<snapshot time>``: beside the original, never over it."""
    return f"{name}.restored-{snapshot}"
