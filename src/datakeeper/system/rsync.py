"""rsync as datakeeper's copy engine: argument lists, niceness, exit codes in words.

A snapshot is ``rsync -aHAX --numeric-ids --link-dest=<previous>``: unchanged
files become hard links to the previous snapshot's, so they cost no space.
``--relative`` with a ``/./`` marker keeps each source's path below the data
root (``users/alice/…``). rsync never writes into a file in place (it renames
a finished temporary file over it), so a file shared by hard link with an
older snapshot is never changed through the new one.
"""

from __future__ import annotations

import functools
import re
import subprocess
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from datakeeper.errors import CommandError
from datakeeper.i18n import _

# What a snapshot keeps: permissions, owners as numbers (ids survive a wipe),
# hard links, ACLs and extended attributes; links are copied as links.
BASE_FLAGS = ("-aHAX", "--numeric-ids", "--relative")
# Into a folder that already holds files (a resumed snapshot), ``--delete`` drops
# those deleted from the sources since. A fresh folder has nothing to drop, and
# rsync's deletion pass over every folder costs ~5% of an unchanged snapshot.
RESUME_FLAGS = (*BASE_FLAGS, "--delete")
# The estimate leaves ACLs and xattrs out: they add no size, and a dry run into a
# folder that does not exist yet fails on them (rsync 3.5, with --link-dest).
ESTIMATE_FLAGS = ("-aH", "--numeric-ids", "--relative", "--delete")
# A copy dies with datakeeper: killed (SIGKILL, OOM), it must not leave rsync writing
# into the partial snapshot after the admin lock is gone (util-linux's setpriv).
DIE_WITH_PARENT = ("setpriv", "--pdeathsig", "KILL")
VANISHED = 24  # "some files vanished before they could be transferred": normal on a live tree
_ENV = {"LC_ALL": "C", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
_MESSAGES = {
    1: _("syntax or usage error"),
    11: _("error in file I/O (is the backup disk full?)"),
    12: _("error in the rsync protocol data stream (is the backup disk full?)"),
    20: _("interrupted by a signal"),
    23: _("some files could not be copied (permissions or I/O); see the lines above"),
    30: _("timeout in data send/receive"),
}


@dataclass(frozen=True)
class Niceness:
    """How gently a copy runs beside training jobs (``[backup]`` nice, ionice, bwlimit)."""

    nice: int = 10
    ionice_idle: bool = True
    bwlimit_kib: int = 0

    def prefix(self) -> list[str]:
        """``ionice -c3 nice -n N`` in front of the command."""
        argv = ["ionice", "-c3"] if self.ionice_idle else []
        return [*argv, "nice", "-n", str(self.nice)] if self.nice else argv

    def options(self) -> list[str]:
        return [f"--bwlimit={self.bwlimit_kib}"] if self.bwlimit_kib else []


@dataclass(frozen=True)
class Estimate:
    """What a copy would add: bytes of files not shared with the previous
    snapshot, the directories it creates (each costs a block), and the number
    of entries it holds."""

    new_bytes: int
    directories: int
    entries: int = 0


def snapshot_argv(
    sources: Sequence[str],
    dest: Path,
    link_dest: Path | None,
    niceness: Niceness,
    extra: Sequence[str] = (),
    flags: Sequence[str] = BASE_FLAGS,
) -> list[str]:
    """The rsync command copying ``sources`` (``<root>/./<folder>``) into ``dest``."""
    link = [f"--link-dest={link_dest}"] if link_dest is not None else []
    return [
        *niceness.prefix(),
        "rsync",
        *flags,
        *niceness.options(),
        *link,
        *extra,
        "--",
        *(str(source) for source in sources),
        f"{dest}/",
    ]


def estimate(sources: Sequence[str], dest: Path, link_dest: Path | None) -> Estimate:
    """Ask rsync what the copy would transfer (``--dry-run --stats``); writes nothing."""
    stats = ("--dry-run", "--stats", "--no-human-readable")
    argv = snapshot_argv(sources, dest, link_dest, Niceness(0, False), stats, ESTIMATE_FLAGS)
    try:
        result = subprocess.run(argv, capture_output=True, text=True, env=_ENV, check=False)
    except FileNotFoundError:
        raise _not_found(argv[0]) from None
    _raise_for(argv, result.returncode, result.stderr.splitlines())
    return parse_stats(result.stdout)


def parse_stats(text: str) -> Estimate:
    """The transferred bytes and directory count from ``rsync --stats``."""
    size = re.search(r"^Total transferred file size: ([\d,]+)", text, re.M)
    files = re.search(r"^Number of files: ([\d,]+)", text, re.M)
    dirs = re.search(r"^Number of files: [\d,]+ \(.*?dir: ([\d,]+)", text, re.M)
    if size is None:
        raise CommandError(_("rsync --stats printed no transferred size; is rsync 3.1 or newer?"))
    return Estimate(_number(size), _number(dirs), _number(files))


def _number(found: re.Match[str] | None) -> int:
    return int(found.group(1).replace(",", "")) if found else 0


def copy(argv: Sequence[str], pass_fds: Sequence[int] = (), output: int | None = None) -> bool:
    """Run a snapshot copy; True when it was complete, False when files vanished
    during it (exit 24: they were deleted while rsync ran). ``CommandError`` otherwise.
    ``pass_fds`` stay open in rsync (a destination named ``/proc/self/fd/N``); what
    rsync prints goes to the file ``output`` (dropped without one)."""
    try:
        process = subprocess.Popen(
            [*DIE_WITH_PARENT, *argv],
            pass_fds=tuple(pass_fds),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL if output is None else output,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
            env=_ENV,
        )
    except FileNotFoundError:
        raise _not_found(argv[0]) from None
    with process:
        tail = deque(process.stderr or (), maxlen=5)  # the last lines are enough to say why
        code = process.wait()
    if code == VANISHED:
        return False
    _raise_for(argv, code, list(tail))
    return True


@functools.cache
def has_xxh128() -> bool:
    """Whether this rsync offers the xxh128 checksum (``rsync --version`` lists its
    checksums; rsync 3.2.3+ built with libxxhash, as Debian's and Ubuntu's are)."""
    try:
        result = subprocess.run(
            ["rsync", "--version"], capture_output=True, text=True, env=_ENV, check=False
        )
    except OSError:
        return False
    return result.returncode == 0 and re.search(r"\bxxh128\b", result.stdout) is not None


def _raise_for(argv: Sequence[str], code: int, lines: list[str]) -> None:
    """A one-line ``CommandError`` for a failed rsync, naming the cause when known."""
    if code == 0:
        return
    if code == 127:
        raise _not_found("rsync")
    if code < 0:
        why = _("killed by signal {n}").format(n=-code)
    else:
        why = _MESSAGES.get(code, _("exit {code}").format(code=code))
    detail = " ".join(" ".join(lines).split())
    message = _("rsync failed: {why}").format(why=why)
    raise CommandError(f"{message}: {detail}" if detail else message)


def _not_found(program: str) -> CommandError:
    return CommandError(
        _("{cmd}: program not found; install it (apt-get install rsync util-linux)").format(
            cmd=program
        )
    )
