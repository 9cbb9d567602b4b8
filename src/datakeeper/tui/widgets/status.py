"""One line at the bottom of a screen: what is running, what went wrong, what was done."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from datakeeper.i18n import _


class StatusLine(Static):
    """Says in words (never by colour alone) whether work runs, failed or finished."""

    DEFAULT_CSS = """
    StatusLine { height: auto; max-height: 4; padding: 0 1; }
    StatusLine.error { background: $error 30%; text-style: bold; }
    StatusLine.busy { background: $primary 20%; }
    """

    def _set(self, text: str, kind: str) -> None:
        self.set_classes(kind)
        self.update(Text(text))

    def busy(self, what: str) -> None:
        """Work is running (in a worker thread)."""
        self._set(_("Working: {what} …").format(what=what), "busy")

    def error(self, message: str) -> None:
        """Something failed; the message is the feature's one-line error."""
        self._set(_("Error: {message}").format(message=message), "error")

    def done(self, message: str) -> None:
        """Work finished; what came of it."""
        self._set(message, "done")

    def clear(self) -> None:
        """Nothing to say."""
        self._set("", "idle")
