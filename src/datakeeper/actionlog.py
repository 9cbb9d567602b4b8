"""The action log: every applied change, one JSON line each, plus syslog/journal.

The file lives on persistent storage (it must survive the wipe that recovery
repairs). Each record is appended with a single ``write()`` on a descriptor
opened ``O_APPEND``, under a brief ``flock`` of the log itself, so concurrent
datakeeper processes interleave whole lines; then it is fsynced (within
``batched_sync``, at most once a second and when the block ends). A record
that follows a line torn by a crash starts on a new line.

The file is created 0600; a symlink, a non-regular file, a file owned by
someone else or with several hard links is refused, because root appending
to it could otherwise write into a file an attacker chose.

Secrets: this module writes what it is given. Callers must mask passwords,
tokens and keys in ``resource``, ``change`` and ``details`` first, with
``datakeeper.system.masking.mask_secrets``.

Names: sentences name files and processes other users chose. As a last line
of defence every string of a record is passed through
``datakeeper.text.printable``, so no control character or undecodable byte
reaches the file, the journal or ``log show``, and a record never fails to
encode.

The same line goes to syslog (ident ``datakeeper``, facility ``LOG_USER``)
as ``<actor>: <resource>: <change> (<outcome>)``, best effort: a missing
syslog never makes a change fail.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import pwd
import socket
import stat
import time
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from types import ModuleType
from typing import Any

from datakeeper.errors import RefusedError
from datakeeper.i18n import _
from datakeeper.status import ChangeOutcome
from datakeeper.text import printable

syslog: ModuleType | None
try:
    import syslog
except ImportError:  # not every platform has it
    syslog = None

LOGINUID_PATH = Path("/proc/self/loginuid")
_UNSET_LOGINUID = 4294967295  # (uid_t)-1: no login session (boot, cron, daemons)
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
_APPEND_FLAGS = os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
# O_RDWR: the tail is read to detect a torn last line. O_NONBLOCK: a planted
# FIFO must not hang the open.
_APPEND_FLAGS |= os.O_NONBLOCK


def current_actor() -> str:
    """Who is acting: ``root``, ``root (sudo from alice)`` or ``root (login alice)``.

    Read at call time from ``SUDO_USER`` and the audit login uid, so a
    long-running process reports whoever drives it now.
    """
    me = _user_name(os.geteuid())
    via_sudo = printable(os.environ.get("SUDO_USER", ""))
    if via_sudo and via_sudo != me:
        return f"{me} (sudo from {via_sudo})"
    login_uid = _login_uid()
    if login_uid is not None and login_uid != os.geteuid():
        return f"{me} (login {_user_name(login_uid)})"
    return me


class ActionLog:
    """Appends one record per change to ``path`` and mirrors it to syslog."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def record(
        self,
        *,
        code: str,
        resource: str,
        change: str,
        outcome: str = ChangeOutcome.APPLIED,  # or FAILED, or "alert" (the disk alert)
        actor: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Log one change and return the record written; secrets must be masked already.

        ``code`` is the change's stable kind (``directory.create``, ``disk.alert``,
        see ``engine.codes``): English and the same in every language, for programs,
        while ``change`` is the sentence in the admin's language.
        Every string in it is made printable first (names come from users).
        Syslog is sent first so the journal keeps the line even when the file
        is refused (``RefusedError``) or the disk fails (``OSError``).
        """
        entry: dict[str, Any] = {
            "time": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
            "host": socket.gethostname(),
            "actor": actor if actor is not None else current_actor(),
            "code": code,
            "resource": resource,
            "change": change,
            "outcome": outcome,
        }
        entry["time"] = entry["time"].replace("+00:00", "Z")
        if details is not None:
            entry["details"] = details
        entry = _printable_strings(entry)
        _send_to_syslog(entry)
        line = json.dumps(entry, ensure_ascii=False, default=str) + "\n"
        _append(self.path, line.encode("utf-8"))
        return entry


@dataclass
class _SyncBatch:
    """The logs written since their last fsync, in a ``batched_sync`` block."""

    interval: float
    pending: set[Path] = field(default_factory=set)
    last: float = field(default_factory=time.monotonic)


_BATCH: ContextVar[_SyncBatch | None] = ContextVar("datakeeper_log_sync", default=None)


@contextlib.contextmanager
def batched_sync(interval: float = 1.0) -> Iterator[None]:
    """Within this block a record is fsynced only when ``interval`` seconds have passed
    since the last one, and every log written is fsynced when the block ends.

    Each record is still one ``write()`` under the lock: a killed process loses no
    record it wrote (the page cache keeps it); only a power cut may lose the last
    ``interval`` seconds. For a run of thousands of changes (``recover``), where
    one disk flush per record would cost more than the changes.
    """
    batch = _SyncBatch(interval)
    token = _BATCH.set(batch)
    try:
        yield
    finally:
        _BATCH.reset(token)
        for path in batch.pending:
            _fsync_path(path)


def _sync(fd: int, path: Path) -> None:
    batch = _BATCH.get()
    if batch is not None and time.monotonic() - batch.last < batch.interval:
        batch.pending.add(path)
        return
    os.fsync(fd)
    if batch is not None:
        batch.pending.discard(path)
        batch.last = time.monotonic()


def _fsync_path(path: Path) -> None:
    with contextlib.suppress(OSError):  # the records are written; durability is best effort
        fd = os.open(path, _READ_FLAGS)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def read_actions(path: Path, *, limit: int | None = None) -> list[dict[str, Any]]:
    """The records in ``path``, oldest first; with ``limit``, only the last ``limit``.

    A line that is not a whole JSON object (torn by a crash) is skipped, not
    fatal, so one bad write never hides the rest of the history. A missing
    file is an empty log; a symlink is refused.
    """
    try:
        fd = os.open(path, _READ_FLAGS)
    except FileNotFoundError:
        return []
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise _symlink_refused(path) from None
        raise
    with os.fdopen(fd, "rb") as stream:
        data = stream.read()
    records = [record for record in map(_parse, data.split(b"\n")) if record is not None]
    if limit is not None:
        records = records[max(len(records) - max(limit, 0), 0) :]
    return records


def _parse(line: bytes) -> dict[str, Any] | None:
    try:
        record = json.loads(line)
    except ValueError:  # also UnicodeDecodeError
        return None
    return record if isinstance(record, dict) else None


def _append(path: Path, data: bytes) -> None:
    try:
        fd = os.open(path, _APPEND_FLAGS, 0o600)
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise _symlink_refused(path) from None
        if error.errno in (errno.EISDIR, errno.ENXIO):
            raise _unsafe(path, _("is not a regular file")) from None
        raise
    try:
        _check_log_file(fd, path)
        # The lock makes "look at the tail, then append" one step for all
        # appenders; it is held for microseconds, so waiting is fine.
        fcntl.flock(fd, fcntl.LOCK_EX)
        if _ends_torn(fd):
            # Start on a fresh line so a crash's torn tail does not swallow this record.
            data = b"\n" + data
        _write_all(fd, data)
        _sync(fd, path)
    finally:
        os.close(fd)  # also releases the lock


def _check_log_file(fd: int, path: Path) -> None:
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        raise _unsafe(path, _("is not a regular file"))
    if info.st_uid != os.geteuid():
        raise _unsafe(path, _("is owned by uid {uid}").format(uid=info.st_uid))
    if info.st_nlink != 1:
        raise _unsafe(path, _("has {count} hard links").format(count=info.st_nlink))
    if stat.S_IMODE(info.st_mode) != 0o600:
        os.fchmod(fd, 0o600)  # records may name people and hosts: root-only


def _ends_torn(fd: int) -> bool:
    size = os.fstat(fd).st_size
    return size > 0 and os.pread(fd, 1, size - 1) != b"\n"


def _write_all(fd: int, data: bytes) -> None:
    # One write() per record; a short write (disk nearly full) is finished
    # rather than leaving half a line.
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _symlink_refused(path: Path) -> RefusedError:
    return RefusedError(
        _("action log {path} is a symbolic link; fix: replace it with a regular file").format(
            path=path
        )
    )


def _unsafe(path: Path, problem: str) -> RefusedError:
    return RefusedError(
        _("action log {path} {problem}; fix: move it aside and let datakeeper create it").format(
            path=path, problem=problem
        )
    )


def _send_to_syslog(entry: dict[str, Any]) -> None:
    if syslog is None:
        return
    message = "{actor}: {resource}: {change} ({outcome})".format(**entry)
    priority = syslog.LOG_INFO if entry["outcome"] == ChangeOutcome.APPLIED else syslog.LOG_WARNING
    # Best effort: an unreachable or misbehaving syslog must not fail a change.
    with contextlib.suppress(OSError, ValueError, RuntimeError):
        syslog.openlog("datakeeper", syslog.LOG_PID, syslog.LOG_USER)
        syslog.syslog(priority, printable(message))


def _printable_strings(value: Any) -> Any:
    """``value`` with every string in it, dictionary keys included, made printable."""
    if isinstance(value, (str, bytes, os.PathLike)):
        return printable(value)
    if isinstance(value, dict):
        return {_printable_strings(key): _printable_strings(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_printable_strings(item) for item in value]
    return value


def _user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)  # accounts may be gone right after a wipe


def _login_uid() -> int | None:
    try:
        value = int(LOGINUID_PATH.read_text().strip())
    except (OSError, ValueError):
        return None
    return None if value == _UNSET_LOGINUID else value
