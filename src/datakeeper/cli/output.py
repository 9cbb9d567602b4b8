"""Printing for people (Rich) and for scripts (``--json``), and one-line errors.

Everything printed here may carry names other users chose (files, paths,
processes), so no output reaches the terminal raw: the consoles never parse
markup or emoji codes and escape every control character (``datakeeper.text``)
except the newlines of our own multi-line texts; ``--json`` writes every
unprintable character as a JSON escape, losslessly; an error is one line.
Callers still pass each name through ``printable`` so that a newline in a
name cannot forge a line.
"""

from __future__ import annotations

import functools
import json
import re
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from datakeeper.i18n import _
from datakeeper.text import printable

if TYPE_CHECKING:
    from rich.console import Console

# Characters JSON leaves raw that a terminal may act on: DEL, C1 controls,
# lone surrogates (undecodable bytes) and anything else not printable.
_MAYBE_UNPRINTABLE = re.compile(r"[^\n\x20-\x7e]")


def stdout_console() -> Console:
    """A Rich console on standard output that shows names as text, never as commands."""
    return _safe_console_class()(highlight=False, soft_wrap=True, markup=False, emoji=False)


def stderr_console() -> Console:
    """A Rich console on standard error, for progress and diagnostics."""
    return _safe_console_class()(
        stderr=True, highlight=False, soft_wrap=True, markup=False, emoji=False
    )


@functools.cache
def _safe_console_class() -> type[Console]:
    # Imported here: rich loads only when something is printed (measured ~12 ms of start-up).
    from rich.console import Console

    class SafeConsole(Console):
        """Every string it renders (a line, a table cell, a title) has its control
        characters escaped; newlines stay, since our own texts have several lines."""

        def render_str(self, text: str, **options: Any):  # type: ignore[override]
            return super().render_str(printable(text, keep="\n"), **options)

    return SafeConsole


class LinePrinter:
    """Lines for people on standard output, escaped as the consoles escape them but
    written plainly: a report of thousands of lines (a recovery) costs no rendering.
    ``quiet`` (``--json``) prints nothing."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet

    def _print(self, text: str) -> None:
        if not self.quiet:
            sys.stdout.write(printable(text, keep="\n") + "\n")

    def _flush(self) -> None:
        """Hand what was printed on (a pipe buffers it), so a run killed later
        leaves its output up to here in the log."""
        if not self.quiet:
            sys.stdout.flush()


def json_text(data: Any) -> str:
    """``data`` as indented JSON whose every character is printable or a JSON escape.

    Lossless: a C1 control or an undecodable byte (a lone surrogate) comes back
    from ``json.loads`` exactly as it was.
    """
    text = json.dumps(data, indent=2, ensure_ascii=False, default=str)
    return _MAYBE_UNPRINTABLE.sub(_json_escape, text)


def _json_escape(found: re.Match[str]) -> str:
    char = found.group()
    # Outside strings JSON holds only ASCII, so anything matched is inside one.
    return char if char.isprintable() else json.dumps(char)[1:-1]


def emit(data: Any, *, json_output: bool, render: Callable[[Console], None]) -> None:
    """Print ``data`` as JSON for scripts, or call ``render`` for people."""
    if json_output:
        sys.stdout.write(json_text(data) + "\n")
    else:
        render(stdout_console())


def new_table(console: Console, *columns: str, title: str | None = None, show_header=True):
    """A table for ``console``: drawn with Rich on a terminal; in a pipe or over ssh
    without a terminal, plain lines with tab-separated, never-truncated values (one
    record per line, a header first) that people, ``grep``, ``cut`` and ``awk -F'\t'``
    all read. Both have ``add_row(*cells)`` and go to ``console.print``."""
    if not console.is_terminal:
        return PlainTable(list(columns), title, show_header)
    # Imported here: rich.table loads only when a table is drawn (~12 ms of start-up).
    from rich.table import Table

    return Table(*columns, title=title, show_header=show_header, title_justify="left")


class PlainTable:
    """The pipe form of a table (see ``new_table``)."""

    def __init__(self, columns: list[str], title: str | None, show_header: bool) -> None:
        self.columns, self.title, self.show_header = columns, title, show_header
        self.rows: list[list[str]] = []

    def add_row(self, *cells: Any) -> None:
        """One record; a tab or newline inside a value is escaped so it stays one field."""
        self.rows.append([printable(str(cell)).replace("\t", "\\t") for cell in cells])

    def lines(self) -> list[str]:
        """The text of the table, a line per record."""
        lines = [self.title] if self.title else []
        if self.show_header and self.columns:
            lines.append("\t".join(self.columns))
        return lines + ["\t".join(row) for row in self.rows]

    def __rich_console__(self, console: Console, options: Any):
        # Segments, not Text: Rich would turn the tabs into spaces.
        from rich.segment import Segment

        for line in self.lines():
            yield Segment(line)
            yield Segment.line()


def people_value(value: Any) -> str:
    """A value as a person reads it: lists joined with commas, nothing as ``-``."""
    if value is None or value == [] or value == "":
        return "-"
    if isinstance(value, (list, tuple)):
        return ", ".join(str(item) for item in value)
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    return str(value)


def print_error(message: str) -> None:
    """One line on standard error, prefixed so it is clear who is speaking."""
    prefix = _("datakeeper: error:")
    print(f"{prefix} {printable(message)}", file=sys.stderr)
