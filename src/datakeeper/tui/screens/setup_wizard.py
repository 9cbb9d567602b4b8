"""The setup wizard: one step at a time, its plan (a dry run), apply, its result; a summary.

Every call is ``run_setup(context, only=(KEY,))`` with the same context, so the
config file is written by the FOLDERS step exactly as ``datakeeper init`` writes it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import Button, OptionList
from textual.widgets.option_list import Option

from datakeeper.i18n import _
from datakeeper.status import ChangeOutcome, StepStatus, change_line
from datakeeper.tui.screens.base import FeatureScreen
from datakeeper.tui.screens.setup_lines import hint, step_lines, summary_lines
from datakeeper.tui.widgets.textpanel import TextPanel


class SetupWizardScreen(FeatureScreen):
    """The steps on the left (the current one marked); the plan or result on the right.

    ``reports`` are the dry runs already made (one step each): the last one is the
    current step, the ones before it planned nothing (done already: resumed).
    """

    HEADING = _("Initial setup")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "apply", _("Apply this step")),
        Binding("n", "next", _("Next step")),
    ]
    DEFAULT_CSS = """
    SetupWizardScreen #steps { width: 24; height: 1fr; }
    SetupWizardScreen #main { height: 1fr; }
    """

    def __init__(self, context, steps, reports) -> None:
        super().__init__()
        self.context = context
        self.steps = list(steps)  # the feature's Steps: key, title, critical
        self.shown: dict[str, tuple[str, object]] = {}  # key -> (plan|result|skipped, StepResult)
        self.next_steps: list[str] = []
        self.current = 0
        self.stopped = False  # a critical step failed
        for report in reports:
            self._keep(report, "plan")
        done = (
            bool(reports) and reports[-1].steps[0].status == StepStatus.UNCHANGED
        )  # all already right
        self.current = len(reports) if done else max(len(reports) - 1, 0)

    def body(self) -> Iterable[Widget]:
        with Horizontal(id="main"):
            yield OptionList(id="steps")
            yield TextPanel(id="detail")
        with Horizontal(classes="buttons"):
            yield Button(_("Apply this step"), id="apply", variant="primary")
            yield Button(_("Next step"), id="next")
            yield Button(_("Back"), id="back")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#steps", OptionList).focus()
        if self.finished:
            self.status.done(_("Every step is already right: nothing to change."))
        elif self._current()[1] is not None:
            self._after_plan(self._current()[1])
        self._refresh()

    # -- state ---------------------------------------------------------------------

    def _keep(self, report, phase: str) -> None:
        result = report.steps[0]
        self.shown[result.key] = (phase, result)
        new = [item for item in report.next_steps if item not in self.next_steps]
        self.next_steps[:0] = new  # what an apply adds (log in again) comes first, as in init

    def _state(self, key: str) -> StepStatus:
        phase, result = self.shown.get(key, ("", None))
        if result is None:
            return StepStatus.NOT_RUN
        return StepStatus.SKIPPED if phase == "skipped" else StepStatus(result.status)

    @property
    def finished(self) -> bool:
        return self.current >= len(self.steps)

    # -- showing -----------------------------------------------------------------------

    def _refresh(self) -> None:
        """Redraw the step list and show the current step (or the summary at the end)."""
        total = len(self.steps)
        options = [
            Option(Text(f"{self._state(s.key).mark} {i}/{total} {s.key}"))
            for i, s in enumerate(self.steps, start=1)
        ]
        steps = self.query_one("#steps", OptionList)
        steps.clear_options()
        steps.add_options([*options, Option(Text("  " + _("Summary")))])
        steps.highlighted = min(self.current, total)
        self._show_detail(min(self.current, total))
        phase, result = ("", None) if self.finished else self._current()
        planned = phase == "plan" and result is not None and result.status == StepStatus.PLANNED
        self.query_one("#apply", Button).disabled = self.stopped or not planned
        self.query_one("#next", Button).disabled = self.stopped or self.finished

    def _current(self) -> tuple[str, object]:
        """The current step's (phase, StepResult); ("", None) before its plan came."""
        return self.shown.get(self.steps[self.current].key, ("", None))

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self._show_detail(event.option_index)

    def _show_detail(self, index: int) -> None:
        lines = self._summary() if index >= len(self.steps) else self._step_lines(index)
        self.query_one("#detail", TextPanel).show(lines)

    def _step_lines(self, index: int) -> list[str]:
        step = self.steps[index]
        lines = [f"{index + 1}/{len(self.steps)} {step.key}: {step.title}", ""]
        phase, result = self.shown.get(step.key, ("", None))
        if result is None:
            return [*lines, _("Not reached yet.")]
        lines += step_lines(phase, result, self._state(step.key))
        if index == self.current:
            lines += ["", hint(step, phase, result, stopped=self.stopped)]
        return lines

    def _summary(self) -> list[str]:
        states = [(s.key, self._state(s.key)) for s in self.steps]
        undone = [key for key, state in states if not state.finished]
        if self.stopped:
            head = _("Setup stopped at {key}.").format(key=self.steps[self.current].key)
        elif not self.finished:
            head = _("In progress: step {n}/{total}.").format(
                n=self.current + 1, total=len(self.steps)
            )
        elif undone:
            head = _("Setup incomplete: {steps} not done.").format(steps=", ".join(undone))
        else:
            head = _("Setup complete.")
        return summary_lines(head, states, self.next_steps if self.finished else [])

    # -- going on --------------------------------------------------------------------------

    def on_button_pressed(self, event: Button.Pressed) -> None:
        actions = {"apply": self.action_apply, "next": self.action_next}
        actions.get(event.button.id or "", self.action_back)()

    def _blocked(self) -> bool:
        """Nothing to do now (working, stopped, or finished): say so."""
        if self.working:
            self.status.busy(_("still busy; wait for it to finish"))
            return True
        if self.stopped:
            key = self.steps[self.current].key
            self.status.error(_("{key} failed; fix it and run the setup again").format(key=key))
        elif self.finished:
            self.status.done(_("The setup is finished. Esc goes back."))
        return self.stopped or self.finished

    def action_apply(self) -> None:
        """Apply the current step for real (only that step), in a worker."""
        if self._blocked():
            return
        step = self.steps[self.current]
        phase, result = self._current()
        if result is None:
            self._plan_current()  # its plan failed to come: ask again
        elif phase == "plan" and result.status == StepStatus.PLANNED:
            self.call(
                _("applying {key}: {title}").format(key=step.key, title=step.title),
                self.features.run_setup,
                self.context,
                dry_run=False,
                reporter=_LiveReporter(self),
                only=(step.key,),
                then=self._applied,
            )
        else:
            self.status.done(_("Nothing to apply here. n goes to the next step."))

    def _applied(self, report) -> None:
        self._keep(report, "result")
        result = report.steps[0]
        step = self.steps[self.current]
        self.stopped = result.status == StepStatus.FAILED and step.critical
        self._refresh()
        if result.status == StepStatus.FAILED:
            message = _("{key} failed; its errors are shown").format(key=step.key)
            self.status.error(message if self.stopped else message + _("; n goes on"))
        else:
            self.status.done(
                _("{key}: {status}.").format(key=step.key, status=StepStatus(result.status).word)
            )

    def action_next(self) -> None:
        """Go to the next step (skipping the current one only where that is allowed)."""
        if self._blocked():
            return
        step = self.steps[self.current]
        phase, result = self._current()
        if result is None:
            self._plan_current()
            return
        if phase == "plan" and result.status != StepStatus.UNCHANGED:
            if step.critical:
                self.status.error(
                    _("apply {key} first: the steps after it need it").format(key=step.key)
                )
                return
            if result.status == StepStatus.PLANNED:  # a failed plan stays shown as failed
                self.shown[step.key] = ("skipped", result)
        self.current += 1
        if self.finished:
            self._refresh()
            self.status.done(_("Setup finished: the summary and next steps are shown."))
        else:
            self._plan_current()

    def _plan_current(self) -> None:
        step = self.steps[self.current]
        self._refresh()
        self.call(
            _("planning {key}: {title}").format(key=step.key, title=step.title),
            self.features.run_setup,
            self.context,
            dry_run=True,
            reporter=_LiveReporter(self),
            only=(step.key,),
            then=self._planned,
        )

    def _planned(self, report) -> None:
        self._keep(report, "plan")
        self._after_plan(report.steps[0])
        self._refresh()

    def _after_plan(self, result) -> None:
        """A plan that failed for a critical step stops the wizard."""
        step = self.steps[self.current]
        if result.status == StepStatus.FAILED:
            self.stopped = step.critical
            message = _("planning {key} failed; its errors are shown").format(key=step.key)
            self.status.error(message if self.stopped else message + _("; n skips it"))

    def show_progress(self, summary: str, outcome: str) -> None:
        """A change was made, or failed (from the worker): say which."""
        self.status.busy(change_line(summary, outcome).strip())


class _LiveReporter:
    """A SetupReporter that shows each change made in the status line (plans: nothing)."""

    def __init__(self, screen: SetupWizardScreen) -> None:
        self.screen = screen

    def step_started(self, index, total, step) -> None: ...

    def change(self, change, outcome) -> None:
        if outcome != ChangeOutcome.PLANNED:
            self.screen.from_thread(self.screen.show_progress, change.summary, outcome)

    def unchanged(self, resource) -> None: ...

    def step_finished(self, result) -> None: ...
