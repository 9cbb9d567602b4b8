"""The setup wizard: resuming a partial setup, failed steps, errors of the feature."""

from __future__ import annotations

import pytest

from datakeeper.errors import LockBusyError
from tests.tui.conftest import press, running, runs, screen_text

pytestmark = pytest.mark.asyncio


async def test_a_partly_set_up_server_resumes_at_the_first_step_with_a_plan(features):
    features.setup_done = {"GROUP", "STORAGE"}
    async with running(features) as pilot:
        await press(pilot, "1", "ctrl+s")
        assert runs(features) == [
            (True, ("GROUP",)),
            (True, ("STORAGE",)),
            (True, ("FOLDERS",)),
            (True, ("ADMIN",)),
        ]
        text = screen_text(pilot.app)
        assert "✓ 1/6 GROUP" in text and "✓ 2/6 STORAGE" in text and "✓ 3/6 FOLDERS" in text
        assert "→ 4/6 ADMIN" in text and "→ add admin to gpu-users" in text
        await press(pilot, "a")
        assert runs(features)[-1] == (False, ("ADMIN",))
        await press(pilot, "up")  # the steps before are shown as done
        assert "Plan (nothing changed yet): already right" in screen_text(pilot.app)


async def test_a_server_set_up_already_shows_the_summary_at_once(features):
    features.setup_done = {"GROUP", "STORAGE", "ADMIN", "ENV", "SUDO"}
    async with running(features) as pilot:
        await press(pilot, "1", "ctrl+s")
        assert len(runs(features)) == 6 and all(dry for dry, _o in runs(features))
        text = screen_text(pilot.app)
        assert "Setup complete." in text and "✓ 6/6 SUDO     already right" in text
        assert "Every step is already right" in text


async def test_a_failed_critical_step_stops_the_wizard_with_its_error(features):
    features.setup_errors["STORAGE"] = "chmod /data: read-only file system"
    async with running(features) as pilot:
        await press(pilot, "1", "ctrl+s", "a", "n", "a")
        text = screen_text(pilot.app)
        assert "✗ 2/6 STORAGE" in text and "Result: FAILED" in text
        assert "✗ chmod /data: read-only file system" in text
        assert "Setup stopped" in text
        await press(pilot, "n", "a")
        assert "Error: STORAGE failed; fix it and run the setup again" in screen_text(pilot.app)
        assert runs(features)[-1] == (False, ("STORAGE",))  # nothing after it ran
        await press(pilot, "end")
        text = screen_text(pilot.app)
        assert "Setup stopped at STORAGE." in text and "  4/6 ADMIN    not run" in text


async def test_a_failed_plan_of_a_critical_step_stops_it_too(features):
    features.plan_errors["GROUP"] = "gid 1500 is taken by lab"
    async with running(features) as pilot:
        await press(pilot, "1", "ctrl+s")
        text = screen_text(pilot.app)
        assert "✗ gid 1500 is taken by lab" in text and "Setup stopped" in text
        await press(pilot, "a", "n")
        assert runs(features) == [(True, ("GROUP",))]


async def test_env_and_sudo_failures_are_shown_and_the_wizard_goes_on(features):
    features.setup_errors["ENV"] = "conda: download failed"
    async with running(features) as pilot:
        await press(pilot, "1", "ctrl+s", "a", "n", "a", "n", "n", "a", "n", "a")
        text = screen_text(pilot.app)
        assert "✗ conda: download failed" in text and "ENV failed" in text
        await press(pilot, "n")
        assert "6/6 SUDO" in screen_text(pilot.app)
        await press(pilot, "n")  # a non-critical plan can be skipped
        text = screen_text(pilot.app)
        assert "Setup incomplete: ENV, SUDO not done." in text
        assert "✗ 5/6 ENV      FAILED" in text and "- 6/6 SUDO     skipped" in text
        assert (False, ("SUDO",)) not in runs(features)


async def test_an_error_of_the_feature_is_shown_and_the_step_can_be_tried_again(features):
    async with running(features) as pilot:
        await press(pilot, "1", "ctrl+s")
        features.fail["run_setup"] = LockBusyError("datakeeper (another admin's run) is busy")
        await press(pilot, "a")
        assert "Error: datakeeper (another admin's run) is busy" in screen_text(pilot.app)
        del features.fail["run_setup"]
        await press(pilot, "a")
        assert "Result: done" in screen_text(pilot.app)
        assert runs(features)[-2:] == [(False, ("GROUP",)), (False, ("GROUP",))]


async def test_a_failed_plan_of_env_or_sudo_can_be_skipped(features):
    features.plan_errors["SUDO"] = "visudo: not found"
    async with running(features) as pilot:
        await press(pilot, "1", "ctrl+s", "a", "n", "a", "n", "n", "a", "n", "a", "n")
        assert "Its plan failed; n skips it." in screen_text(pilot.app)
        await press(pilot, "a", "n")  # nothing to apply; n skips it
        text = screen_text(pilot.app)
        assert "Setup incomplete: SUDO not done." in text and "✗ 6/6 SUDO     FAILED" in text
        assert (False, ("SUDO",)) not in runs(features)
