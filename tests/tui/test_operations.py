"""Disk usage with bars, caches (clean after the shared warning), and the user menu."""

from __future__ import annotations

import pytest

from datakeeper.errors import InvalidInputError
from tests.tui.conftest import press, running, screen_text

pytestmark = pytest.mark.asyncio


async def test_disk_shows_roots_folders_and_homes_with_bars(features):
    async with running(features) as pilot:
        await press(pilot, "8")
        text = screen_text(pilot.app)
        assert "[##########......]  60.0%  /data  40.0 GiB free of 100.0 GiB" in text
        assert "/backup: missing" in text
        assert "[################]   30.0 GiB  /data/models" in text
        assert "/data/users/bob (bob)" in text
        assert "allocated" in text


async def test_caches_lists_every_cache_with_whose_it_is_and_its_size(features):
    async with running(features) as pilot:
        await press(pilot, "9")
        text = screen_text(pilot.app)
        assert "used by every member of gpu-users" in text
        assert "conda packages        shared     3.0 GiB  /data/cache/conda/pkgs" in text
        assert "huggingface hub       shared     missing" in text
        assert "pip                   yours      5.0 MiB" in text


async def test_clean_previews_then_asks_with_the_shared_warning_then_cleans(features):
    async with running(features) as pilot:
        await press(pilot, "9", "c")
        assert features.called("plan_clean")[0][0] == (["conda"], None)
        text = screen_text(pilot.app)
        assert "Clean conda packages?" in text
        assert "conda packages (sudo helper): 2 entries, 4.0 KiB would be freed" in text
        assert "pkgs/a.conda" in text and "used by every member" in text
        await press(pilot, "y")
        assert features.called("clean_caches")[0][0] == (["conda"],)
        text = screen_text(pilot.app)
        assert "conda packages: removed 2 entries, freed 4.0 KiB" in text
        assert len(features.called("list_caches")) == 2


async def test_declining_cleans_nothing_and_an_empty_preview_does_not_ask(features):
    async with running(features) as pilot:
        await press(pilot, "9", "c", "n")
        assert features.called("clean_caches") == []
        await press(pilot, "down", "c")  # huggingface hub: nothing to remove
        assert "Nothing to remove." in screen_text(pilot.app)
        assert type(pilot.app.screen).__name__ == "CachesScreen"
        assert features.called("clean_caches") == []


async def test_a_user_cleans_with_an_age(features):
    async with running(features, admin=False) as pilot:
        await press(pilot, "3", "tab", "right", "right", "enter", "c", "y")
        assert features.called("plan_clean")[0][0] == (["conda"], 30)
        assert features.called("clean_caches")[0][0] == (["conda"],)


async def test_a_refused_age_is_an_error_line(features):
    features.fail["plan_clean"] = InvalidInputError("--older-than 5d: a member can clean only ...")
    async with running(features, admin=False) as pilot:
        await press(pilot, "3", "c")
        assert "Error: --older-than 5d: a member can clean only" in screen_text(pilot.app)
        assert features.called("clean_caches") == []


async def test_environment_info_shows_what_is_wrong(features):
    async with running(features, admin=False) as pilot:
        await press(pilot, "1")
        text = screen_text(pilot.app)
        assert "You are bob (uid 1001), in groups: bob, gpu-users" in text
        assert "umask 022 (members of gpu-users need 002) ✗" in text
        assert "HF_HOME" in text and "uv: not found" in text
        assert "! umask is 022; the group needs 002" in text


async def test_the_user_disk_view_is_the_same_feature(features):
    async with running(features, admin=False) as pilot:
        await press(pilot, "2")
        assert len(features.called("disk_report")) == 1
        assert "/data/users/bob (bob)" in screen_text(pilot.app)


async def test_a_researcher_sees_the_homes_first_within_80x24(features):
    async with running(features, admin=False) as pilot:
        await press(pilot, "2")
        rows = [line.strip("│ ") for line in screen_text(pilot.app).splitlines()]
        content = [row for row in rows if row and not row.startswith(("╭", "╰", "⭘"))]
        assert content[0] == "Homes"
        assert "/data/users/bob (bob)" in content[1]


async def test_the_admin_sees_the_storage_first(features):
    async with running(features) as pilot:
        await press(pilot, "8")
        rows = [line.strip("│ ") for line in screen_text(pilot.app).splitlines()]
        content = [row for row in rows if row and not row.startswith(("╭", "╰", "⭘"))]
        assert content[0] == "Storage"


@pytest.mark.parametrize(
    ("key", "topic", "shown"),
    [
        ("4", "conda", "THE SHARED CONDA"),
        ("5", None, "WHAT IS WIPED AT REBOOT"),
    ],
)
async def test_guides(features, key, topic, shown):
    async with running(features, admin=False) as pilot:
        await press(pilot, key)
        assert features.called("guide")[0][0] == (topic,)
        text = screen_text(pilot.app)
        assert shown in text
        assert ("Esc goes back, q quits" in text) == (topic is None)
