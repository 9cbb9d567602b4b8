"""Global packages: a checklist of admin tools, installed with progress and a result each."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import Button, ProgressBar, Static
from textual.widgets.selection_list import Selection

from datakeeper.i18n import _, ngettext
from datakeeper.status import InstallStatus
from datakeeper.tui.screens.base import FeatureScreen
from datakeeper.tui.widgets.textpanel import TextPanel
from datakeeper.tui.widgets.toggles import Checklist

if TYPE_CHECKING:
    from datakeeper.features.packages import PackageStatus


class PackagesScreen(FeatureScreen):
    """``packages install`` for the ticked entries (space ticks, i installs, p plans)."""

    HEADING = _("Global packages")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("i", "install(False)", _("Install")),
        Binding("p", "install(True)", _("Show plan")),
    ]
    DEFAULT_CSS = """
    PackagesScreen SelectionList { height: 1fr; }
    PackagesScreen #log { height: 7; }
    PackagesScreen ProgressBar { margin: 0 1; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.cfg = None
        self.lines: list[str] = []

    def body(self) -> Iterable[Widget]:
        yield Static(self.features.packages_note(), classes="hint", markup=False)
        yield Checklist(id="catalogue")
        yield ProgressBar(show_eta=False, id="progress")
        yield TextPanel(id="log")
        with Horizontal(classes="buttons"):
            yield Button(_("Install (i)"), id="install", variant="primary")
            yield Button(_("Show plan (p)"), id="plan")
            yield Button(_("Back"), id="back")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#progress").display = False
        self.query_one(Checklist).focus()
        self.cfg = self.config()
        if self.cfg is not None:
            self.reload()

    def reload(self) -> None:
        """Read which packages are installed (in a worker)."""
        self.call(
            _("reading the catalogue"), self.features.package_status, self.cfg, then=self._show
        )

    def _show(self, rows: list[PackageStatus]) -> None:
        catalogue = self.query_one(Checklist)
        ticked, highlighted = set(catalogue.selected), catalogue.highlighted
        catalogue.clear_options()
        for row in rows:
            name = row.package.name
            state = _("installed") if row.installed else _("not installed")
            label = f"{name:<8} {state:<13} {row.package.description}"
            catalogue.add_option(Selection(Text(label), name, name in ticked))
        catalogue.highlighted = highlighted if highlighted is not None else 0

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "back":
            self.action_back()
        else:
            self.action_install(event.button.id == "plan")

    def action_install(self, dry_run: bool) -> None:
        """Install (or only plan) the ticked packages in a worker."""
        names = list(self.query_one(Checklist).selected)
        if self.cfg is None:
            return
        if not names:
            self.status.error(_("nothing is ticked: move to a package and press space to tick it"))
            return
        progress = self.query_one("#progress", ProgressBar)
        progress.update(total=len(names), progress=0)
        progress.display = True
        self.lines = []
        what = _("planning")
        if not dry_run:
            what = ngettext("installing {n} package", "installing {n} packages", len(names)).format(
                n=len(names)
            )
        self.call(
            what,
            self.features.install_packages,
            self.cfg,
            names,
            dry_run=dry_run,
            listener=_Listener(self),
            then=self._done,
        )

    def add_lines(self, *lines: str) -> None:
        """Add a line to the results below the list."""
        self.lines += lines
        panel = self.query_one("#log", TextPanel)
        panel.show(self.lines)
        panel.scroll_end(animate=False)

    def finished(self, result) -> None:
        """One package is done: advance the bar, show its result."""
        self.query_one("#progress", ProgressBar).advance(1)
        detail = f": {result.error}" if result.error else ""
        self.add_lines(f"  {result.status.mark} {result.name}: {result.status.word}{detail}")
        for change in result.changes:
            self.add_lines(f"      {change}")

    def _done(self, results) -> None:
        failed = [r.name for r in results if r.status is InstallStatus.FAILED]
        if any(r.status is InstallStatus.WOULD_INSTALL for r in results):
            summary = _("Plan only: nothing was installed.")
        else:
            ok = len(results) - len(failed)
            summary = ngettext(
                "{ok} package in place, {n} failed", "{ok} packages in place, {n} failed", ok
            ).format(ok=ok, n=len(failed))
        self.note = summary + (f": {', '.join(failed)}" if failed else "")
        self.reload()


class _Listener:
    """An InstallListener that forwards progress from the worker to the screen."""

    def __init__(self, screen: PackagesScreen) -> None:
        self.screen = screen

    def started(self, index: int, total: int, package) -> None:
        line = f"[{index}/{total}] {package.name} ({package.kind} {package.source}) …"
        self.screen.from_thread(self.screen.add_lines, line)

    def finished(self, result) -> None:
        self.screen.from_thread(self.screen.finished, result)
