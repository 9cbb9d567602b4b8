"""The CLI's progress bar: Rich on standard error, and only on a terminal.

In a pipe, over ssh without a terminal, or in a script, ``for_stderr`` gives
the no-op ``Progress``, so nothing extra is printed.
"""

from __future__ import annotations

import sys
from typing import Any

from datakeeper.cli.output import stderr_console
from datakeeper.i18n import _
from datakeeper.progress import NO_PROGRESS, Progress
from datakeeper.text import printable


def for_stderr() -> Progress:
    """A bar on standard error when it is a terminal, otherwise the no-op one."""
    return RichProgress() if sys.stderr.isatty() else NO_PROGRESS


def unit_word(unit: str) -> str:
    """The unit a count is shown in (``items``, ``steps``), in the reader's language;
    the unit itself is a code the features pass (``bytes`` is drawn as sizes)."""
    words = {"items": _("items"), "steps": _("steps")}
    return words.get(unit, unit)


class RichProgress(Progress):
    """Bytes or items done, the rate and the time left, drawn with ``rich.progress``.

    Work inside other work (a download during ``recover``) gets its own line below
    the outer one, until it finishes."""

    def __init__(self) -> None:
        self._bar: Any = None
        self._tasks: list[Any] = []

    def start(self, description: str, total: int | None, unit: str) -> None:
        """Show a new line of progress."""
        if self._bar is None:
            self._bar = _new_bar()
            self._bar.start()
        task = self._bar.add_task(printable(description), total=total, unit=unit)
        self._tasks.append(task)

    def advance(self, amount: int) -> None:
        """Move the innermost line on by ``amount`` units."""
        if self._tasks:
            self._bar.advance(self._tasks[-1], amount)

    def finish(self) -> None:
        """End the innermost line: work inside other work leaves the screen (its outer
        line goes on); the last one to end stays, as it finished."""
        if self._tasks:
            task = self._tasks.pop()
            if self._tasks:
                self._bar.remove_task(task)
        if not self._tasks and self._bar is not None:
            self._bar.stop()
            self._bar = None


def _new_bar() -> Any:
    # Imported here: rich.progress loads only when long work starts (~15 ms of start-up).
    from rich import progress as rp

    class CountColumn(rp.ProgressColumn):
        """``2.1/4.2 MB 5.0 MB/s`` for bytes, ``120/400 users`` for items."""

        def __init__(self) -> None:
            super().__init__()
            self._bytes, self._speed = rp.DownloadColumn(), rp.TransferSpeedColumn()

        def render(self, task: Any) -> Any:
            unit = task.fields.get("unit", "")
            if unit == "bytes":
                return rp.Text.assemble(self._bytes.render(task), " ", self._speed.render(task))
            total = "?" if task.total is None else f"{task.total:g}"
            return rp.Text(f"{task.completed:g}/{total} {unit_word(unit)}")

    return rp.Progress(
        rp.TextColumn("{task.description}"),
        rp.BarColumn(),
        CountColumn(),
        rp.TimeRemainingColumn(),
        console=stderr_console(),
    )
