"""The menus: numbered entries open their screens, Esc comes back, q quits."""

from __future__ import annotations

import pytest

from datakeeper.tui.screens.menu import MenuScreen
from tests.tui.conftest import press, running, screen_text

pytestmark = pytest.mark.asyncio

ADMIN_ENTRIES = [
    ("1", "SetupFormScreen"),
    ("2", "CheckScreen"),
    ("3", "UserAddScreen"),
    ("4", "UsersScreen"),
    ("5", "PackagesScreen"),
    ("6", "RecoveryScreen"),
    ("7", "UsersScreen"),
    ("8", "DiskScreen"),
    ("9", "CachesScreen"),
]
USER_ENTRIES = [
    ("1", "EnvScreen"),
    ("2", "DiskScreen"),
    ("3", "SharedCleanScreen"),
    ("4", "GuideScreen"),
    ("5", "GuideScreen"),
]


async def test_root_gets_the_admin_menu_with_the_original_six_entries_first(features):
    async with running(features, admin=True) as pilot:
        text = screen_text(pilot.app)
        assert "Admin menu" in text
        for number, label in enumerate(
            [
                "Initial setup",
                "Configuration test",
                "Add user",
                "Delete user",
                "Global packages",
                "Auto-recovery",
                "Users",
                "Disk usage",
                "Caches",
            ],
            start=1,
        ):
            assert f"{number}  {label}" in text


async def test_a_normal_user_gets_the_user_menu(features):
    async with running(features, admin=False) as pilot:
        text = screen_text(pilot.app)
        assert "User menu" in text and "Add user" not in text
        for label in ("Environment info", "Disk usage", "Cache cleanup", "Conda guide", "Help"):
            assert label in text


@pytest.mark.parametrize(("admin", "entries"), [(True, ADMIN_ENTRIES), (False, USER_ENTRIES)])
async def test_each_number_opens_its_screen_and_esc_comes_back(features, admin, entries):
    async with running(features, admin=admin) as pilot:
        for key, screen in entries:
            await press(pilot, key)
            assert type(pilot.app.screen).__name__ == screen
            await press(pilot, "escape")
            assert isinstance(pilot.app.screen, MenuScreen)


async def test_arrows_and_enter_open_the_highlighted_entry(features):
    async with running(features) as pilot:
        await press(pilot, "down", "down", "enter")
        assert type(pilot.app.screen).__name__ == "UserAddScreen"


async def test_the_hint_follows_the_highlighted_entry(features):
    async with running(features) as pilot:
        await press(pilot, "down", "down", "down", "down", "down")
        assert "Recovery at boot" in screen_text(pilot.app)


async def test_q_quits_and_esc_on_the_menu_does_not(features):
    async with running(features) as pilot:
        await press(pilot, "escape")
        assert pilot.app.is_running and isinstance(pilot.app.screen, MenuScreen)
        await pilot.press("q")
        await pilot.pause()
        assert not pilot.app.is_running
