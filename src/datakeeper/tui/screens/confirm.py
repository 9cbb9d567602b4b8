"""A yes/no question over the current screen, with the lines it is about."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Button, Static

from datakeeper.i18n import _
from datakeeper.tui.widgets.textpanel import TextPanel


class ConfirmScreen(ModalScreen[bool]):
    """Shows ``lines`` and asks; dismisses with True (y / the yes button) or False (n, Esc)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", _("Yes")),
        Binding("n", "answer(False)", _("No")),
        Binding("escape", "answer(False)", _("Cancel")),
    ]
    DEFAULT_CSS = """
    ConfirmScreen { align: center middle; }
    ConfirmScreen > Vertical { width: 76; max-width: 100%; height: auto; max-height: 22;
                               border: thick $accent; background: $surface; padding: 0 1; }
    ConfirmScreen TextPanel { height: auto; max-height: 14; }
    """

    def __init__(self, question: str, lines: Iterable[str], yes: str = "") -> None:
        super().__init__()
        self.question = question
        self.lines = list(lines)
        self.yes = yes or _("Yes")

    def compose(self) -> Iterable[Widget]:
        with Vertical():
            yield Static(self.question, markup=False)
            yield TextPanel(id="lines")
            with Horizontal(classes="buttons"):
                yield Button(f"{self.yes} (y)", id="yes", variant="warning")
                yield Button(_("No (n)"), id="no")

    def on_mount(self) -> None:
        self.query_one(TextPanel).show(self.lines)
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, yes: bool) -> None:
        """Close with ``yes``."""
        self.dismiss(yes)


class InfoScreen(ModalScreen[None]):
    """Lines to read over the current screen; Esc, Enter or q closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", _("Close")),
        Binding("enter", "close", _("Close"), show=False),
        Binding("q", "close", _("Close"), show=False),
    ]
    DEFAULT_CSS = """
    InfoScreen { align: center middle; }
    InfoScreen > Vertical { width: 76; max-width: 100%; height: auto; max-height: 22;
                            border: thick $accent; background: $surface; padding: 0 1; }
    InfoScreen TextPanel { height: auto; max-height: 18; }
    """

    def __init__(self, title: str, lines: Iterable[str]) -> None:
        super().__init__()
        self.heading = title
        self.lines = list(lines)

    def compose(self) -> Iterable[Widget]:
        with Vertical():
            yield Static(self.heading, markup=False)
            yield TextPanel(id="lines")

    def on_mount(self) -> None:
        panel = self.query_one(TextPanel)
        panel.show(self.lines)
        panel.focus()

    def action_close(self) -> None:
        """Close the lines."""
        self.dismiss(None)
