"""The menu shows names users chose (files, folders, processes) escaped, never raw."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

from datakeeper.features.disk.usage import FolderUsage
from datakeeper.system.activity import UserProcess
from datakeeper.tui.widgets.textpanel import TextPanel
from tests.tui.conftest import press, running, screen_text
from tests.tui.fakes import FakeFeatures

pytestmark = pytest.mark.asyncio

ESC, BEL = "\x1b", "\x07"
TITLE = f"{ESC}]0;OWNED{BEL}{ESC}[2J{ESC}[31mFAKE: all good"
SHOWN = "\\x1b]0;OWNED\\x07\\x1b[2J\\x1b[31mFAKE: all good"
UNDECODABLE = os.fsdecode(b"w-\xff")


class PlantedNames(FakeFeatures):
    """The fake features, with names a member planted in what they report."""

    def plan_clean(self, cfg, kinds, age_days):
        plan = super().plan_clean(cfg, kinds, age_days)
        for kind in plan.kinds:
            kind.scan.sample[:] = [f"pkgs/{TITLE}.conda", f"pkgs/{UNDECODABLE}\n[red]x.conda"]
        return plan

    def disk_report(self, cfg, *, listener):
        report = super().disk_report(cfg, listener=listener)
        report.shared.append(FolderUsage(Path(f"/data/code/{TITLE}"), 1 << 30, 3))
        report.errors, report.error_samples = 1, [f"/data/code/{UNDECODABLE}: denied"]
        return report

    def preview_removal(self, cfg, request):
        preview = super().preview_removal(cfg, request)
        return replace(preview, processes=[UserProcess(4242, TITLE, f"python {TITLE}")])


def _panel_text(app) -> str:
    return "\n".join(panel.text for panel in app.screen.query(TextPanel))


def _assert_escaped(app) -> str:
    text = _panel_text(app)
    assert ESC not in text and BEL not in text and "\udcff" not in text
    assert ESC not in screen_text(app)
    return text


async def test_cache_preview_shows_planted_names_escaped():
    async with running(PlantedNames()) as pilot:
        await press(pilot, "9", "c")
        text = _assert_escaped(pilot.app)
        assert f"    pkgs/{SHOWN}.conda" in text
        assert "    pkgs/w-\\xff\\n[red]x.conda" in text  # one line, no markup


async def test_disk_shows_planted_folder_names_escaped():
    async with running(PlantedNames()) as pilot:
        await press(pilot, "8")
        text = _assert_escaped(pilot.app)
        assert f"/data/code/{SHOWN}" in text
        assert "/data/code/w-\\xff: denied" in text


async def test_user_removal_preview_shows_process_names_escaped():
    async with running(PlantedNames()) as pilot:
        await press(pilot, "4", "down", "enter")
        text = _assert_escaped(pilot.app)
        assert f"4242 {SHOWN}" in text
