"""Restore files from a snapshot: the admin any path (Backups screen), a researcher
their own home's ("Restore my files", through the sudo helper). Beside the
original only (``NAME.restored-<time>``): nothing is ever overwritten from here."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import Button, Input, Label

from datakeeper.i18n import _
from datakeeper.sizes import human_size
from datakeeper.status import ChangeOutcome, change_line
from datakeeper.text import printable
from datakeeper.tui.screens.base import FeatureScreen
from datakeeper.tui.widgets.textpanel import TextPanel

if TYPE_CHECKING:
    from datakeeper.features.backup.browse import Listing


class RestoreScreen(FeatureScreen):
    """A path and a snapshot; Browse lists it as the snapshot holds it, Restore copies
    it back beside the original."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+b", "browse", _("Browse")),
        Binding("ctrl+s", "restore", _("Restore")),
    ]
    DEFAULT_CSS = """
    RestoreScreen Label { margin: 1 1 0 1; }
    RestoreScreen #output { height: 1fr; }
    """

    def __init__(self, *, member: bool) -> None:
        super().__init__()
        self.member = member
        self.HEADING = _("Restore my files") if member else _("Restore from a snapshot")
        self.cfg = None

    def body(self) -> Iterable[Widget]:
        where = _("Path in your home") if self.member else _("Path on the data disk")
        example = "~/proj/train.py" if self.member else "/data/users/alice/proj"
        yield Label(where)
        yield Input(placeholder=example, id="path")
        yield Label(_("Snapshot (empty: the newest; or a date such as 2026-11-30)"))
        yield Input(id="snapshot")
        yield TextPanel(id="output")
        with Horizontal(classes="buttons"):
            yield Button(_("Browse (ctrl+b)"), id="browse")
            yield Button(_("Restore beside it (ctrl+s)"), id="restore", variant="primary")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#path", Input).focus()
        self.cfg = self.config()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        getattr(self, f"action_{event.button.id}")()

    def _asked(self) -> tuple[Path | None, str | None]:
        text = self.query_one("#path", Input).value.strip()
        snapshot = self.query_one("#snapshot", Input).value.strip() or None
        return (Path(text).expanduser() if text else None), snapshot

    def action_browse(self) -> None:
        """List the path (default: the home, or the users folder) in the snapshot."""
        if self.cfg is None:
            return
        path, snapshot = self._asked()
        if self.member:
            browse = self.features.browse_my_files
            self.call(_("reading the snapshot"), browse, self.cfg, path, snapshot, then=self._text)
        else:
            browse = self.features.browse_backup
            self.call(_("reading the snapshot"), browse, self.cfg, path, snapshot, then=self._list)

    def action_restore(self) -> None:
        """Copy the path back beside the original (``NAME.restored-<time>``)."""
        if self.cfg is None:
            return
        path, snapshot = self._asked()
        if path is None:
            self.status.error(_("type the path to restore first"))
            return
        if self.member:
            restore = self.features.restore_my_files
            self.call(_("restoring"), restore, self.cfg, path, snapshot, then=self._text)
        else:
            restore = self.features.restore_backup
            self.call(_("restoring"), restore, self.cfg, path, snapshot, then=self._restored)

    def _show(self, lines: list[str]) -> None:
        self.query_one("#output", TextPanel).show(lines)

    def _text(self, said: str) -> None:
        self._show(said.splitlines() or [_("(nothing)")])

    def _list(self, listing: Listing) -> None:
        lines = [_("snapshot {name}: {path}").format(name=listing.snapshot, path=listing.path)]
        lines += [entry_line(entry) for entry in listing.entries]
        self._show(lines)

    def _restored(self, outcome) -> None:
        lines = [change_line(c.summary, ChangeOutcome.APPLIED) for c in outcome.applied]
        lines += [f"    {c.result}" for c in outcome.applied if c.result]
        self._show(lines or [_("Nothing to restore.")])


def entry_line(entry) -> str:
    """One entry of a snapshot folder: size, time, name (a folder ends in /)."""
    # The names and link targets are the researcher's own choice: shown escaped.
    name = printable(entry.name) + ("/" if entry.kind == "folder" else "")
    if entry.target is not None:
        name += f" -> {printable(entry.target)}"
    size = human_size(entry.size) if entry.kind == "file" else "-"
    when = datetime.fromtimestamp(entry.mtime).strftime("%Y-%m-%d %H:%M")
    return f"{size:>9}  {when}  {name}"
