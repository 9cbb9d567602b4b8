"""A user's details offer to migrate the home to the other layout, and to roll it back."""

from __future__ import annotations

import pytest

from datakeeper.errors import RefusedError
from tests.tui.conftest import press, running, screen_text

pytestmark = pytest.mark.asyncio


async def _details_of_bob(pilot) -> None:
    await press(pilot, "7", "down", "enter")


async def test_m_shows_the_plan_then_migrates_after_yes(features):
    async with running(features) as pilot:
        await _details_of_bob(pilot)
        assert "m moves the home to the hybrid layout" in screen_text(pilot.app)
        await press(pilot, "m")
        text = screen_text(pilot.app)
        assert "Move bob's home to the hybrid layout?" in text
        assert "move /data/users/bob/.bashrc -> /data/users/bob/dotfiles/.bashrc" in text
        assert features.called("migrate_user") == []
        await press(pilot, "y")
        assert features.called("migrate_user")[0][0][1:] == ("bob", "hybrid")
        assert "bob: home migrated to hybrid; verified 12 entries" in screen_text(pilot.app)


async def test_no_leaves_the_home_alone(features):
    async with running(features) as pilot:
        await _details_of_bob(pilot)
        await press(pilot, "m", "n")
        assert features.called("migrate_user") == []
        assert type(pilot.app.screen).__name__ == "UsersScreen"


async def test_b_rolls_back_after_yes_and_a_refusal_is_shown(features):
    async with running(features) as pilot:
        await _details_of_bob(pilot)
        await press(pilot, "b")
        assert "Return bob's home to the layout it had before" in screen_text(pilot.app)
        await press(pilot, "y")
        assert features.called("rollback_user")[0][0][1] == "bob"
        assert "bob: home back to the link layout" in screen_text(pilot.app)
        features.fail["plan_migration"] = RefusedError("bob is logged in; ask them to log out")
        await _details_of_bob_again(pilot)
        assert "bob is logged in; ask them to log out" in screen_text(pilot.app)


async def _details_of_bob_again(pilot) -> None:
    await press(pilot, "enter", "m")
