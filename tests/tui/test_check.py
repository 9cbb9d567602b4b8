"""Configuration test: results grouped, FAIL lines open to their detail, fix after a plan."""

from __future__ import annotations

import pytest

from datakeeper.errors import ConfigError
from tests.tui.conftest import press, running, screen_text

pytestmark = pytest.mark.asyncio


async def test_results_are_grouped_with_a_summary_and_failed_groups_open(features):
    async with running(features) as pilot:
        await press(pilot, "2")
        text = screen_text(pilot.app)
        assert "FOLDERS: 2 items, 1 failed" in text
        assert "PASS  directory /data/models" in text
        assert "FAIL  directory /data/dataset" in text
        assert "PERSISTENT: 1 item, 0 failed" in text and "PASS  /data" not in text
        assert "3 passed, 1 failed, 1 skipped" in text


async def test_a_fail_line_expands_to_each_reason(features):
    async with running(features) as pilot:
        await press(pilot, "2")
        assert "mode 0755 -> 3775" not in screen_text(pilot.app)
        await press(pilot, "enter")
        text = screen_text(pilot.app)
        assert "mode 0755 -> 3775" in text and "group root -> gpu-users" in text


async def test_fix_shows_the_planned_changes_then_applies_them_and_checks_again(features):
    async with running(features) as pilot:
        await press(pilot, "2", "f")
        assert [k["dry_run"] for _a, k in features.called("fix")] == [True]
        assert "FOLDERS: chmod /data/dataset 3775" in screen_text(pilot.app)
        await press(pilot, "y")
        assert [k["dry_run"] for _a, k in features.called("fix")] == [True, False]
        text = screen_text(pilot.app)
        assert "3 passed, 0 failed, 1 skipped" in text
        assert "1 change applied; checked again." in text
        assert len(features.called("run_checks")) == 2


async def test_declining_the_fix_changes_nothing(features):
    async with running(features) as pilot:
        await press(pilot, "2", "f", "n")
        assert [k["dry_run"] for _a, k in features.called("fix")] == [True]
        assert "3 passed, 1 failed" in screen_text(pilot.app)


async def test_a_missing_config_is_an_error_in_the_screen(features):
    features.fail["run_checks"] = ConfigError("/data/config/datakeeper.toml: missing")
    async with running(features) as pilot:
        await press(pilot, "2")
        assert "Error: /data/config/datakeeper.toml: missing" in screen_text(pilot.app)
        assert pilot.app.is_running
