"""What runs as a user: login sessions, processes, crontab, at jobs; and ending them.

Probes only read (psutil, ``crontab -l``, ``atq``); the other functions end or
remove what a probe found, and are called by the resources of
``datakeeper.resources.user_jobs`` only. Processes are ended politely first
(SIGTERM), then for good (SIGKILL).
"""

from __future__ import annotations

import contextlib
import shutil
import signal
from dataclasses import asdict, dataclass
from datetime import datetime, timezone

import psutil

from datakeeper.errors import ActionFailedError
from datakeeper.i18n import ngettext
from datakeeper.system import commands

GRACE_SECONDS = 5.0
ROUNDS = 3  # a process may fork while we end it: look again this many times


@dataclass(frozen=True)
class LoginSession:
    """One login of the user, as utmp records it."""

    terminal: str
    host: str
    started: str  # ISO 8601, UTC
    pid: int | None

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class UserProcess:
    """One process running with the user's uid (real, effective or saved)."""

    pid: int
    name: str
    command: str

    def as_dict(self) -> dict:
        return asdict(self)


def login_sessions(name: str) -> list[LoginSession]:
    """The user's current logins (``who``)."""
    found = []
    for user in psutil.users():
        if user.name == name:
            started = datetime.fromtimestamp(user.started, timezone.utc).isoformat()
            found.append(
                LoginSession(
                    user.terminal or "", user.host or "", started, getattr(user, "pid", None)
                )
            )
    return found


def user_processes(uid: int) -> list[UserProcess]:
    """Live processes whose real, effective or saved uid is ``uid`` (zombies are done)."""
    return [
        UserProcess(p.pid, p.info["name"] or "", " ".join(p.info["cmdline"] or [])[:200])
        for p in _processes_of(uid)
    ]


def _processes_of(uid: int) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["name", "cmdline", "uids", "status"]):
        uids = process.info["uids"]
        if uids is None or uid not in tuple(uids):
            continue
        if process.info["status"] != psutil.STATUS_ZOMBIE:
            found.append(process)
    return found


def end_processes(uid: int, *, grace: float = GRACE_SECONDS) -> int:
    """SIGTERM every process of ``uid``, SIGKILL what is left after ``grace`` s.

    Returns how many processes were ended; raises ``ActionFailedError`` when
    some still run after ``ROUNDS`` attempts.
    """
    ended = 0
    for _round in range(ROUNDS):
        processes = _processes_of(uid)
        if not processes:
            return ended
        ended += len(processes)
        _signal_all(processes, signal.SIGTERM)
        _gone, alive = psutil.wait_procs(processes, timeout=grace)
        _signal_all(alive, signal.SIGKILL)
        psutil.wait_procs(alive, timeout=grace)
    left = _processes_of(uid)
    if left:
        raise ActionFailedError(
            ngettext(
                "{n} process of uid {uid} still runs after SIGKILL: {pids}",
                "{n} processes of uid {uid} still run after SIGKILL: {pids}",
                len(left),
            ).format(n=len(left), uid=uid, pids=", ".join(str(p.pid) for p in left))
        )
    return ended


def _signal_all(processes: list[psutil.Process], signum: int) -> None:
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            process.send_signal(signum)


def has_crontab(name: str) -> bool:
    """True when ``crontab`` is installed and ``name`` has a crontab."""
    if shutil.which("crontab") is None:
        return False
    try:
        commands.run(["crontab", "-l", "-u", name])
    except commands.CommandFailed:
        return False  # "no crontab for NAME"
    return True


def at_jobs(name: str) -> list[str]:
    """Ids of ``name``'s pending at jobs (empty when ``at`` is not installed)."""
    if shutil.which("atq") is None:
        return []
    listing = commands.run(["atq"]).stdout
    return [fields[0] for fields in map(str.split, listing.splitlines()) if fields[-1:] == [name]]


def remove_crontab(name: str) -> None:
    """Remove ``name``'s crontab (``crontab -r``)."""
    commands.run(["crontab", "-r", "-u", name])


def remove_at_jobs(jobs: list[str]) -> None:
    """Remove the pending at jobs ``jobs`` (``atrm``)."""
    commands.run(["atrm", *jobs])
