"""Initial setup: the four answers; then the wizard (``setup_wizard``) resumes at the first
step that would change something."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widget import Widget
from textual.widgets import Button, Input, Label, Static

from datakeeper.i18n import _
from datakeeper.status import StepStatus
from datakeeper.tui.screens.base import FeatureScreen
from datakeeper.tui.screens.setup_wizard import SetupWizardScreen

FIELDS = (
    ("group", _("Shared group")),
    ("admin", _("Admin account")),
    ("data_root", _("Data root (the persistent disk)")),
    ("backup_root", _("Backup root (empty: none)")),
)


class QuietReporter:
    """A SetupReporter that shows nothing (the dry run's report is shown afterwards)."""

    def step_started(self, index, total, step) -> None: ...
    def change(self, change, outcome) -> None: ...
    def unchanged(self, resource) -> None: ...
    def step_finished(self, result) -> None: ...


class SetupFormScreen(FeatureScreen):
    """The four questions of ``datakeeper init``, with its defaults filled in."""

    HEADING = _("Initial setup")
    BINDINGS: ClassVar[list[BindingType]] = [Binding("ctrl+s", "plan", _("Show the plan"))]

    def __init__(self) -> None:
        super().__init__()
        self.kept: dict[str, str] = {}
        self.defaults = None  # init's Answers for this config (from setup_defaults)

    def body(self) -> Iterable[Widget]:
        with VerticalScroll():
            yield Static(
                _(
                    "datakeeper writes the site config from these answers, then goes through "
                    "the six steps one by one: each shows its plan before you apply it."
                ),
                classes="hint",
                markup=False,
            )
            for key, label in FIELDS:
                yield Label(label, classes="field-label")
                yield Input(id=key)
            with Horizontal(classes="buttons"):
                yield Button(_("Show the plan"), id="plan", variant="primary")
                yield Button(_("Back"), id="back")

    def on_mount(self) -> None:
        super().on_mount()
        defaults = self.defaults = self.features.setup_defaults()
        cfg = self.config(missing_ok=True)
        current = {
            "group": cfg.group if cfg else "",
            "admin": (cfg.admin or "") if cfg else "",  # a hand-written config may lack it
            "data_root": str(cfg.storage.data_root) if cfg else "",
            "backup_root": str(cfg.storage.backup_root or "") if cfg else "",
        }
        self.kept = {}  # the config file's values, shown: passed on as "keep" (None)
        for key, _label in FIELDS:
            value = getattr(defaults, key)
            if value is None:
                value = self.kept[key] = current[key]
            self.query_one(f"#{key}", Input).value = value
        self.query_one("#group", Input).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "plan":
            self.action_plan()
        else:
            self.action_back()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.focus_next()

    def action_plan(self) -> None:
        """Check the answers; plan the steps (dry runs) up to the first with work, in a worker."""
        values = {key: self.query_one(f"#{key}", Input).value.strip() for key, _l in FIELDS}
        # replace() on init's own Answers: every field is set, and no config module is
        # imported at menu start (features.setup.config_file pulls in pydantic, ~0.2 s).
        given = {k: None if self.kept.get(k) == v else v for k, v in values.items()}
        answers = replace(self.defaults, **given)
        self.call(_("planning the six steps"), self._plan, answers, then=self._show)

    def _plan(self, answers):
        context = self.features.prepare_setup(answers)
        steps = self.features.setup_steps(context)
        return context, steps, plan_until_work(self.features, context, [s.key for s in steps])

    def _show(self, planned) -> None:
        context, steps, reports = planned
        self.app.push_screen(SetupWizardScreen(context, steps, reports))


def plan_until_work(features, context, keys: list[str]) -> list:
    """Plan the steps one by one (dry runs) up to the first that would change something
    or fails: where the wizard resumes. The SetupReport of each, in order."""
    reports = []
    for key in keys:
        report = features.run_setup(context, dry_run=True, reporter=QuietReporter(), only=(key,))
        reports.append(report)
        if report.steps[0].status != StepStatus.UNCHANGED:
            break
    return reports
