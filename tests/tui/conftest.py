"""Helpers for driving the TUI with Textual's pilot against recorded fake features."""

from __future__ import annotations

import io
from contextlib import asynccontextmanager

import pytest
from rich.console import Console

from datakeeper.tui.app import DatakeeperApp
from tests.tui.fakes import FakeFeatures

SIZE = (80, 24)


@pytest.fixture
def features() -> FakeFeatures:
    return FakeFeatures()


@asynccontextmanager
async def running(features, *, admin: bool = True, size=SIZE):
    """The app at ``size`` (80x24 by default), with its pilot."""
    app = DatakeeperApp(features, admin=admin)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        yield pilot


async def settle(pilot) -> None:
    """Wait until no worker runs and the screen has caught up (callbacks may start more)."""
    for _ in range(20):
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        if not any(w.is_running for w in pilot.app.workers):
            return


async def press(pilot, *keys: str) -> None:
    """Press ``keys`` one by one, letting each take effect."""
    for key in keys:
        await pilot.press(key)
        await settle(pilot)


async def type_text(pilot, text: str) -> None:
    """Type ``text`` into the focused widget."""
    await pilot.press(*[_key(c) for c in text])
    await settle(pilot)


def _key(char: str) -> str:
    names = {" ": "space", ";": "semicolon", "-": "minus", ".": "full_stop", "/": "slash"}
    return names.get(char, char)


def runs(features) -> list[tuple[bool, tuple[str, ...]]]:
    """(dry_run, only) of every run_setup call, in order."""
    return [(k["dry_run"], k["only"]) for _a, k in features.called("run_setup")]


def screen_text(app) -> str:
    """What the terminal shows now, as plain text (no colour, no styles)."""
    console = Console(
        width=app.size.width,
        height=app.size.height,
        file=io.StringIO(),
        record=True,
        color_system=None,
        legacy_windows=False,
    )
    # The one private access in these tests: Textual has no public API for the composited
    # screen as text (its public export_screenshot builds its SVG from this same call).
    render = app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    console.print(render)
    return console.export_text()
