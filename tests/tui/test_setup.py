"""Initial setup: answers, then every step's plan (a dry run), then apply and the results."""

from __future__ import annotations

import pytest

from datakeeper.errors import InvalidInputError
from datakeeper.features.site_config_file import Answers
from tests.tui.conftest import press, running, screen_text, type_text

pytestmark = pytest.mark.asyncio


async def _open_plan(pilot, *edits: str) -> None:
    await press(pilot, "1")
    for key in edits:
        await press(pilot, key)
    await press(pilot, "ctrl+s")


async def test_the_form_shows_init_defaults_and_the_answers_reach_prepare_config(features):
    async with running(features) as pilot:
        await press(pilot, "1")
        text = screen_text(pilot.app)
        assert "gpu-users" in text and "/data" in text and "/backup" in text
        await press(pilot, "ctrl+a", "ctrl+k")  # the group field has the focus: clear it
        await type_text(pilot, "lab")
        await press(pilot, "ctrl+s")
        [(args, _kw)] = features.called("prepare_setup")
        assert args[0] == Answers("lab", "admin", "/data", "/backup")


async def test_with_a_config_file_unchanged_answers_keep_what_the_file_says(features):
    features.config_exists = True
    async with running(features) as pilot:
        await press(pilot, "1")
        assert "gpu-users" in screen_text(pilot.app)  # the file's values are shown
        await press(pilot, "ctrl+s")
        assert features.called("prepare_setup")[0][0][0] == Answers()
        await press(pilot, "escape", "escape", "1", "ctrl+a", "ctrl+k")
        await type_text(pilot, "lab")
        await press(pilot, "ctrl+s")
        assert features.called("prepare_setup")[1][0][0] == Answers(group="lab")


async def test_each_step_shows_its_plan_before_anything_is_applied(features):
    async with running(features) as pilot:
        await _open_plan(pilot)
        assert [k["dry_run"] for _a, k in features.called("run_setup")] == [True]
        text = screen_text(pilot.app)
        assert "1/6 GROUP" in text and "Plan (nothing changed yet)" in text
        assert "→ create group gpu-users" in text
        await press(pilot, "down", "down")
        text = screen_text(pilot.app)
        assert "3/6 FOLDERS" in text and "already right" in text
        assert "1 already right: directory /data/models" in text


async def test_apply_runs_the_real_setup_once_and_shows_results_and_next_steps(features):
    async with running(features) as pilot:
        await _open_plan(pilot)
        await press(pilot, "a")
        assert [k["dry_run"] for _a, k in features.called("run_setup")] == [True, False]
        text = screen_text(pilot.app)
        assert "Setup complete." in text
        assert "log in again as admin (su - admin)" in text
        await press(pilot, "home")
        text = screen_text(pilot.app)
        assert "Result: done" in text and "✓ create group gpu-users" in text
        await press(pilot, "a")  # a second apply is refused: nothing runs twice
        assert len(features.called("run_setup")) == 2


async def test_a_failed_step_says_setup_is_incomplete_and_how_to_resume(features):
    original = features.run_setup

    def failing(context, *, dry_run, reporter):
        report = original(context, dry_run=dry_run, reporter=reporter)
        if not dry_run:
            report.steps[4].status, report.steps[4].errors = "failed", ["conda: download failed"]
        return report

    features.run_setup = failing
    async with running(features) as pilot:
        await _open_plan(pilot)
        await press(pilot, "a")
        text = screen_text(pilot.app)
        assert "Setup incomplete: ENV did not finish." in text
        assert "Fix what the failed step says" in text
        await press(pilot, "up", "up")
        assert "✗ conda: download failed" in screen_text(pilot.app)


async def test_refused_answers_are_shown_in_the_form_and_nothing_is_planned(features):
    features.fail["prepare_setup"] = InvalidInputError("admin: account bob does not exist")
    async with running(features) as pilot:
        await _open_plan(pilot)
        assert type(pilot.app.screen).__name__ == "SetupFormScreen"
        assert "Error: admin: account bob does not exist" in screen_text(pilot.app)
        assert features.called("run_setup") == []
