"""Caches: each cache with its size; clean one after its preview (and the shared warning)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import Button, OptionList, RadioSet, Static
from textual.widgets.option_list import Option

from datakeeper.i18n import _, ngettext
from datakeeper.sizes import human_size
from datakeeper.text import printable
from datakeeper.tui.screens.base import FeatureScreen
from datakeeper.tui.widgets.textpanel import TextPanel
from datakeeper.tui.widgets.toggles import MarkedRadioButton

AGES = ((None, _("default")), (7, _("unused 7d")), (30, _("unused 30d")), (90, _("unused 90d")))


def shared_warning(group: str) -> str:
    """The warning the original shows before a shared cache is cleaned."""
    return _(
        "Shared caches are used by every member of {group}: cleaning frees space for "
        "everyone, and everyone may have to download again what is removed."
    ).format(group=group)


class CachesScreen(FeatureScreen):
    """``cache list`` and ``cache clean``: pick a cache and an age, c shows what would go
    and asks. Members clean shared caches through sudo (the feature chooses how)."""

    HEADING = _("Caches")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "clean", _("Clean")),
        Binding("r", "reload", _("Reload")),
    ]
    DEFAULT_CSS = """
    CachesScreen OptionList { height: auto; max-height: 7; }
    CachesScreen RadioSet { layout: horizontal; width: 1fr; }
    CachesScreen #output { height: 1fr; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.cfg = None
        self.rows: list = []

    def body(self) -> Iterable[Widget]:
        yield Static(id="warning", classes="hint", markup=False)
        yield OptionList(id="caches")
        with RadioSet(id="age"):
            for index, (_days, label) in enumerate(AGES):
                yield MarkedRadioButton(label, value=index == 0)
        yield TextPanel(id="output")
        with Horizontal(classes="buttons"):
            yield Button(_("Clean (c)"), id="clean", variant="warning")
            yield Button(_("Back"), id="back")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one(OptionList).focus()
        self.cfg = self.config(missing_ok=True)
        if self.cfg is not None:
            hint = _("default: every conda tarball, hf and torch unused 30 days, pip/uv all.")
            self.query_one("#warning", Static).update(shared_warning(self.cfg.group) + "\n" + hint)
            self.action_reload()

    def action_reload(self) -> None:
        """Measure the caches again (in a worker)."""
        self.call(_("measuring the caches"), self.features.list_caches, self.cfg, then=self._show)

    def _show(self, rows: list) -> None:
        self.rows = rows
        options = self.query_one(OptionList)
        highlighted = options.highlighted
        options.clear_options()
        for location, usage in rows:
            whose = _("shared") if location.shared else _("yours")
            size = human_size(usage.size) if usage.exists else _("missing")
            line = f"{location.label:<21} {whose:<7} {size:>10}  {_tail(printable(location.path))}"
            options.add_option(Option(Text(line), disabled=not location.cleanable))
        options.highlighted = highlighted if highlighted is not None else (0 if rows else None)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.action_clean() if event.button.id == "clean" else self.action_back()

    def action_clean(self) -> None:
        """Preview the highlighted cache's cleanup (in a worker), then ask."""
        index = self.query_one(OptionList).highlighted
        if self.cfg is None or index is None or not self.rows:
            self.status.error(_("pick a cache first (arrows), then press c"))
            return
        location = self.rows[index][0]
        age = AGES[max(self.query_one(RadioSet).pressed_index, 0)][0]
        self.call(
            _("looking at {label}").format(label=location.label),
            self.features.plan_clean,
            self.cfg,
            [location.kind],
            age,
            then=self._confirm,
        )

    def _confirm(self, plan) -> None:
        from datakeeper.tui.screens.confirm import ConfirmScreen

        lines = [line for kind in plan.kinds for line in _preview_lines(kind)]
        if not plan.frees:
            self.query_one("#output", TextPanel).show(lines)
            self.status.done(_("Nothing to remove."))
            return
        if any(kind.location.shared for kind in plan.kinds):
            lines += ["", shared_warning(self.cfg.group)]
        labels = ", ".join(kind.location.label for kind in plan.kinds)
        question = _("Clean {what}?").format(what=labels)
        self.app.push_screen(
            ConfirmScreen(question, lines, _("Clean")), lambda yes: self._clean(plan, yes)
        )

    def _clean(self, plan, yes: bool | None) -> None:
        if yes:
            self.call(_("cleaning"), self.features.clean_caches, plan, then=self._cleaned)

    def _cleaned(self, run) -> None:
        lines = [f"{kind.location.label}: {printable(kind.outcome_text())}" for kind in run.kinds]
        self.query_one("#output", TextPanel).show(lines)
        self.note = "; ".join(lines)
        self.action_reload()


def _tail(path: str, width: int = 33) -> str:
    """``path`` cut from the left to fit one line at 80 columns."""
    return path if len(path) <= width else "…" + path[-(width - 1) :]


def _preview_lines(kind) -> list[str]:
    """What one cleanup would remove, as ``cache clean`` prints it."""
    days = kind.resource.age_days
    age = ""
    if days:
        age = ngettext(", unused for {n} day", ", unused for {n} days", days).format(n=days)
    lines = [
        ngettext(
            "{label} ({method}{age}): {files} entry, {size} would be freed",
            "{label} ({method}{age}): {files} entries, {size} would be freed",
            kind.scan.files,
        ).format(
            label=kind.location.label,
            method=kind.resource.method.name,
            age=age,
            files=kind.scan.files,
            size=human_size(kind.scan.size),
        )
    ]
    # Names in a shared cache are chosen by its members: shown escaped, one a line.
    lines += [f"    {printable(item)}" for item in kind.scan.sample]
    notes = [*kind.scan.notes, *kind.notes, kind.problem]
    lines += [f"  ! {printable(note)}" for note in notes if note]
    return lines


class SharedCleanScreen(CachesScreen):
    """The user menu's cache cleanup: the same screen (shared caches go through sudo)."""

    HEADING = _("Cache cleanup")
