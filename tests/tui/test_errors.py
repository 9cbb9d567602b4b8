"""Failures stay in the screen: typed errors as one line, anything else too, no traceback."""

from __future__ import annotations

import pytest

from datakeeper.errors import LockBusyError
from tests.tui.conftest import press, running, screen_text

pytestmark = pytest.mark.asyncio


async def test_an_unexpected_exception_is_a_line_in_the_screen(features):
    features.fail["list_users"] = RuntimeError("registry.json: unexpected shape")
    async with running(features) as pilot:
        await press(pilot, "7")
        text = screen_text(pilot.app)
        assert "Error: unexpected error: RuntimeError: registry.json: unexpected shape;" in text
        assert "details in" in text
        await press(pilot, "escape", "8")  # the app goes on
        assert "/data/models" in screen_text(pilot.app)
    assert pilot.app.return_code in (0, None)


async def test_an_error_no_screen_catches_ends_the_menu_with_one_line_and_a_log(
    features, crash_logs
):
    features.load_config = _raise_unforeseen  # called on the UI thread: nothing catches it
    with pytest.raises(RuntimeError, match="unforeseen"):  # pilot re-raises; a terminal does not
        async with running(features) as pilot:
            await press(pilot, "7")
    assert pilot.app.return_code == 1
    shown = pilot.app.crash_line  # run_menu prints it once the terminal is restored
    assert "\n" not in shown and pilot.app._exit_renderables == []  # no traceback
    assert shown.startswith("datakeeper: error: unexpected error: RuntimeError: unforeseen;")
    logs = list(crash_logs.glob("**/crash-*.log"))
    assert len(logs) == 1 and str(logs[0]) in shown
    assert "Traceback (most recent call last)" in logs[0].read_text()


def _raise_unforeseen(**_kwargs):
    raise RuntimeError("unforeseen")


async def test_a_missing_config_is_reported_where_it_is_needed(features):
    features.config_missing = True
    async with running(features) as pilot:
        await press(pilot, "7")
        assert "Error: /data/config/datakeeper.toml: missing; run the initial setup" in (
            screen_text(pilot.app)
        )
        assert features.called("list_users") == []
        await press(pilot, "escape", "1")  # the setup form works without a config
        assert "gpu-users" in screen_text(pilot.app)


async def test_another_admins_lock_is_an_error_line(features):
    features.fail["install_packages"] = LockBusyError("datakeeper (another admin's run) is busy")
    async with running(features) as pilot:
        await press(pilot, "5", "space", "i")
        assert "Error: datakeeper (another admin's run) is busy" in screen_text(pilot.app)


async def test_a_second_action_while_one_runs_is_refused_politely(features):
    import threading

    release = threading.Event()
    original = features.run_checks

    def slow(cfg):
        release.wait(5)
        return original(cfg)

    features.run_checks = slow
    async with running(features) as pilot:
        await pilot.press("2")
        await pilot.pause()
        await pilot.press("f")
        await pilot.pause()
        assert "still busy" in screen_text(pilot.app)
        release.set()
        await press(pilot)
        assert features.called("fix") == []


async def test_work_that_ends_while_the_menu_closes_is_dropped_quietly(features):
    """A worker's result reaching a screen whose widgets are already being removed
    (the menu is closing) is dropped: no error, and nothing left to show it on."""
    async with running(features) as pilot:
        screen = pilot.app.screen
        shown: list[str] = []
        await screen.query_one("#status").remove()
        screen._on_ui(lambda: shown.append(screen.status.id), ())
        assert shown == []
        assert not screen.query("#status")


async def test_leaving_while_work_runs_takes_a_second_esc_and_breaks_nothing(features):
    import threading

    release = threading.Event()
    original = features.disk_report

    def slow(cfg, *, listener):
        release.wait(5)
        return original(cfg, listener=listener)

    features.disk_report = slow
    async with running(features) as pilot:
        await pilot.press("8")
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        assert "Esc again leaves it running" in screen_text(pilot.app)
        assert type(pilot.app.screen).__name__ == "DiskScreen"
        await pilot.press("escape")
        await pilot.pause()
        assert type(pilot.app.screen).__name__ == "MenuScreen"
        release.set()
        await press(pilot)
        assert pilot.app.is_running and "Admin menu" in screen_text(pilot.app)
