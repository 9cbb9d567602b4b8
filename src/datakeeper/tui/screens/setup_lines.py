"""What the setup wizard shows, as lines of plain text (no colour needed to read it)."""

from __future__ import annotations

from datakeeper.i18n import _
from datakeeper.status import (
    UNCHANGED_MARK,
    ChangeOutcome,
    StepStatus,
    change_line,
    error_line,
    note_line,
)


def step_lines(phase: str, result, state: StepStatus) -> list[str]:
    """A step's plan (``phase`` "plan" or "skipped") or its result ("result")."""
    applied = phase == "result"
    head = _("Result: {status}") if applied else _("Plan (nothing changed yet): {status}")
    lines = [head.format(status=StepStatus(state).word)]
    outcome = ChangeOutcome.APPLIED if applied else ChangeOutcome.PLANNED
    lines += [change_line(c, outcome) for c in result.changes]
    if result.unchanged:
        what = ", ".join(result.unchanged)
        lines.append(
            f"  {UNCHANGED_MARK} "
            + _("{n} already right: {what}").format(n=len(result.unchanged), what=what)
        )
    lines += [error_line(e) for e in result.errors]
    lines += [note_line(n) for n in result.notes]
    return lines


def hint(step, phase: str, result, *, stopped: bool) -> str:
    """What the keys do now, for the current step."""
    if stopped:
        return _(
            "Setup stopped: the steps after {key} need it. Fix what it says and run the "
            "setup again; steps already done stay done."
        ).format(key=step.key)
    if phase == "plan" and result.status == StepStatus.PLANNED:
        if step.critical:
            return _("a applies this step (the steps after it need it).")
        return _("a applies this step; n skips it.")
    if phase == "plan" and result.status == StepStatus.UNCHANGED:
        return _("Already right: nothing to change. n goes to the next step.")
    if phase == "plan" and result.status == StepStatus.FAILED and not step.critical:
        return _("Its plan failed; n skips it.")
    return _("n goes to the next step.")


def summary_lines(
    head: str, states: list[tuple[str, StepStatus]], next_steps: list[str]
) -> list[str]:
    """``head``, then every step's (key, state), then the next steps (if any)."""
    total = len(states)
    lines = [head, ""]
    for i, (key, state) in enumerate(states, start=1):
        state = StepStatus(state)
        lines.append(f"{state.mark} {i}/{total} {key:<8} {state.word}")
    if next_steps:
        lines += ["", _("Next steps:"), *[f"  - {item}" for item in next_steps]]
    return lines
