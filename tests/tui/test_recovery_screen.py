"""Auto-recovery: status, enable, disable (asked first), run now with its output."""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import replace

import pytest
from textual.widgets import ProgressBar

from datakeeper.progress import tracked
from tests.tui.conftest import press, running, screen_text

pytestmark = pytest.mark.asyncio


async def test_status_is_shown_on_entry(features):
    async with running(features) as pilot:
        await press(pilot, "6")
        text = screen_text(pilot.app)
        assert "Boot recovery: not enabled; systemd not running" in text
        assert "Last recovery: never" in text and "recover --boot" in text


async def test_a_long_hook_line_is_shown_whole_on_one_line_and_c_copies_it(features):
    guard = "'import guard; guard.check()' " * 4
    features.hook = f"/usr/bin/python3 -I -c {guard}recover --boot"
    async with running(features) as pilot:
        await press(pilot, "6")
        shown = str(pilot.app.screen.query_one("#hook").render())
        assert features.hook in shown.splitlines()  # one line, never wrapped
        await press(pilot, "c")
        assert pilot.app.clipboard == features.hook
        assert "hook line copied" in screen_text(pilot.app)


async def test_enable_shows_what_it_did_and_the_new_status(features):
    async with running(features) as pilot:
        await press(pilot, "6", "e")
        assert len(features.called("recovery_enable")) == 1
        text = screen_text(pilot.app)
        assert "✓ create /etc/profile.d/00-recovery-check.sh" in text
        assert "run the hook line at boot" in text
        assert "Boot recovery: enabled" in text and "1 change applied." in text


async def test_disable_asks_first(features):
    async with running(features) as pilot:
        await press(pilot, "6", "d")
        assert "Disable boot recovery?" in screen_text(pilot.app)
        await press(pilot, "n")
        assert features.called("recovery_disable") == []
        await press(pilot, "d", "y")
        assert len(features.called("recovery_disable")) == 1


async def test_run_now_shows_each_step_and_the_summary(features):
    async with running(features) as pilot:
        await press(pilot, "6", "r")
        assert len(features.called("recover")) == 1
        text = screen_text(pilot.app)
        assert "USER bob: done" in text and "✓ create user bob" in text
        assert "USER carol: FAILED" in text and "✗ uid 1003 is taken" in text
        assert "1 user recovered, 0 already right, 1 skipped" in text


async def test_long_work_shows_a_progress_bar_while_it_runs(features):
    release, halfway = threading.Event(), threading.Event()
    original = features.recover

    def slow_recover(cfg, *, reporter):
        with tracked("recovering", 4, "steps") as progress:
            progress.advance(2)
            time.sleep(0.15)  # the bar redraws at most every 0.1 s
            progress.advance(0)
            halfway.set()
            release.wait(5)
            progress.advance(2)
        return original(cfg, reporter=reporter)

    features.recover = slow_recover
    async with running(features) as pilot:
        await press(pilot, "6")
        await pilot.press("r")
        await asyncio.to_thread(halfway.wait, 5)
        await pilot.pause(0.3)
        bar = pilot.app.screen.query_one("#work-progress", ProgressBar)
        assert bar.display and bar.total == 4 and bar.progress == 2
        assert "Working: recovering" in screen_text(pilot.app)
        release.set()
        for _ in range(50):  # the worker ends, then its last messages reach the screen
            await pilot.pause(0.1)
            if not bar.display and "1 user recovered" in screen_text(pilot.app):
                break
        assert not bar.display
        assert "1 user recovered" in screen_text(pilot.app)


async def test_a_storage_warning_of_the_status_is_shown(features):
    original = features.recovery_status

    def with_warning(cfg):
        return replace(original(cfg), warnings=["/backup is not mounted; recovery goes on"])

    features.recovery_status = with_warning
    async with running(features) as pilot:
        await press(pilot, "6")
        assert "Warning: /backup is not mounted; recovery goes on" in screen_text(pilot.app)
