"""Delete user: what they have and run, keep / archive / purge, type the name to confirm.

The panel shows the preview and then the engine's dry run of the removal
chosen: the very changes Remove applies. Choosing another data option looks at
the user again; ticking "end their sessions" only plans again.
"""

from __future__ import annotations

from collections.abc import Iterable

from textual.containers import Horizontal, VerticalScroll
from textual.widget import Widget
from textual.widgets import Button, Checkbox, Input, Label, RadioSet

from datakeeper.features.users.remove.request import RemoveRequest
from datakeeper.i18n import _
from datakeeper.text import printable
from datakeeper.tui.screens.base import FeatureScreen
from datakeeper.tui.widgets.textpanel import TextPanel
from datakeeper.tui.widgets.toggles import MarkedCheckbox, MarkedRadioButton

DATA_CHOICES = (
    ("keep", _("Keep their data (default)")),
    ("archive", _("Archive it under the backup root")),
    ("purge", _("Delete it for good")),
)
PURGE_WORD = "DELETE"


class UserRemoveScreen(FeatureScreen):
    """The preview of ``user remove``; Remove is enabled once the confirmations are typed."""

    HEADING = _("Delete user")
    DEFAULT_CSS = """
    UserRemoveScreen #preview { height: auto; max-height: 9; scrollbar-size-vertical: 1; }
    UserRemoveScreen RadioSet { width: 1fr; }
    """

    def __init__(self, name: str) -> None:
        super().__init__()
        self.user = name
        self.cfg = None
        self.preview = None
        self.plan = None  # the engine's dry run for the choices shown
        self.removed = False

    def body(self) -> Iterable[Widget]:
        with VerticalScroll():
            yield TextPanel(id="preview")
            with RadioSet(id="data"):
                for index, (_key, label) in enumerate(DATA_CHOICES):
                    yield MarkedRadioButton(label, value=index == 0)
            yield MarkedCheckbox(_("End their sessions and processes first"), id="kill")
            yield Label(_("Type {name} to confirm").format(name=self.user), classes="field-label")
            yield Input(id="confirm-name")
            yield Label(
                _("Type {word} to delete the data for good").format(word=PURGE_WORD),
                id="purge-label",
                classes="field-label",
            )
            yield Input(id="confirm-purge")
            with Horizontal(classes="buttons"):
                yield Button(_("Remove"), id="remove", variant="error", disabled=True)
                yield Button(_("Back"), id="back")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#kill").display = False
        self._show_purge(False)
        self.query_one("#data", RadioSet).focus()  # then Tab: the name to type
        self.cfg = self.config()
        self._preview()

    def request(self) -> RemoveRequest:
        """The RemoveRequest the choices describe."""
        index = max(self.query_one("#data", RadioSet).pressed_index, 0)
        kill = self.query_one("#kill", Checkbox).value
        return RemoveRequest(self.user, DATA_CHOICES[index][0], kill)

    def _preview(self) -> None:
        """Look at the user for the data choice shown, then plan."""
        if self.cfg is None:
            return
        self.preview = self.plan = None
        self.call(
            _("looking at {name}").format(name=self.user),
            self.features.preview_removal,
            self.cfg,
            self.request(),
            then=self._plan,
        )

    def _plan(self, preview) -> None:
        """The engine's dry run of the removal chosen, for the panel."""
        self.preview, self.plan = preview, None
        request = self.request()
        if request.data != preview.data:  # the choice changed while looking
            self._preview()
            return
        self.call(
            _("planning the removal of {name}").format(name=self.user),
            self.features.plan_removal,
            self.cfg,
            request,
            preview,
            then=lambda plan: self._show(plan, request),
        )

    def _show(self, plan, request: RemoveRequest) -> None:
        current = self.request()
        if request.data != current.data:  # another choice was made meanwhile
            self._preview()
            return
        if request.kill_sessions != current.kill_sessions:
            self._plan(plan.preview)
            return
        self.plan = plan
        preview = plan.preview
        # One line each, quoting names the user chose (files, process names): escaped.
        self.query_one("#preview", TextPanel).show(printable(line) for line in plan.lines())
        self.query_one("#kill").display = preview.busy
        self._show_purge(request.data == "purge" and preview.home.kind == "directory")
        self._update_button()

    def _show_purge(self, shown: bool) -> None:
        self.query_one("#purge-label").display = shown
        self.query_one("#confirm-purge").display = shown

    def on_radio_set_changed(self, event: RadioSet.Changed) -> None:
        self.preview = self.plan = None
        self._update_button()
        self._preview()

    def on_input_changed(self, event: Input.Changed) -> None:
        self._update_button()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter in a confirmation field: remove when everything is typed right, else say
        what is wrong (a silent refusal reads as a hang)."""
        typed = event.value.strip()
        if event.input.id == "confirm-name" and typed != self.user:
            self.status.error(
                _("type the name {name} exactly to confirm (you typed {typed})").format(
                    name=self.user, typed=printable(typed) or _("nothing")
                )
            )
        elif event.input.id == "confirm-purge" and typed != PURGE_WORD:
            self.status.error(_("type {word} to delete the data for good").format(word=PURGE_WORD))
        elif self._confirmed():
            self._remove()
        elif self.plan is None:
            self.status.busy(_("still planning; wait for the plan to show"))

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        if self.preview is not None:
            self.plan = None
            self._update_button()
            self._plan(self.preview)

    def _confirmed(self) -> bool:
        if self.plan is None or self.removed:
            return False
        named = self.query_one("#confirm-name", Input).value.strip() == self.user
        purge = self.query_one("#confirm-purge", Input)
        return named and (not purge.display or purge.value.strip() == PURGE_WORD)

    def _update_button(self) -> None:
        self.query_one("#remove", Button).disabled = not self._confirmed()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "remove" and self._confirmed():
            self._remove()
        elif event.button.id == "back":
            self.action_back()

    def _remove(self) -> None:
        self.call(
            _("removing {name}").format(name=self.user),
            self.features.remove_user,
            self.cfg,
            self.request(),
            self.preview,
            then=self._removed,
        )

    def _removed(self, report) -> None:
        self.removed = True
        self._update_button()
        self.status.done(_("{done} Esc goes back.").format(done=report.done_line()))
