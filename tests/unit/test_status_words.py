"""The status words and marks, written once (``datakeeper.status``): the CLI and the menu
show the same, and ``--json`` keeps its plain values."""

from __future__ import annotations

import json

import pytest

from datakeeper.cli.common import change_printer
from datakeeper.cli.setup_output import SetupPrinter, finish
from datakeeper.engine import Change
from datakeeper.features.check.result import FAIL, PASS, SKIP, CheckReport, CheckResult
from datakeeper.features.setup.init import SetupReport, StepResult
from datakeeper.status import CheckStatus, StepStatus, change_line, yes_no
from datakeeper.tui.screens.setup_lines import step_lines, summary_lines


def _report() -> SetupReport:
    return SetupReport(
        [
            StepResult("GROUP", "the shared group", StepStatus.CHANGED, ["create group lab"]),
            StepResult("SUDO", "the sudo policy", StepStatus.FAILED, errors=["visudo: bad"]),
            StepResult("ENV", "environment"),
        ],
        ["log in again"],
    )


def test_json_keeps_the_plain_status_values():
    checks = CheckReport([CheckResult("GROUP", "group lab", PASS), CheckResult("X", "y", SKIP)])
    assert json.loads(json.dumps(checks.as_dict()))["results"][0]["status"] == "PASS"
    steps = json.loads(json.dumps(_report().as_dict(), default=str))["steps"]
    assert [s["status"] for s in steps] == ["changed", "failed", "not run"]


def test_a_status_prints_as_its_word_and_equals_the_old_string():
    assert f"{FAIL}  {CheckStatus.PASS:<6}|" == "FAIL  PASS  |"
    assert StepStatus.NOT_RUN == "not run" and StepStatus("planned") is StepStatus.PLANNED
    assert [s.word for s in StepStatus] == [
        "already right",
        "done",
        "would change",
        "FAILED",
        "skipped",
        "not run",
    ]


def test_init_prints_each_change_step_and_summary(capsys):
    printer = SetupPrinter(json_output=False)
    printer.change(Change("group lab", "create group lab", lambda: None), "planned")
    printer.change(Change("group lab", "create group lab", lambda: None), "applied")
    printer.step_finished(_report().steps[1])
    finish(_report(), json_output=False)
    assert capsys.readouterr().out.splitlines() == [
        "  → create group lab",
        "  ✓ create group lab",
        "  ✗ visudo: bad",
        "  => FAILED",
        "Setup incomplete: SUDO, ENV did not finish (see above).",
        "Next steps:",
        "  - log in again",
    ]


def test_the_menu_shows_the_same_marks_and_words_as_init():
    planned = StepResult("GROUP", "g", StepStatus.PLANNED, ["create group lab"], ["dir /data"])
    assert step_lines("plan", planned, StepStatus.PLANNED) == [
        "Plan (nothing changed yet): would change",
        "  → create group lab",
        "  · 1 already right: dir /data",
    ]
    states = [(s.key, s.status) for s in _report().steps]
    assert summary_lines("Setup incomplete.", states, [])[2:] == [
        "✓ 1/3 GROUP    done",
        "✗ 2/3 SUDO     FAILED",
        "  3/3 ENV      not run",
    ]


@pytest.mark.parametrize(
    ("outcome", "line"),
    [("planned", "  would chmod /data 3775"), ("applied", "  ✓ chmod /data 3775")],
)
def test_commands_that_print_each_change_say_would_for_a_plan(capsys, outcome, line):
    show = change_printer(json_output=False)
    show(Change("dir /data", "chmod /data 3775", lambda: None), outcome)
    assert capsys.readouterr().out == line + "\n"
    assert change_line("chmod /data 3775", "failed") == "  ✗ chmod /data 3775"


def test_yes_no_marks():
    assert (yes_no(True), yes_no(False), yes_no(None)) == ("✓", "✗", "-")
