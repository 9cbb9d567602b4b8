"""A user's details with two actions: move the home to the other layout, or roll it back.

``UserDetailScreen`` is the details (``InfoScreen``) plus the keys ``m`` and
``b``; it closes with the action chosen, and ``MigrationFlow`` runs it on the
Users screen: the plan (every file that moves) in a confirmation, then the
migration or the rollback in a worker, and its closing sentence in the status
line. The work is ``user migrate``'s (``features.users.migrate``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, ClassVar

from textual.binding import Binding, BindingType

from datakeeper.i18n import _
from datakeeper.tui.screens.confirm import ConfirmScreen, InfoScreen

if TYPE_CHECKING:
    from datakeeper.tui.screens.base import FeatureScreen

MIGRATE, ROLLBACK = "migrate", "rollback"


def other_layout(layout: str) -> str:
    """The layout a migration from ``layout`` goes to (hybrid from anything but hybrid)."""
    return "link" if layout == "hybrid" else "hybrid"


class UserDetailScreen(InfoScreen):
    """The details of one user; ``m`` migrates the home, ``b`` rolls the last one back."""

    BINDINGS: ClassVar[list[BindingType]] = [
        *InfoScreen.BINDINGS,
        Binding("m", f"choose('{MIGRATE}')", _("Migrate home")),
        Binding("b", f"choose('{ROLLBACK}')", _("Roll back")),
    ]

    def __init__(self, title: str, lines: Iterable[str], layout: str) -> None:
        hint = _("m moves the home to the {layout} layout; b rolls the last migration back.")
        super().__init__(title, [*lines, "", hint.format(layout=other_layout(layout))])

    def action_choose(self, action: str) -> None:
        """Close the details with ``action`` for the Users screen to run."""
        self.dismiss(action)


class MigrationFlow:
    """Runs the action chosen on ``UserDetailScreen`` from ``screen`` (the Users screen)."""

    def __init__(self, screen: FeatureScreen, cfg, name: str, layout: str) -> None:
        self.screen = screen
        self.cfg = cfg
        self.name = name
        self.target = other_layout(layout)

    def start(self, action: str | None) -> None:
        """The details closed with ``action`` (None: only closed)."""
        features = self.screen.features
        if action == MIGRATE:
            what = _("planning the migration of {name}").format(name=self.name)
            self.screen.call(
                what, features.plan_migration, self.cfg, self.name, self.target, then=self._ask
            )
        elif action == ROLLBACK:
            question = _("Return {name}'s home to the layout it had before the last migration?")
            lines = [_("The journal of the last migration says what it was; verified after.")]
            confirm = ConfirmScreen(question.format(name=self.name), lines, _("Roll back"))
            self.screen.app.push_screen(confirm, self._roll_back)

    def _ask(self, plan) -> None:
        if plan is None:
            self.screen.status.done(
                _("{name}'s home is already in the {layout} layout.").format(
                    name=self.name, layout=self.target
                )
            )
            return
        question = _("Move {name}'s home to the {layout} layout?").format(
            name=self.name, layout=self.target
        )
        self.screen.app.push_screen(ConfirmScreen(question, plan.lines(), _("Migrate")), self._go)

    def _go(self, yes: bool | None) -> None:
        if yes:
            what = _("migrating {name}'s home").format(name=self.name)
            features = self.screen.features
            self.screen.call(
                what, features.migrate_user, self.cfg, self.name, self.target, then=self._done
            )

    def _roll_back(self, yes: bool | None) -> None:
        if yes:
            what = _("rolling back {name}'s home").format(name=self.name)
            self.screen.call(
                what, self.screen.features.rollback_user, self.cfg, self.name, then=self._done
            )

    def _done(self, report) -> None:
        if not report.ok:
            self.screen.status.error(report.done_line())
            return
        reload = getattr(self.screen, "action_reload", None)
        if reload is None:
            self.screen.status.done(report.done_line())
            return
        self.screen.note = report.done_line()  # shown once the table is read again
        reload()
