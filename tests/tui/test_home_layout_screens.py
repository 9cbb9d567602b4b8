"""The home layout in the menu: Add user offers it, Users shows it (issue 16)."""

from __future__ import annotations

import pytest

from tests.tui.conftest import press, running, screen_text, type_text

pytestmark = pytest.mark.asyncio


async def test_add_user_offers_the_hybrid_layout_and_passes_it_on(features):
    async with running(features) as pilot:
        await press(pilot, "3")
        await type_text(pilot, "alice")
        await press(pilot, "ctrl+s")
        assert "home:      /home/alice -> /data/users/alice" in screen_text(pilot.app)
        await press(pilot, "n")
        for _field in range(
            8
        ):  # full name, groups, key, key type, shell, password, env only, layout
            await press(pilot, "tab")
        await press(pilot, "right", "enter")  # hybrid
        await press(pilot, "ctrl+s")
        text = screen_text(pilot.app)
        assert "home:      /home/alice on the SSD (wiped at reboot); ~/data ->" in text
        await press(pilot, "y")
        [(args, _kw)] = features.called("add_user")
        assert args[0].layout == "hybrid"


async def test_the_users_table_has_a_home_layout_column(features):
    async with running(features) as pilot:
        await press(pilot, "7")
        text = screen_text(pilot.app)
        assert "shell      home  state" in text
        assert "/bin/bash  link  registered" in text
