"""Global packages: tick, install with progress, a result line per package."""

from __future__ import annotations

import pytest

from tests.tui.conftest import press, running, screen_text

pytestmark = pytest.mark.asyncio


async def test_the_checklist_shows_every_catalogue_entry_and_the_wipe_note(features):
    async with running(features) as pilot:
        await press(pilot, "5")
        text = screen_text(pilot.app)
        assert "wiped at every reboot" in text
        assert "[ ] bat" in text and "[ ] jq       installed" in text


async def test_install_runs_the_ticked_packages_and_shows_each_result(features):
    async with running(features) as pilot:
        await press(pilot, "5", "down", "down", "down", "space")  # fzf
        await press(pilot, "down", "down", "down", "down", "down", "space")  # nvtop
        assert "[x] fzf" in screen_text(pilot.app)
        await press(pilot, "i")
        [(args, kwargs)] = features.called("install_packages")
        assert args[1] == ["fzf", "nvtop"] and kwargs == {"dry_run": False}
        text = screen_text(pilot.app)
        assert "[1/2] fzf (apt fzf)" in text
        assert "✓ fzf: installed" in text
        assert "✗ nvtop: failed: apt-get install nvtop failed" in text
        assert "1 package in place, 1 failed: nvtop" in text
        assert len(features.called("package_status")) == 2  # the list was read again
        assert "[x] nvtop    not installed" in text


async def test_show_plan_is_a_dry_run(features):
    async with running(features) as pilot:
        await press(pilot, "5", "space", "p")
        [(args, kwargs)] = features.called("install_packages")
        assert args[1] == ["bat"] and kwargs == {"dry_run": True}
        text = screen_text(pilot.app)
        assert "→ bat: would install" in text and "Plan only: nothing was installed." in text


async def test_installing_nothing_is_refused_with_a_hint(features):
    async with running(features) as pilot:
        await press(pilot, "5", "i")
        assert features.called("install_packages") == []
        assert "Error: nothing is ticked: move to a package and press space" in screen_text(
            pilot.app
        )
