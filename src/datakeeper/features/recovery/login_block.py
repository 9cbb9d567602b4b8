"""Member logins are refused while ``recover`` runs: ``/run/nologin`` (pam_nologin).

After a wipe the hook path (rc.local, a cloud-init per-boot script) runs while
sshd already accepts logins; without a block, members whose account was just
recreated got in before their environment existed. pam_nologin refuses every
login but root's while ``/run/nologin`` exists, so root can always get in to a
server whose recovery hangs. Under systemd, boot starts with that file in
place (systemd-tmpfiles) and ``systemd-user-sessions.service``, ordered after
the recovery service, removes it: then the file is not ours and is left alone,
as is an admin's own maintenance block.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from datakeeper.i18n import _
from datakeeper.paths import FAILED_MARKER, NOLOGIN


@dataclass
class LoginBlock:
    """What the block did; ``ok`` is set by the recovery it guards."""

    created: bool = False
    ok: bool = False
    summary: str = ""


def nologin_text() -> str:
    """What a refused login sees."""
    return _("This server is restoring accounts after a reboot (datakeeper recover). "
             "Please try again in a minute.") + "\n"  # fmt: skip


def failed_text(summary: str) -> str:
    """The failure marker's content: what went wrong, for the login script and the admin."""
    return _("datakeeper recover finished with problems: {summary}").format(summary=summary) + "\n"


@contextmanager
def logins_blocked(
    *, dry_run: bool, nologin: Path = NOLOGIN, failed: Path = FAILED_MARKER
) -> Iterator[LoginBlock]:
    """Refuse member logins for the ``with`` body; lift the block afterwards, whether the
    body succeeded, failed or was stopped (SIGTERM), and leave ``failed`` behind when it
    did not succeed. A dry run writes nothing."""
    block = LoginBlock()
    if dry_run:
        yield block
        return
    _remove(failed)  # a previous run of this boot is not this run's result
    block.created = _create(nologin, nologin_text())
    try:
        with _terminate_as_exit():
            yield block
    finally:
        if block.created:
            _remove(nologin)
        if not block.ok:
            _write(failed, failed_text(block.summary or _("recovery did not finish")))


def _create(path: Path, text: str) -> bool:
    """Write ``path`` unless it exists (someone else's block); True when written here."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    except FileExistsError:
        return False
    os.fchmod(fd, 0o644)  # the umask must not hide the message from pam_nologin
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    return True


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
    _remove(path)
    _create(path, text)


def _remove(path: Path) -> None:
    with suppress(FileNotFoundError):
        path.unlink()


@contextmanager
def _terminate_as_exit() -> Iterator[None]:
    """SIGTERM (systemd's stop, its start timeout) unwinds like an exit, so the block is
    lifted; only the main thread can take signals."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, _frame):
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
