"""Printing the setup steps as they run (people) or once at the end (--json)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from datakeeper.cli.output import LinePrinter, emit
from datakeeper.i18n import _
from datakeeper.status import StepStatus, change_line, error_line, note_line, unchanged_line

if TYPE_CHECKING:
    from datakeeper.engine import Change, Resource
    from datakeeper.features.setup.init import SetupReport, StepResult
    from datakeeper.features.setup.steps import Step


class SetupPrinter(LinePrinter):
    """A ``SetupReporter`` that prints each step, change and note for people (nothing
    with ``--json``)."""

    def __init__(self, json_output: bool) -> None:
        super().__init__(quiet=json_output)

    def step_started(self, index: int, total: int, step: Step) -> None:
        self._print(f"[{index}/{total}] {step.key}: {step.title}")

    def change(self, change: Change, outcome: str) -> None:
        self._print(change_line(change.summary, outcome))

    def unchanged(self, resource: Resource) -> None:
        self._print(unchanged_line(resource.id))

    def step_finished(self, result: StepResult) -> None:
        for error in result.errors:
            self._print(error_line(error))
        for note in result.notes:
            self._print(note_line(note))
        self._print("  => " + StepStatus(result.status).word)
        self._flush()


def finish(report: SetupReport, json_output: bool) -> None:
    """The closing summary: failures, then the admin's next steps."""

    def render(console) -> None:
        if report.ok:
            console.print(_("Setup complete."), markup=False)
        else:
            unfinished = (StepStatus.FAILED, StepStatus.NOT_RUN)
            failed = [s.key for s in report.steps if s.status in unfinished]
            console.print(
                _("Setup incomplete: {steps} did not finish (see above).").format(
                    steps=", ".join(failed)
                ),
                markup=False,
            )
        if report.next_steps:
            console.print(_("Next steps:"), markup=False)
            for item in report.next_steps:
                console.print(f"  - {item}", markup=False)

    emit(report.as_dict(), json_output=json_output, render=render)
