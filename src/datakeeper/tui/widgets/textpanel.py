"""A scrollable, focusable block of plain text (never parsed as markup, and with
every control character shown escaped: the lines often quote names users chose)."""

from __future__ import annotations

from collections.abc import Iterable

from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from datakeeper.text import printable


class TextPanel(VerticalScroll):
    """Lines of text; arrows and PgUp/PgDn scroll it when it has the focus."""

    DEFAULT_CSS = """
    /* The scrollbar gets a column of its own: drawn over the text it hid the ends of
       lines ("steps ▇▇"). */
    TextPanel {
        height: 1fr; border: round $primary-darken-2; padding: 0 0 0 1;
        scrollbar-gutter: stable; scrollbar-size-vertical: 1;
    }
    TextPanel:focus { border: round $accent; }
    TextPanel > Static { width: 1fr; }
    """

    def compose(self):
        yield Static(id="text")

    def show(self, lines: Iterable[str]) -> None:
        """Replace the text with ``lines``; a line may hold newlines of our own, any other
        control character is escaped (screens escape the newlines of names themselves)."""
        shown = "\n".join(printable(line, keep="\n") for line in lines)
        self.query_one("#text", Static).update(Text(shown))
        self.scroll_home(animate=False)

    @property
    def text(self) -> str:
        """The text shown (for tests)."""
        return str(self.query_one("#text", Static).content)
