"""A time limit for one step of ``recover``, so that one user cannot hang the recovery.

Every external command already has its own timeout (``system.commands``), but a
user's step runs several, and file operations on a user's home can block too.
The limit is a ``SIGALRM`` timer: the exception it raises interrupts a blocking
call (and ``subprocess.run`` kills the command it waited for); it fires again
every second after the limit, so a step that catches one error per resource
still ends soon. The step is then reported skipped and the others go on.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from datakeeper.errors import DatakeeperError
from datakeeper.i18n import _

USER_STEP_TIMEOUT = 60.0  # seconds for one user's account, home and links
_AGAIN = 1.0  # seconds between further alarms once the limit has passed


class StepTimeoutError(DatakeeperError):
    """A step of the recovery took longer than its limit."""


@contextmanager
def time_limit(seconds: float | None) -> Iterator[None]:
    """Raise ``StepTimeoutError`` in the ``with`` body once ``seconds`` have passed
    (``None``: no limit). Only the main thread can take signals: elsewhere no limit."""
    if seconds is None or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expired(_signum, _frame):
        raise StepTimeoutError(_("no end after {s:g} s: stopped").format(s=seconds))

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds, _AGAIN)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
