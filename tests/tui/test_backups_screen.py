"""Backups: the schedule and snapshots on entry; run now, prune (asked first), verify,
restore a path; a researcher's "Restore my files"; their snapshots at 80x24."""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

import pytest
from textual.widgets import Input

from datakeeper.tui.screens.backups import BackupsScreen
from datakeeper.tui.screens.menu import MenuScreen
from datakeeper.tui.screens.restore import RestoreScreen
from datakeeper.tui.widgets.textpanel import TextPanel
from tests.tui.conftest import press, running, screen_text, settle
from tests.tui.test_snapshots import SNAPSHOTS, UPDATE, VERSION_FILE

pytestmark = pytest.mark.asyncio


async def _open(pilot) -> None:
    """Arrows to the Backups entry, then Enter (entries past 9 have no number key)."""
    labels = [item.label for item in pilot.app.screen.items]
    await press(pilot, *["down"] * labels.index("Backups"), "enter")


async def test_the_admin_menu_opens_backups_and_esc_comes_back(features):
    async with running(features) as pilot:
        assert "Backups" in screen_text(pilot.app)
        await _open(pilot)
        assert isinstance(pilot.app.screen, BackupsScreen)
        await press(pilot, "escape")
        assert isinstance(pilot.app.screen, MenuScreen)


async def test_the_user_menu_has_no_backups_entry(features):
    async with running(features, admin=False) as pilot:
        assert "Backups" not in screen_text(pilot.app)


async def test_entry_shows_the_schedule_the_last_run_and_the_snapshots_newest_first(features):
    async with running(features) as pilot:
        await _open(pilot)
        text = screen_text(pilot.app)
        assert "schedule: *-*-* 02:30:00 (cron), enabled" in text
        assert "last run: 2026-12-04T02:30:07+00:00 ✓ snapshot 2026-12-04T023000Z" in text
        rows = [line for line in text.splitlines() if "2026-12-0" in line and "added" in line]
        assert [row.split()[1:3] for row in rows] == [
            ["2026-12-04T090000Z", "partial"],
            ["2026-12-04T023000Z", "complete"],
            ["2026-12-03T023000Z", "verified"],
        ]


async def test_run_now_takes_a_snapshot_and_lists_it(features):
    async with running(features) as pilot:
        await _open(pilot)
        await press(pilot, "r")
        assert len(features.called("run_backup")) == 1
        text = screen_text(pilot.app)
        assert "✓ take snapshot 2026-12-04T100000Z of /data/users" in text
        assert "snapshot 2026-12-04T100000Z: 13 files, 4.0 KiB (1.0 KiB added)" in text
        assert "2026-12-04T100000Z  complete" in text


async def test_prune_shows_what_goes_and_asks_first(features):
    async with running(features) as pilot:
        await _open(pilot)
        await press(pilot, "p")
        text = screen_text(pilot.app)
        assert "Remove these snapshots?" in text
        assert "remove snapshot 2026-12-04T090000Z.partial (an interrupted run" in text
        await press(pilot, "n")
        assert features.called("prune_backups") == []
        await press(pilot, "p", "y")
        assert features.called("prune_backups") == [((1,), {})]
        assert "✓ remove snapshot 2026-12-04T090000Z.partial" in screen_text(pilot.app)
        assert "partial" not in pilot.app.screen.query_one("#snapshots", TextPanel).text
        await press(pilot, "p")
        await settle(pilot)
        assert "Nothing to remove." in screen_text(pilot.app)


async def test_verify_shows_the_verdict(features):
    async with running(features) as pilot:
        await _open(pilot)
        await press(pilot, "v")
        assert features.called("verify_backup") == [((None,), {})]
        assert "2026-12-04T023000Z: OK, 12 files checked (12 hashed)" in screen_text(pilot.app)


