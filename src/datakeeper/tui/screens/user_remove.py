"""Delete user: what they have and run, keep / archive / purge, type the name to confirm."""

from __future__ import annotations

from collections.abc import Iterable

from textual.containers import Horizontal, VerticalScroll
from textual.widget import Widget
from textual.widgets import Button, Checkbox, Input, Label, RadioSet

from datakeeper.i18n import _
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
    UserRemoveScreen #preview { height: auto; max-height: 10; }
    UserRemoveScreen RadioSet { width: 1fr; }
    """

    def __init__(self, name: str) -> None:
        super().__init__()
        self.user = name
        self.cfg = None
        self.preview = None
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

    def request(self):
        """The RemoveRequest the choices describe."""
        from datakeeper.features.users.remove.removal import RemoveRequest

        index = max(self.query_one("#data", RadioSet).pressed_index, 0)
        kill = self.query_one("#kill", Checkbox).value
        return RemoveRequest(self.user, DATA_CHOICES[index][0], kill)

    def _preview(self) -> None:
        if self.cfg is not None:
            request = self.request()
            self.call(
                _("looking at {name}").format(name=self.user),
                self.features.preview_removal,
                self.cfg,
                request,
                then=lambda p: self._show(p, request),
            )

    def _show(self, preview, request) -> None:
        self.preview = preview
        self.query_one("#preview", TextPanel).show(self.features.removal_lines(preview, request))
        self.query_one("#kill").display = preview.busy
        self._show_purge(request.data == "purge" and preview.home.kind == "directory")
        self._update_button()

    def _show_purge(self, shown: bool) -> None:
        self.query_one("#purge-label").display = shown
        self.query_one("#confirm-purge").display = shown

    def on_radio_set_changed(self, event: RadioSet.Changed) -> None:
        self.preview = None
        self._update_button()
        self._preview()

    def on_input_changed(self, event: Input.Changed) -> None:
        self._update_button()

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        self._update_button()

    def _confirmed(self) -> bool:
        if self.preview is None or self.removed:
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
        where = report.data_location
        if report.data_action == "purge" and report.preview.home.kind == "directory":
            tail = _("their data was deleted")
        elif where is None:
            tail = _("they had no persistent data")
        else:
            tail = _("their data is at {where}").format(where=where)
        self.status.done(
            _("{name} removed ({n} change(s)); {tail}. Esc goes back.").format(
                name=self.user, n=len(report.applied), tail=tail
            )
        )
