"""The Textual application: the admin or user menu first, q quits from anywhere."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual.app import App
from textual.binding import Binding, BindingType
from textual.screen import Screen

from datakeeper.crashlog import report_unexpected
from datakeeper.i18n import _
from datakeeper.text import printable

if TYPE_CHECKING:
    from datakeeper.tui.contract import MenuFeatures


class DatakeeperApp(App[int]):
    """``datakeeper`` without a command. ``features`` is what every screen calls
    (``tui.features.Features``, or a fake in tests); ``admin`` picks the menu."""

    TITLE = "datakeeper"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS: ClassVar[list[BindingType]] = [Binding("q", "quit", _("Quit"))]
    CSS = """
    Screen { layout: vertical; }
    Button { margin: 0 1 0 0; min-width: 10; }
    .buttons { height: auto; margin: 1 0 0 0; }
    .hint { color: $text-muted; padding: 0 1; }
    .field-label { margin: 1 0 0 0; text-style: bold; }
    """

    def __init__(self, features: MenuFeatures, *, admin: bool) -> None:
        super().__init__()
        self.feature_api = features  # (App.features is Textual's own)
        self.admin = admin
        self.crash_line: str | None = None  # set when an error no screen caught ended the app

    def _handle_exception(self, error: Exception) -> None:
        """An error no screen caught: one line at exit naming a private log of the details.

        Textual (6 to 8) routes every uncaught error here and by default prints a
        full-screen traceback when the app exits; its bookkeeping (exit code 1, pilot
        tests re-raising the error) is kept, only the traceback is replaced.
        """
        self.crash_line = f"{_('datakeeper: error:')} {printable(report_unexpected(error))}"
        super()._handle_exception(error)
        # run_menu prints crash_line once the screen is restored: a plain line the terminal
        # wraps itself, so the log's path copies whole (Rich would wrap or crop it).
        self._exit_renderables.clear()

    def get_default_screen(self) -> Screen:
        """The first screen: the admin menu as root, the user menu otherwise."""
        from datakeeper.tui.screens.menu import admin_menu, user_menu

        return admin_menu() if self.admin else user_menu()