async def test_matches_its_snapshot(features):
    async with running(features) as pilot:
        await pilot.app.push_screen(BackupsScreen())
        await settle(pilot)
        text = screen_text(pilot.app)
        svg = pilot.app.export_screenshot(title="datakeeper")
    if UPDATE:
        (SNAPSHOTS / "backups.txt").write_text(text, encoding="utf-8")
        (SNAPSHOTS / "backups.svg").write_text(svg, encoding="utf-8")
        return
    assert text == (SNAPSHOTS / "backups.txt").read_text(encoding="utf-8")
    if VERSION_FILE.read_text(encoding="utf-8").strip() == version("textual"):
        assert svg == (SNAPSHOTS / "backups.svg").read_text(encoding="utf-8")


# -- restore: the admin's (from Backups) and a researcher's ("Restore my files") --


async def _type(pilot, selector: str, text: str) -> None:
    pilot.app.screen.query_one(selector, Input).value = text
    await settle(pilot)


async def test_the_admin_browses_and_restores_any_path_beside_it(features):
    async with running(features) as pilot:
        await _open(pilot)
        await press(pilot, "t")
        assert isinstance(pilot.app.screen, RestoreScreen)
        await _type(pilot, "#path", "/data/users/alice/notes.txt")
        await press(pilot, "ctrl+b")
        path = Path("/data/users/alice/notes.txt")
        assert features.called("browse_backup") == [((path, None), {})]
        text = screen_text(pilot.app)
        assert "snapshot 2026-12-04T023000Z: /data/users/alice/notes.txt" in text
        assert "2.0 KiB" in text and "proj/" in text and "evil -> /etc/shadow" in text
        await _type(pilot, "#snapshot", "2026-12-04")
        await press(pilot, "ctrl+s")
        assert features.called("restore_backup") == [((path, "2026-12-04"), {})]
        assert "✓ restore /data/users/alice/notes.txt from snapshot" in screen_text(pilot.app)


async def test_restore_needs_a_path(features):
    async with running(features) as pilot:
        await _open(pilot)
        await press(pilot, "t", "ctrl+s")
        assert features.called("restore_backup") == []
        assert "type the path to restore first" in screen_text(pilot.app)


async def test_a_researcher_restores_their_own_file_through_the_helper(features):
    async with running(features, admin=False) as pilot:
        labels = [item.label for item in pilot.app.screen.items]
        await press(pilot, *["down"] * labels.index("Restore my files"), "enter")
        assert isinstance(pilot.app.screen, RestoreScreen)
        assert "Path in your home" in screen_text(pilot.app)
        await press(pilot, "ctrl+b")
        assert features.called("browse_my_files") == [((None, None), {})]
        assert "notes.txt" in screen_text(pilot.app)
        await _type(pilot, "#path", "/home/alice/notes.txt")
        await press(pilot, "ctrl+s")
        assert features.called("restore_my_files") == [((Path("/home/alice/notes.txt"), None), {})]
        output = pilot.app.screen.query_one("#output", TextPanel).text
        assert (
            output
            == "restored /home/alice/notes.txt as /home/alice/notes.txt.restored-2026-12-04T023000Z"
        )
        assert features.called("restore_backup") == []  # never the admin's in-process restore


async def test_restore_my_files_matches_its_snapshot(features):
    async with running(features, admin=False) as pilot:
        await pilot.app.push_screen(RestoreScreen(member=True))
        await settle(pilot)
        text = screen_text(pilot.app)
        svg = pilot.app.export_screenshot(title="datakeeper")
    if UPDATE:
        (SNAPSHOTS / "restore_my_files.txt").write_text(text, encoding="utf-8")
        (SNAPSHOTS / "restore_my_files.svg").write_text(svg, encoding="utf-8")
        return
    assert text == (SNAPSHOTS / "restore_my_files.txt").read_text(encoding="utf-8")
    if VERSION_FILE.read_text(encoding="utf-8").strip() == version("textual"):
        assert svg == (SNAPSHOTS / "restore_my_files.svg").read_text(encoding="utf-8")
