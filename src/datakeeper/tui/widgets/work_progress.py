"""Progress of long feature calls in the menu: the same protocol the CLI draws with Rich
(``datakeeper.progress``), drawn here in a Textual ``ProgressBar`` of the screen.

The worker thread posts messages (thread-safe, and it never waits for the screen
to redraw); the screen's handlers move the bar on the UI thread."""

from __future__ import annotations

import time

from textual.message import Message
from textual.message_pump import MessagePump

from datakeeper.progress import Progress

REDRAW_SECONDS = 0.1  # a walk reports every entry: the bar moves at most this often


class ProgressStarted(Message):
    """Long work began: show the bar (``total`` None: the size is not known)."""

    def __init__(self, description: str, total: int | None) -> None:
        super().__init__()
        self.description, self.total = description, total


class ProgressAdvanced(Message):
    """``amount`` more units are done."""

    def __init__(self, amount: int) -> None:
        super().__init__()
        self.amount = amount


class ProgressFinished(Message):
    """The work ended, however: hide the bar."""


class ScreenProgress(Progress):
    """Reports from a worker thread, posted to ``screen``.

    Only the outermost work moves the bar (a download inside ``recover`` does not
    reset it), and advances are gathered so that a walk over 100 000 files costs
    a few redraws a second, not one per file."""

    def __init__(self, screen: MessagePump) -> None:
        self.screen = screen
        self.depth = 0
        self.pending = 0
        self.flushed = 0.0

    def start(self, description: str, total: int | None, unit: str) -> None:
        self.depth += 1
        if self.depth == 1:
            self.pending, self.flushed = 0, time.monotonic()
            self.screen.post_message(ProgressStarted(description, total))

    def advance(self, amount: int) -> None:
        if self.depth != 1:
            return
        self.pending += amount
        if time.monotonic() - self.flushed >= REDRAW_SECONDS:
            self._flush()

    def finish(self) -> None:
        self.depth = max(self.depth - 1, 0)
        if self.depth == 0:
            self._flush()
            self.screen.post_message(ProgressFinished())

    def _flush(self) -> None:
        if self.pending:
            self.screen.post_message(ProgressAdvanced(self.pending))
        self.pending, self.flushed = 0, time.monotonic()
