"""Configuration test: the check results grouped by step; FAIL lines open to their detail."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import Button, Static, Tree

from datakeeper.i18n import _, ngettext
from datakeeper.status import CheckStatus
from datakeeper.tui.screens.base import FeatureScreen
from datakeeper.tui.screens.confirm import ConfirmScreen
from datakeeper.tui.screens.setup import QuietReporter


class CheckScreen(FeatureScreen):
    """``datakeeper check`` in a tree; f plans the fixes, shows them, then applies them."""

    HEADING = _("Configuration test")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "run", _("Check again")),
        Binding("f", "fix", _("Fix")),
    ]
    DEFAULT_CSS = """
    CheckScreen Tree { height: 1fr; border: round $primary-darken-2; }
    CheckScreen #summary { padding: 0 1; text-style: bold; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.cfg = None
        self.report = None

    def body(self) -> Iterable[Widget]:
        tree: Tree[str] = Tree(_("checks"), id="results")
        tree.show_root = False
        yield tree
        yield Static(id="summary", markup=False)
        with Horizontal(classes="buttons"):
            yield Button(_("Check again (r)"), id="run")
            yield Button(_("Fix (f)"), id="fix", variant="warning")
            yield Button(_("Back"), id="back")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one(Tree).focus()
        self.action_run()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        {"run": self.action_run, "fix": self.action_fix}.get(event.button.id, self.action_back)()

    def action_run(self) -> None:
        """Run every check in a worker."""
        self.cfg = self.config()
        if self.cfg is not None:
            self.call(_("checking"), self.features.run_checks, self.cfg, then=self._show)

    def _show(self, report) -> None:
        self.report = report
        tree = self.query_one(Tree)
        tree.clear()
        first_fail = None
        for group, results in _grouped(report.results):
            failed = sum(1 for r in results if r.status == CheckStatus.FAIL)
            label = ngettext(
                "{group}: {n} item, {f} failed", "{group}: {n} items, {f} failed", len(results)
            ).format(group=group, n=len(results), f=failed)
            node = tree.root.add(Text(label), expand=bool(failed))
            for result in results:
                added = _add_result(node, result)
                first_fail = first_fail or (added if result.status == CheckStatus.FAIL else None)
        cursor = first_fail or (tree.root.children[0] if tree.root.children else None)
        self.call_after_refresh(tree.move_cursor, cursor)  # Enter opens the first FAIL
        advice = "".join(f"{line}\n" for line in report.advice)  # e.g. recover after a wipe
        self.query_one("#summary", Static).update(advice + report.summary())

    def action_fix(self) -> None:
        """Plan the fixes (``check --fix``'s dry run) and ask before applying them."""
        if self.cfg is None:
            return
        self.call(
            _("planning the fixes"),
            self.features.fix,
            self.cfg,
            dry_run=True,
            reporter=QuietReporter(),
            then=self._confirm_fix,
        )

    def _confirm_fix(self, plan) -> None:
        changes = [f"{s.key}: {c}" for s in plan.steps for c in s.changes]
        errors = [f"{s.key}: {e}" for s in plan.steps for e in s.errors]
        if not changes:
            self.status.done(_("Nothing to fix automatically.") + " " + "; ".join(errors))
            return
        question = ngettext("Apply {n} change?", "Apply these {n} changes?", len(changes)).format(
            n=len(changes)
        )
        self.app.push_screen(ConfirmScreen(question, changes + errors, _("Fix")), self._fix)

    def _fix(self, yes: bool | None) -> None:
        if yes:
            self.call(
                _("fixing"),
                self.features.fix,
                self.cfg,
                dry_run=False,
                reporter=QuietReporter(),
                then=self._fixed,
            )

    def _fixed(self, report) -> None:
        applied = sum(len(s.changes) for s in report.steps)
        self.note = ngettext(
            "{n} change applied; checked again.", "{n} changes applied; checked again.", applied
        ).format(n=applied)
        self.action_run()


def _grouped(results) -> list[tuple[str, list]]:
    """Results by group, in the order the groups first appear."""
    groups: dict[str, list] = {}
    for result in results:
        groups.setdefault(result.group, []).append(result)
    return list(groups.items())


def _add_result(node, result):
    """A leaf for PASS and SKIP; FAIL opens to its detail, one reason a line."""
    line = f"{result.status}  {result.subject}"
    if result.status != CheckStatus.FAIL or not result.detail:
        detail = f"  ({result.detail})" if result.detail else ""
        return node.add_leaf(Text(line + detail))
    fail = node.add(Text(line), expand=False)
    for part in result.detail.split("; "):
        fail.add_leaf(Text(part))
    return fail
