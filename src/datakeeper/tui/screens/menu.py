"""The admin menu (root) and the user menu (everyone else): numbered entries."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from datakeeper.i18n import _
from datakeeper.tui.screens import caches, check, disk, info, packages, recovery, setup, users
from datakeeper.tui.screens.backups import BackupsScreen
from datakeeper.tui.screens.base import FeatureScreen
from datakeeper.tui.screens.gpu import GpuScreen
from datakeeper.tui.screens.restore import RestoreScreen
from datakeeper.tui.screens.user_add import UserAddScreen


@dataclass(frozen=True)
class MenuItem:
    """One entry: its label, a one-line hint, and the screen it opens."""

    label: str
    hint: str
    opens: Callable[[], Screen]


class MenuScreen(FeatureScreen):
    """Numbered entries; arrows and Enter, or the entry's number, open it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(str(n), f"pick({n})", show=False) for n in range(1, 10)
    ] + [Binding("escape", "back", show=False)]  # the first screen: Esc has nowhere to go
    DEFAULT_CSS = """
    MenuScreen OptionList { height: auto; max-height: 1fr; margin: 1 2 0 2; }
    MenuScreen #hint { margin: 1 3; height: auto; }
    """

    def __init__(self, title: str, items: list[MenuItem]) -> None:
        super().__init__()
        self.HEADING = title
        self.items = items

    def body(self) -> Iterable[Widget]:
        options = [
            Option(Text(f"{n}  {item.label}"), id=str(n))
            for n, item in enumerate(self.items, start=1)
        ]
        yield OptionList(*options, id="menu")
        yield Static(id="hint", markup=False)

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#menu", OptionList).highlighted = 0

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        item = self.items[event.option_index]
        self.query_one("#hint", Static).update(item.hint)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.action_pick(event.option_index + 1)

    def action_pick(self, number: int) -> None:
        """Open entry ``number`` (1-based)."""
        if 1 <= number <= len(self.items):
            self.app.push_screen(self.items[number - 1].opens())

    def action_back(self) -> None:
        """The menu is the first screen: Esc stays here (q quits)."""


def admin_menu() -> MenuScreen:
    """The root's menu: the original's six entries, then users, disk and caches."""
    items = [
        MenuItem(
            _("Initial setup"),
            _("The six setup steps: see each plan, then apply."),
            setup.SetupFormScreen,
        ),
        MenuItem(
            _("Configuration test"),
            _("Check the server against the site config; fix."),
            check.CheckScreen,
        ),
        MenuItem(
            _("Add user"),
            _("Create an account with a persistent home and an SSH key."),
            UserAddScreen,
        ),
        MenuItem(
            _("Delete user"),
            _("Remove an account; keep, archive or delete the data."),
            lambda: users.UsersScreen(remove=True),
        ),
        MenuItem(
            _("Global packages"),
            _("Install common admin tools for everyone."),
            packages.PackagesScreen,
        ),
        MenuItem(
            _("Auto-recovery"),
            _("Recovery at boot: enable, disable, status, run now."),
            recovery.RecoveryScreen,
        ),
        MenuItem(
            _("Users"),
            _("Every account: groups, shell, registry state (drift)."),
            users.UsersScreen,
        ),
        MenuItem(
            _("Disk usage"),
            _("Storage roots, shared folders and homes, with bars."),
            disk.DiskScreen,
        ),
        MenuItem(
            _("Caches"),
            _("Shared and personal caches: sizes, and clean them."),
            caches.CachesScreen,
        ),
        MenuItem(
            _("Backups"),
            _("Snapshots on the backup disk: list, run, prune, verify."),
            BackupsScreen,
        ),
        MenuItem(_("GPUs"), _("Every GPU's load, who holds it, totals per user."), GpuScreen),
    ]
    return MenuScreen(_("Admin menu"), items)


def user_menu() -> MenuScreen:
    """A researcher's menu: their environment, disk, cache cleanup, the guides, GPUs."""
    items = [
        MenuItem(
            _("Environment info"),
            _("Your groups, umask, home and the site's variables."),
            info.EnvScreen,
        ),
        MenuItem(
            _("Disk usage"), _("Your home, the shared folders and the free space."), disk.DiskScreen
        ),
        MenuItem(
            _("Cache cleanup"),
            _("Clean a shared cache through sudo (shared by all!)."),
            caches.SharedCleanScreen,
        ),
        MenuItem(
            _("Conda guide"),
            _("Python environments with the shared conda."),
            lambda: info.GuideScreen("conda"),
        ),
        MenuItem(
            _("Help"),
            _("Where to put data, sharing models, what a reboot wipes."),
            lambda: info.GuideScreen(None),
        ),
        MenuItem(_("GPUs"), _("Every GPU's load, and your processes on them."), GpuScreen),
        MenuItem(
            _("Restore my files"),
            _("Browse your home in a backup; restore a file beside the original."),
            lambda: RestoreScreen(member=True),
        ),
    ]
    return MenuScreen(_("User menu"), items)
