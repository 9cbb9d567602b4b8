"""Initial setup: the answers, then one step at a time: its plan (a dry run), apply, result."""

from __future__ import annotations

import pytest

from datakeeper.config import parse_config
from datakeeper.errors import InvalidInputError
from datakeeper.features.setup.config_file import Answers
from tests.tui.conftest import press, running, runs, screen_text, type_text
from tests.tui.fakes import CONFIG

pytestmark = pytest.mark.asyncio


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


async def test_a_config_written_by_hand_without_admin_opens_the_form(features):
    features.config_exists = True
    features.cfg = parse_config('group = "gpu-users"\n', "by-hand.toml")
    async with running(features) as pilot:
        await press(pilot, "1")
        assert pilot.app.is_running and "gpu-users" in screen_text(pilot.app)
        assert type(pilot.app.screen).__name__ == "SetupFormScreen"
        await press(pilot, "tab")  # the admin field, empty: the admin types one
        await type_text(pilot, "ubuntu")
        await press(pilot, "ctrl+s")
        assert features.called("prepare_setup")[0][0][0] == Answers(admin="ubuntu")


async def test_the_first_step_shows_its_plan_and_nothing_is_applied_yet(features):
    async with running(features) as pilot:
        await press(pilot, "1", "ctrl+s")
        assert runs(features) == [(True, ("GROUP",))]
        text = screen_text(pilot.app)
        assert "1/6 GROUP: the shared group" in text
        assert "Plan (nothing changed yet): would change" in text
        assert "→ create group gpu-users" in text
        assert "a applies this step" in text


async def test_every_step_is_planned_before_it_is_applied_then_its_result_shown(features):
    async with running(features) as pilot:
        await press(pilot, "1", "ctrl+s", "a")
        text = screen_text(pilot.app)
        assert "Result: done" in text and "✓ create group gpu-users" in text
        assert "✓ 1/6 GROUP" in text
        await press(pilot, "n")
        assert "2/6 STORAGE" in screen_text(pilot.app)
        assert "→ chmod /data 3775" in screen_text(pilot.app)
        await press(pilot, "a", "n")
        text = screen_text(pilot.app)  # FOLDERS plans nothing: one key skips it
        assert "3/6 FOLDERS" in text and "Plan (nothing changed yet): already right" in text
        assert "1 already right: directory /data/models" in text
        await press(pilot, "a")  # nothing to apply: no call
        assert runs(features)[-1] == (True, ("FOLDERS",))
        await press(pilot, "n", "a", "n", "a", "n", "a", "n")
    assert runs(features) == [
        (True, ("GROUP",)),
        (False, ("GROUP",)),
        (True, ("STORAGE",)),
        (False, ("STORAGE",)),
        (True, ("FOLDERS",)),
        (True, ("ADMIN",)),
        (False, ("ADMIN",)),
        (True, ("ENV",)),
        (False, ("ENV",)),
        (True, ("SUDO",)),
        (False, ("SUDO",)),
    ]
    contexts = [args[0] for args, _kw in features.called("run_setup")]
    assert all(c is contexts[0] for c in contexts)  # the one prepare_setup made, every time
    assert contexts[0].config_text == CONFIG.encode()  # written by FOLDERS, as init does


async def test_the_end_shows_every_steps_status_and_the_next_steps(features):
    async with running(features) as pilot:
        await press(pilot, "1", "ctrl+s", "a", "n", "a", "n", "n", "a", "n", "a", "n", "a", "n")
        text = screen_text(pilot.app)
        assert "Setup complete." in text
        assert "✓ 1/6 GROUP    done" in text and "✓ 3/6 FOLDERS  already right" in text
        assert "Next steps:" in text and "log in again as admin (su - admin)" in text
        calls = len(runs(features))
        await press(pilot, "a", "n")  # finished: nothing runs again
        assert len(runs(features)) == calls
        assert "The setup is finished" in screen_text(pilot.app)


async def test_a_critical_step_with_a_plan_cannot_be_skipped(features):
    async with running(features) as pilot:
        await press(pilot, "1", "ctrl+s", "n")
        assert "Error: apply GROUP first: the steps after it need it" in screen_text(pilot.app)
        assert runs(features) == [(True, ("GROUP",))]


async def test_refused_answers_are_shown_in_the_form_and_nothing_is_planned(features):
    features.fail["prepare_setup"] = InvalidInputError("admin: account bob does not exist")
    async with running(features) as pilot:
        await press(pilot, "1", "ctrl+s")
        assert type(pilot.app.screen).__name__ == "SetupFormScreen"
        assert "Error: admin: account bob does not exist" in screen_text(pilot.app)
        assert features.called("run_setup") == []
