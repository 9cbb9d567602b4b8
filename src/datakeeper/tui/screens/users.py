"""Users: every account with its registry state; Enter shows one (or, to delete, picks it)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.widget import Widget
from textual.widgets import DataTable, Static

from datakeeper.features.users.info import state_for_people
from datakeeper.i18n import _
from datakeeper.text import printable
from datakeeper.tui.screens.base import FeatureScreen
from datakeeper.tui.screens.user_migrate import MigrationFlow, UserDetailScreen
from datakeeper.tui.screens.user_remove import UserRemoveScreen

COLUMNS = (
    _("name"),
    _("uid"),
    _("groups"),
    _("shell"),
    _("home"),  # the home layout: link or hybrid
    _("state"),
    _("last login"),
)


class UsersScreen(FeatureScreen):
    """``user list`` as a table. With ``remove``, Enter opens the removal of that user."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("r", "reload", _("Reload"))]
    DEFAULT_CSS = """
    UsersScreen DataTable { height: 1fr; }
    """

    def __init__(self, *, remove: bool = False) -> None:
        super().__init__()
        self.for_removal = remove
        self.HEADING = _("Delete user: pick one") if remove else _("Users")
        self.cfg = None
        self.rows: list = []  # UserSummary rows

    def body(self) -> Iterable[Widget]:
        hint = (
            _("Enter picks the user to remove.")
            if self.for_removal
            else _(
                "Enter shows everything about a user. 'home' is the layout: link (all on the "
                "data disk) or hybrid (on the SSD, ~/data and dotfiles linked). 'drift' means "
                "the account differs from what the registry recorded (recovery would restore "
                "the recorded one)."
            )
        )
        yield Static(hint, classes="hint", markup=False)
        table = DataTable(id="users", cursor_type="row", zebra_stripes=True)
        table.add_columns(*COLUMNS)
        yield table

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one(DataTable).focus()
        self.action_reload()

    def on_screen_resume(self) -> None:
        if self.for_removal and self.cfg is not None:
            self.action_reload()  # back from a removal: the list changed

    def action_reload(self) -> None:
        """Read the accounts again (in a worker)."""
        self.cfg = self.config()
        if self.cfg is not None:
            self.call(_("listing users"), self.features.list_users, self.cfg, then=self._show)

    def _show(self, rows: list) -> None:
        if self.for_removal:  # only what `user remove` is for: not the admin, not strays
            admin = self.cfg.admin if self.cfg is not None else None
            rows = [r for r in rows if r.name != admin and r.state != "unregistered"]
        self.rows = rows
        table = self.query_one(DataTable)
        table.clear()
        for row in rows:
            cells = (
                row.name,
                str(row.uid if row.uid is not None else "-"),
                ",".join(row.groups),
                row.shell or "-",
                row.home_layout,
                state_for_people(row.state),
                row.last_login or "-",
            )
            # Text, not str: DataTable would read a str as markup; values are escaped.
            table.add_row(*(Text(printable(cell)) for cell in cells), key=row.name)
        if not rows:
            self.status.done(_("No accounts yet."))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        name = event.row_key.value
        if self.for_removal:
            self.app.push_screen(UserRemoveScreen(name))
        else:
            self.call(
                _("reading {name}").format(name=name),
                self.features.show_user,
                self.cfg,
                name,
                then=self._details,
            )

    def _details(self, info) -> None:
        """``user show`` (a UserDetails): every field but the registry entry, one a line."""
        fields = info.as_dict().items()
        lines = [
            f"{key:12} {printable(_shown(value))}" for key, value in fields if key != "registry"
        ]
        flow = MigrationFlow(self, self.cfg, info.name, info.home_layout)
        self.app.push_screen(UserDetailScreen(info.name, lines, info.home_layout), flow.start)


def _shown(value) -> str:
    """A value of ``user show`` as a person reads it: lists joined, nothing as "-"."""
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) or "-"
    return "-" if value is None else str(value)
