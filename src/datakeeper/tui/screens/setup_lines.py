"""What the setup wizard shows, as lines of plain text (no colour needed to read it)."""

from __future__ import annotations

from datakeeper.i18n import _

MARKS = {
    "planned": "→",
    "changed": "✓",
    "unchanged": "✓",
    "failed": "✗",
    "skipped": "-",
    "not run": " ",
}
STATUS = {
    "planned": _("would change"),
    "changed": _("done"),
    "unchanged": _("already right"),
    "failed": _("FAILED"),
    "skipped": _("skipped"),
    "not run": _("not run"),
}


def step_lines(phase: str, result, state: str) -> list[str]:
    """A step's plan (``phase`` "plan" or "skipped") or its result ("result")."""
    applied = phase == "result"
    head = _("Result: {status}") if applied else _("Plan (nothing changed yet): {status}")
    lines = [head.format(status=STATUS[state])]
    lines += [f"  {'✓' if applied else '→'} {c}" for c in result.changes]
    if result.unchanged:
        what = ", ".join(result.unchanged)
        lines.append(
            "  · " + _("{n} already right: {what}").format(n=len(result.unchanged), what=what)
        )
    lines += ["  ✗ " + e for e in result.errors]
    lines += ["  " + _("note: {note}").format(note=n) for n in result.notes]
    return lines


def hint(step, phase: str, result, *, stopped: bool) -> str:
    """What the keys do now, for the current step."""
    if stopped:
        return _(
            "Setup stopped: the steps after {key} need it. Fix what it says and run the "
            "setup again; steps already done stay done."
        ).format(key=step.key)
    if phase == "plan" and result.status == "planned":
        if step.critical:
            return _("a applies this step (the steps after it need it).")
        return _("a applies this step; n skips it.")
    if phase == "plan" and result.status == "unchanged":
        return _("Already right: nothing to change. n goes to the next step.")
    if phase == "plan" and result.status == "failed" and not step.critical:
        return _("Its plan failed; n skips it.")
    return _("n goes to the next step.")


def summary_lines(head: str, states: list[tuple[str, str]], next_steps: list[str]) -> list[str]:
    """``head``, then every step's (key, state), then the next steps (if any)."""
    total = len(states)
    lines = [head, ""]
    for i, (key, state) in enumerate(states, start=1):
        lines.append(f"{MARKS[state]} {i}/{total} {key:<8} {STATUS[state]}")
    if next_steps:
        lines += ["", _("Next steps:"), *[f"  - {item}" for item in next_steps]]
    return lines
