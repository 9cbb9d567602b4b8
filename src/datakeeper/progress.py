"""One progress protocol for long work (downloads, moves, cleans, walks).

Library code never prints: it reports to the ``Progress`` the caller installed
with ``reporting`` and reads with ``current``. Nothing installed means the
no-op ``Progress`` itself, so scripts, pipes and tests see nothing extra. The
CLI installs a Rich bar on a terminal (``cli/progress_view.py``); the menu can
install one drawing a Textual ``ProgressBar``.

A context variable, rather than a parameter on every resource action, carries
it: the engine applies resources through one generic ``apply``, and a worker
thread of the menu gets its own value.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator


class Progress:
    """The callbacks of one piece of long work; this base class does nothing."""

    def start(self, description: str, total: int | None, unit: str) -> None:
        """Work named ``description`` begins: ``total`` units (``bytes`` or
        ``items``), or ``None`` when the size is not known."""

    def advance(self, amount: int) -> None:
        """``amount`` more units are done."""

    def finish(self) -> None:
        """The work ended (done, failed or interrupted)."""


NO_PROGRESS = Progress()
_CURRENT: contextvars.ContextVar[Progress] = contextvars.ContextVar(
    "datakeeper_progress", default=NO_PROGRESS
)


def current() -> Progress:
    """The ``Progress`` installed for this context, the no-op one by default."""
    return _CURRENT.get()


@contextlib.contextmanager
def reporting(progress: Progress) -> Iterator[Progress]:
    """Install ``progress`` for the code run inside the ``with`` block."""
    token = _CURRENT.set(progress)
    try:
        yield progress
    finally:
        _CURRENT.reset(token)


@contextlib.contextmanager
def tracked(description: str, total: int | None, unit: str) -> Iterator[Progress]:
    """Start work on the current ``Progress`` and finish it however the block ends."""
    progress = current()
    progress.start(description, total, unit)
    try:
        yield progress
    finally:
        progress.finish()
