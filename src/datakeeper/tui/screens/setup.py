"""Initial setup as a wizard: four answers, then each step's plan, then apply and results."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widget import Widget
from textual.widgets import Button, Input, Label, OptionList, ProgressBar, Static
from textual.widgets.option_list import Option

from datakeeper.i18n import _
from datakeeper.tui.screens.base import FeatureScreen
from datakeeper.tui.widgets.textpanel import TextPanel

FIELDS = (
    ("group", _("Shared group")),
    ("admin", _("Admin account")),
    ("data_root", _("Data root (the persistent disk)")),
    ("backup_root", _("Backup root (empty: none)")),
)
MARKS = {"planned": "→", "changed": "✓", "unchanged": "✓", "failed": "✗", "not run": " "}
STATUS = {
    "planned": _("would change"),
    "changed": _("done"),
    "unchanged": _("already right"),
    "failed": _("FAILED"),
    "not run": _("not run"),
}


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

    def body(self) -> Iterable[Widget]:
        with VerticalScroll():
            yield Static(
                _(
                    "datakeeper writes the site config from these answers, then shows what "
                    "each of the six steps would change. Nothing changes before you apply."
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
        defaults = self.features.setup_defaults()
        cfg = self.config(missing_ok=True)
        current = {
            "group": cfg.group if cfg else "",
            "admin": cfg.admin if cfg else "",
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
        """Check the answers and plan every step (a dry run) in a worker."""
        from datakeeper.features.site_config_file import Answers

        values = {key: self.query_one(f"#{key}", Input).value.strip() for key, _l in FIELDS}
        answers = Answers(**{k: None if self.kept.get(k) == v else v for k, v in values.items()})
        self.call(_("planning the six steps"), self._plan, answers, then=self._show)

    def _plan(self, answers):
        context = self.features.prepare_setup(answers)
        report = self.features.run_setup(context, dry_run=True, reporter=QuietReporter())
        return context, report

    def _show(self, planned) -> None:
        context, report = planned
        self.app.push_screen(SetupScreen(context, report))


class SetupScreen(FeatureScreen):
    """The steps on the left; the plan (then the result) of the highlighted one on the right."""

    HEADING = _("Initial setup")
    BINDINGS: ClassVar[list[BindingType]] = [Binding("a", "apply", _("Apply all steps"))]
    DEFAULT_CSS = """
    SetupScreen #steps { width: 24; height: 1fr; }
    SetupScreen #main { height: 1fr; }
    SetupScreen ProgressBar { margin: 0 1; }
    """

    def __init__(self, context, plan) -> None:
        super().__init__()
        self.context = context
        self.plan = plan
        self.result = None  # the SetupReport once applied
        self.live: dict[int, object] = {}  # step index -> StepResult while applying

    def body(self) -> Iterable[Widget]:
        with Horizontal(id="main"):
            yield OptionList(id="steps")
            yield TextPanel(id="detail")
        yield ProgressBar(total=len(self.plan.steps), show_eta=False, id="progress")
        with Horizontal(classes="buttons"):
            yield Button(_("Apply all steps"), id="apply", variant="primary")
            yield Button(_("Back"), id="back")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#progress").display = False
        self._refresh_steps()
        steps = self.query_one("#steps", OptionList)
        steps.highlighted = 0
        steps.focus()

    # -- showing -----------------------------------------------------------------

    def _steps_now(self):
        if self.result is not None:
            return self.result.steps
        return [self.live.get(i, s) for i, s in enumerate(self.plan.steps)]

    def _refresh_steps(self) -> None:
        steps = self.query_one("#steps", OptionList)
        highlighted = steps.highlighted
        options = [
            Option(Text(f"{MARKS.get(s.status, '?')} {i}/{len(self.plan.steps)} {s.key}"))
            for i, s in enumerate(self._steps_now(), start=1)
        ]
        steps.clear_options()
        steps.add_options([*options, Option(Text("  " + _("Summary")))])
        steps.highlighted = highlighted if highlighted is not None else 0

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self._show_detail(event.option_index)

    def _show_detail(self, index: int) -> None:
        steps = self._steps_now()
        lines = self._summary() if index >= len(steps) else self._step_lines(index, steps[index])
        self.query_one("#detail", TextPanel).show(lines)

    def _step_lines(self, index: int, step) -> list[str]:
        applied = self.result is not None or index in self.live
        head = _("Result: {status}") if applied else _("Plan (nothing changed yet): {status}")
        lines = [f"{index + 1}/{len(self.plan.steps)} {step.key}: {step.title}", ""]
        lines.append(head.format(status=STATUS.get(step.status, step.status)))
        lines += [f"  {'✓' if applied else '→'} {c}" for c in step.changes]
        if step.unchanged:
            lines.append(
                "  · "
                + _("{n} already right: {what}").format(
                    n=len(step.unchanged), what=", ".join(step.unchanged)
                )
            )
        lines += ["  ✗ " + e for e in step.errors]
        lines += ["  " + _("note: {note}").format(note=n) for n in step.notes]
        return lines

    def _summary(self) -> list[str]:
        if self.result is None:
            planned = sum(len(s.changes) for s in self.plan.steps)
            return [
                _("{n} change(s) planned; nothing has changed yet.").format(n=planned),
                _("Press a (or the Apply button) to make them, step by step."),
            ]
        report = self.result
        failed = [s.key for s in report.steps if s.status in ("failed", "not run")]
        lines = (
            [_("Setup complete.")]
            if report.ok
            else [
                _("Setup incomplete: {steps} did not finish.").format(steps=", ".join(failed)),
                _(
                    "Fix what the failed step says and run the setup again: steps already done "
                    "stay done (every step is idempotent)."
                ),
            ]
        )
        if report.next_steps:
            lines += ["", _("Next steps:"), *[f"  - {item}" for item in report.next_steps]]
        return lines

    # -- applying ----------------------------------------------------------------------

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "apply":
            self.action_apply()
        else:
            self.action_back()

    def action_apply(self) -> None:
        """Apply every step for real, in a worker; each step's result as it finishes."""
        if self.result is not None:
            self.status.done(_("Already applied. Esc goes back; run the setup again to re-check."))
            return
        self.query_one("#progress").display = True
        self.query_one("#apply", Button).disabled = True
        reporter = _LiveReporter(self)
        self.call(
            _("applying the setup"),
            self.features.run_setup,
            self.context,
            dry_run=False,
            reporter=reporter,
            then=self._applied,
        )

    def _applied(self, report) -> None:
        self.result = report
        self._refresh_steps()
        steps = self.query_one("#steps", OptionList)
        steps.highlighted = len(report.steps)  # the summary
        self._show_detail(len(report.steps))
        self.status.done(_("Setup complete.") if report.ok else _("Setup incomplete."))

    def step_started(self, index: int, total: int) -> None:
        """A step begins: highlight it."""
        self.query_one("#steps", OptionList).highlighted = index - 1

    def step_finished(self, result) -> None:
        """A step is done: show its result and advance the bar."""
        index = next(i for i, s in enumerate(self.plan.steps) if s.key == result.key)
        self.live[index] = result
        self.query_one("#progress", ProgressBar).advance(1)
        self._refresh_steps()
        self._show_detail(index)


class _LiveReporter:
    """A SetupReporter that forwards progress from the worker to the screen."""

    def __init__(self, screen: SetupScreen) -> None:
        self.screen = screen

    def step_started(self, index, total, step) -> None:
        self.screen.from_thread(self.screen.step_started, index, total)

    def change(self, change, outcome) -> None: ...

    def unchanged(self, resource) -> None: ...

    def step_finished(self, result) -> None:
        self.screen.from_thread(self.screen.step_finished, result)
