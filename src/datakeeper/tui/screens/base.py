"""The frame every screen shares: header, body, status line, key bar; features in threads."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar

from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer, Header, ProgressBar

from datakeeper import progress
from datakeeper.crashlog import report_unexpected
from datakeeper.errors import DatakeeperError
from datakeeper.i18n import _
from datakeeper.tui.widgets.status import StatusLine
from datakeeper.tui.widgets.work_progress import (
    ProgressAdvanced,
    ProgressFinished,
    ProgressStarted,
    ScreenProgress,
)

if TYPE_CHECKING:
    from datakeeper.tui.contract import MenuFeatures


class FeatureScreen(Screen):
    """A screen that calls feature functions in worker threads and shows their errors.

    Subclasses yield their widgets from ``body()`` and call ``self.call(...)``.
    Esc goes back to the previous screen.
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "back", _("Back"))]
    HEADING = ""

    def __init__(self) -> None:
        super().__init__()
        self.working = False
        self.note = ""  # shown once no call runs any more (set it, then call again)
        self.leaving = False  # Esc was pressed once while working
        self.ui_app = None  # the app, kept for worker threads (they have no active app)

    def compose(self) -> Iterable[Widget]:
        yield Header()
        yield from self.body()
        yield ProgressBar(id="work-progress", show_eta=True)  # shown while long work runs
        yield StatusLine(id="status")
        yield Footer()

    def body(self) -> Iterable[Widget]:
        """The widgets between the header and the status line."""
        return []

    def on_mount(self) -> None:
        self.sub_title = self.HEADING
        self.ui_app = self.app
        self.query_one("#work-progress").display = False

    def on_progress_started(self, message: ProgressStarted) -> None:
        """Long work began in a worker (see ``ScreenProgress``): show the bar."""
        bar = self.query_one("#work-progress", ProgressBar)
        bar.update(total=message.total, progress=0)
        bar.display = True
        self.status.busy(message.description)

    def on_progress_advanced(self, message: ProgressAdvanced) -> None:
        self.query_one("#work-progress", ProgressBar).advance(message.amount)

    def on_progress_finished(self, _message: ProgressFinished) -> None:
        self.query_one("#work-progress", ProgressBar).display = False

    @property
    def features(self) -> MenuFeatures:
        """The feature functions (``tui.features.Features``, or a fake in tests)."""
        return self.app.feature_api

    @property
    def status(self) -> StatusLine:
        """The status line of this screen."""
        return self.query_one("#status", StatusLine)

    def action_back(self) -> None:
        """Back to the previous screen; while work runs, only at the second Esc."""
        if self.working and not self.leaving:
            self.leaving = True
            self.status.busy(_("still working; Esc again leaves it running in the background"))
            return
        if len(self.app.screen_stack) > 1:
            self.app.pop_screen()

    def config(self, *, missing_ok: bool = False):
        """The site config, or None with the reason shown (e.g. no config yet: run setup)."""
        try:
            return self.features.load_config(missing_ok=missing_ok)
        except DatakeeperError as error:
            self.status.error(str(error))
            return None

    def call(
        self, what: str, function: Callable[..., Any], *args: Any, then=None, **kwargs: Any
    ) -> bool:
        """Run ``function`` in a worker thread; pass its result to ``then`` (on the UI).

        A ``DatakeeperError`` (or any other failure) is shown in the status line.
        Refuses (False) while another call of this screen is running.
        """
        if self.working:
            self.status.busy(_("still busy; wait for it to finish"))
            return False
        self.working = True
        self.status.busy(what)
        self.run_worker(partial(self._call, function, args, kwargs, then), thread=True)
        return True

    def _call(self, function, args, kwargs, then) -> None:
        try:
            with progress.reporting(ScreenProgress(self)):  # this worker thread's own
                result = function(*args, **kwargs)
        except DatakeeperError as error:
            self.from_thread(self._failed, str(error))
        except Exception as error:  # one line here; the traceback goes to a private log
            self.from_thread(self._failed, report_unexpected(error))
        else:
            self.from_thread(self._succeeded, then, result)

    def from_thread(self, callback: Callable[..., Any], *args: Any) -> None:
        """Run ``callback`` on the UI thread (from a worker); dropped once the screen or
        the app is gone."""
        with contextlib.suppress(RuntimeError):  # the app has exited meanwhile
            self.ui_app.call_from_thread(self._on_ui, callback, args)

    def _on_ui(self, callback: Callable[..., Any], args: tuple) -> None:
        if not self._shown():
            return  # the person left this screen; the work finished in the background
        try:
            callback(*args)
        except Exception as error:  # a display bug must not end the session with a traceback
            if not self._shown():
                return  # taken down while it ran (the menu is closing): nowhere to show it
            self.working = False
            self.status.error(report_unexpected(error))

    def _shown(self) -> bool:
        """Whether this screen is still up with its status line: the menu closing
        removes the widgets of a screen that is still attached."""
        return self.is_attached and bool(self.query("#status"))

    def _failed(self, message: str) -> None:
        self.working = self.leaving = False
        self.status.error(message)

    def _succeeded(self, then, result) -> None:
        self.working = self.leaving = False
        self.status.clear()
        if then is not None:
            then(result)
        if self.note and not self.working:
            self.status.done(self.note)
            self.note = ""
