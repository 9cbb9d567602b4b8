"""Backups: the schedule and the snapshots; take one, prune (asked first), verify,
restore a path."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, ClassVar

from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import Button

from datakeeper.cells import padded
from datakeeper.features.backup.listing import state_for_people
from datakeeper.i18n import _
from datakeeper.sizes import human_size
from datakeeper.status import ChangeOutcome, change_line, error_line
from datakeeper.tui.screens.base import FeatureScreen
from datakeeper.tui.screens.confirm import ConfirmScreen
from datakeeper.tui.screens.restore import RestoreScreen
from datakeeper.tui.widgets.textpanel import TextPanel

if TYPE_CHECKING:
    from datakeeper.features.backup.listing import SnapshotInfo
    from datakeeper.features.backup.prune import PrunePlan
    from datakeeper.features.backup.verify import Verdict


class BackupsScreen(FeatureScreen):
    """``datakeeper backup status|list|run|prune|verify`` with the output below."""

    HEADING = _("Backups")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "run", _("Run now")),
        Binding("p", "prune", _("Prune")),
        Binding("v", "verify", _("Verify")),
        Binding("t", "restore", _("Restore")),
        Binding("s", "refresh", _("Refresh")),
    ]
    DEFAULT_CSS = """
    BackupsScreen #state { height: auto; max-height: 6; }
    BackupsScreen #snapshots { height: 1fr; }
    BackupsScreen #output { height: 1fr; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.cfg = None
        self.lines: list[str] = []

    def body(self) -> Iterable[Widget]:
        yield TextPanel(id="state")
        yield TextPanel(id="snapshots")
        yield TextPanel(id="output")
        with Horizontal(classes="buttons"):
            yield Button(_("Run now (r)"), id="run", variant="primary")
            yield Button(_("Prune (p)"), id="prune")
            yield Button(_("Verify (v)"), id="verify")
            yield Button(_("Restore (t)"), id="restore")
            yield Button(_("Refresh (s)"), id="refresh")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#run", Button).focus()
        self.cfg = self.config()
        self.action_refresh()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        getattr(self, f"action_{event.button.id}")()

    def action_refresh(self) -> None:
        """Read the schedule and the snapshots again (in a worker)."""
        if self.cfg is not None:
            self.call(_("reading the backups"), self._read, then=self._show)

    def _read(self) -> tuple[list[str], list[SnapshotInfo]]:
        status = self.features.backup_status(self.cfg)
        return status.lines(), self.features.list_backups(self.cfg)

    def _show(self, found: tuple[list[str], list[SnapshotInfo]]) -> None:
        state, rows = found
        self.query_one("#state", TextPanel).show(state)
        lines = [snapshot_line(row) for row in reversed(rows)]  # newest first
        if not lines:
            lines = [_("No snapshot yet; take one with r.")]
        self.query_one("#snapshots", TextPanel).show(lines)

    def add_lines(self, *lines: str) -> None:
        """Add lines to the output panel."""
        self.lines += lines
        panel = self.query_one("#output", TextPanel)
        panel.show(self.lines)
        panel.scroll_end(animate=False)

    def action_run(self) -> None:
        """Take a snapshot now (``backup run``)."""
        if self.cfg is not None:
            self.call(_("taking a snapshot"), self.features.run_backup, self.cfg, then=self._ran)

    def _ran(self, report) -> None:
        outcome = report.outcome
        for change in outcome.applied:
            self.add_lines(change_line(change.summary, ChangeOutcome.APPLIED))
            if change.result:
                self.add_lines(f"    {change.result}")
        self.add_lines(*[error_line(f"{what}: {error}") for what, error in outcome.failed])
        self.action_refresh()

    def action_prune(self) -> None:
        """Plan the retention's removals, show them, and ask before removing."""
        if self.cfg is not None:
            self.call(_("planning"), self._plan_prune, then=self._ask_prune)

    def _plan_prune(self) -> tuple[PrunePlan, list[str]]:
        """The plan and its sentences (each removal plans itself: it reads the disk)."""
        plan = self.features.plan_prune(self.cfg)
        return plan, [change.summary for r in plan.removals for change in r.plan()]

    def _ask_prune(self, found: tuple[PrunePlan, list[str]]) -> None:
        plan, sentences = found
        if not sentences:
            self.status.done(_("Nothing to remove."))
            return
        lines = [change_line(sentence, ChangeOutcome.PLANNED) for sentence in sentences]
        question = ConfirmScreen(_("Remove these snapshots?"), lines, _("Remove"))
        self.app.push_screen(question, lambda yes: self._prune(plan, yes))

    def _prune(self, plan: PrunePlan, yes: bool | None) -> None:
        if yes:
            self.call(_("removing"), self.features.prune_backups, self.cfg, plan, then=self._pruned)

    def _pruned(self, outcome) -> None:
        self.add_lines(*[change_line(c.summary, ChangeOutcome.APPLIED) for c in outcome.applied])
        self.add_lines(*[error_line(f"{what}: {error}") for what, error in outcome.failed])
        self.action_refresh()

    def action_restore(self) -> None:
        """Open the restore of one path (any user's, beside the original)."""
        self.app.push_screen(RestoreScreen(member=False))

    def action_verify(self) -> None:
        """Re-hash the newest complete snapshot against its manifest."""
        if self.cfg is not None:
            self.call(_("verifying"), self.features.verify_backup, self.cfg, then=self._verified)

    def _verified(self, verdict: Verdict) -> None:
        self.add_lines(*verdict.lines())
        self.action_refresh()


def snapshot_line(row: SnapshotInfo) -> str:
    """One snapshot: name, state, size added and total."""
    added = human_size(row.added_bytes) if row.added_bytes is not None else "-"
    total = human_size(row.total_bytes) if row.total_bytes is not None else "-"
    state = padded(state_for_people(row.state), 9)  # by terminal cells: Korean is wide
    return _("{name}  {state} added {added:>9}  total {total:>9}").format(
        name=row.name, state=state, added=added, total=total
    )
