"""Auto-recovery: the boot service's status; enable, disable, run recovery now."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, ClassVar

from textual.binding import Binding, BindingType
from textual.containers import Horizontal, ScrollableContainer
from textual.widget import Widget
from textual.widgets import Button, Static

from datakeeper.i18n import _, ngettext
from datakeeper.status import ChangeOutcome, StepStatus, change_line, error_line, yes_no
from datakeeper.tui.screens.base import FeatureScreen
from datakeeper.tui.screens.confirm import ConfirmScreen
from datakeeper.tui.widgets.textpanel import TextPanel

if TYPE_CHECKING:
    from datakeeper.features.recovery.boot import RecoveryStatus


class RecoveryScreen(FeatureScreen):
    """``datakeeper recovery status|enable|disable|run`` with the output below."""

    HEADING = _("Auto-recovery")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("e", "enable", _("Enable")),
        Binding("d", "disable", _("Disable")),
        Binding("r", "run", _("Run now")),
        Binding("s", "refresh", _("Status")),
        Binding("c", "copy_hook", _("Copy hook")),
    ]
    DEFAULT_CSS = """
    RecoveryScreen #state { height: auto; max-height: 10; }
    RecoveryScreen #hook-box { height: 3; overflow-x: auto; overflow-y: hidden; }
    RecoveryScreen #hook { width: auto; padding: 0 1; }
    RecoveryScreen #output { height: 1fr; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.cfg = None
        self.lines: list[str] = []
        self.hook = ""

    def body(self) -> Iterable[Widget]:
        yield TextPanel(id="state")
        # The hook line is for copying into rc.local or cloud-init: never wrapped.
        with ScrollableContainer(id="hook-box"):
            yield Static(id="hook", markup=False)
        yield TextPanel(id="output")
        with Horizontal(classes="buttons"):
            yield Button(_("Enable (e)"), id="enable")
            yield Button(_("Disable (d)"), id="disable")
            yield Button(_("Run now (r)"), id="run", variant="primary")
            yield Button(_("Status (s)"), id="refresh")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#run", Button).focus()
        self.cfg = self.config()
        self.action_refresh()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        getattr(self, f"action_{event.button.id}")()

    def action_refresh(self) -> None:
        """Read the boot service's status again (in a worker)."""
        if self.cfg is not None:
            self.call(
                _("reading the status"),
                self.features.recovery_status,
                self.cfg,
                then=self._show_state,
            )

    def _show_state(self, found: RecoveryStatus) -> None:
        state = _("enabled") if found.enabled else _("not enabled")
        lines = [
            _("Boot recovery: {state}; systemd {systemd}").format(
                state=state, systemd=found.systemd
            )
        ]
        for f in found.files:
            lines.append(f"  {yes_no(f.present and f.current)} {f.path}")
        for unit, unit_state in found.units.items():
            lines.append(f"  {unit}: {unit_state.enabled}, {unit_state.active}")
        last = found.last_run
        lines.append(
            _("Last recovery: {when}").format(
                when=f"{last.time}: {last.summary}" if last else _("never")
            )
        )
        lines += [_("Warning: {text}").format(text=w) for w in found.warnings]  # /backup unmounted
        self.query_one("#state", TextPanel).show(lines)
        self.hook = found.hook or ""
        if self.hook:
            title = _(
                "Boot hook without systemd (c copies it; 'datakeeper recovery hook' prints it):"
            )
            self.query_one("#hook", Static).update(f"{title}\n{self.hook}")

    def action_copy_hook(self) -> None:
        """Put the hook line on the clipboard (OSC 52: where the terminal allows it)."""
        if self.hook:
            self.app.copy_to_clipboard(self.hook)
            self.status.done(_("hook line copied (if your terminal allows it)"))

    def add_lines(self, *lines: str) -> None:
        """Add lines to the output panel."""
        self.lines += lines
        panel = self.query_one("#output", TextPanel)
        panel.show(self.lines)
        panel.scroll_end(animate=False)

    def action_enable(self) -> None:
        """Enable boot recovery and show what it wrote."""
        if self.cfg is not None:
            self.call(_("enabling"), self.features.recovery_enable, self.cfg, then=self._outcome)

    def action_disable(self) -> None:
        """Ask, then disable boot recovery."""
        if self.cfg is None:
            return
        lines = [
            _(
                "The boot service, the password sync and the login wait are removed; "
                "after the next wipe nothing recovers the accounts automatically."
            )
        ]
        self.app.push_screen(
            ConfirmScreen(_("Disable boot recovery?"), lines, _("Disable")), self._disable
        )

    def _disable(self, yes: bool | None) -> None:
        if yes:
            self.call(_("disabling"), self.features.recovery_disable, self.cfg, then=self._outcome)

    def _outcome(self, result) -> None:
        outcome = result.outcome
        self.add_lines(*[change_line(c.summary, ChangeOutcome.APPLIED) for c in outcome.applied])
        failed = [error_line(f"{what}: {error}") for what, error in outcome.failed]
        self.add_lines(*failed, *result.notes)
        applied = len(outcome.applied)
        self.note = ngettext("{n} change applied.", "{n} changes applied.", applied).format(
            n=applied
        )
        self.action_refresh()

    def action_run(self) -> None:
        """Run ``recover`` now; each step's result appears as it finishes."""
        if self.cfg is not None:
            self.add_lines(_("Recovery started."))
            self.call(
                _("recovering"),
                self.features.recover,
                self.cfg,
                reporter=_Reporter(self),
                then=self._recovered,
            )

    def _recovered(self, report) -> None:
        self.add_lines(report.summary())
        self.note = report.summary()
        self.action_refresh()


class _Reporter:
    """A SetupReporter: one line per step (and its errors) into the output panel."""

    def __init__(self, screen: RecoveryScreen) -> None:
        self.screen = screen

    def step_started(self, index, total, step) -> None: ...
    def change(self, change, outcome) -> None: ...
    def unchanged(self, resource) -> None: ...

    def step_finished(self, result) -> None:
        lines = [f"{result.key} {result.title}: {StepStatus(result.status).word}"]
        lines += [change_line(c, ChangeOutcome.APPLIED) for c in result.changes]
        lines += [error_line(e) for e in result.errors]
        self.screen.from_thread(self.screen.add_lines, *lines)
