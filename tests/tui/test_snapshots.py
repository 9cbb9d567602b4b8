"""The main screens at 80x24, compared with stored snapshots.

Each screen is stored twice under ``tests/tui/snapshots``: ``NAME.txt``, the
plain text a terminal without colour shows (always compared), and
``NAME.svg``, the screenshot with colours (compared when the installed Textual
is the one that drew it, see ``TEXTUAL_VERSION``; other versions style
differently). Regenerate after a deliberate change with
``DATAKEEPER_UPDATE_SNAPSHOTS=1 .venv/bin/pytest tests/tui/test_snapshots.py``
and look at the SVGs in a browser before committing them.
"""

from __future__ import annotations

import os
from importlib.metadata import version
from pathlib import Path

import pytest

from tests.tui.conftest import press, running, screen_text, type_text

pytestmark = pytest.mark.asyncio

# English screens in snapshots/, Korean ones in snapshots/ko/ (test_snapshots_ko.py
# runs this module in a child pytest under DATAKEEPER_TEST_LANG=ko_KR.UTF-8: the
# menu's texts are translated when its modules load).
KOREAN = os.environ.get("DATAKEEPER_TEST_LANG", "").startswith("ko")
SNAPSHOTS = Path(__file__).with_name("snapshots") / ("ko" if KOREAN else "")
UPDATE = os.environ.get("DATAKEEPER_UPDATE_SNAPSHOTS") == "1"
VERSION_FILE = Path(__file__).with_name("snapshots") / "TEXTUAL_VERSION"

SCREENS = {
    "admin_menu": (True, []),
    "user_menu": (False, []),
    "setup_plan": (True, ["1", "ctrl+s"]),
    "setup_result": (True, ["1", "ctrl+s", "a"]),
    "setup_done": (True, ["1", "ctrl+s", *"anannanana", "n"]),  # a: apply, n: next
    "check": (True, ["2"]),
    "user_add": (True, ["3", "a", "l", "i", "c", "e"]),
    "user_add_summary": (True, ["3", "a", "l", "i", "c", "e", "ctrl+s"]),
    "user_remove": (True, ["4", "down", "enter"]),
    "packages": (True, ["5"]),
    "recovery": (True, ["6"]),
    "users": (True, ["7"]),
    "disk": (True, ["8"]),
    "caches": (True, ["9"]),
    "env": (False, ["1"]),
    "help": (False, ["5"]),
    "gpus_admin": (True, ["end", "enter"]),  # GPUs: the admin menu's last entry
    "gpus_user": (False, ["6"]),
}


@pytest.mark.parametrize("name", sorted(SCREENS))
async def test_screen_matches_its_snapshot(features, name):
    admin, keys = SCREENS[name]
    async with running(features, admin=admin) as pilot:
        for key in keys:
            await press(pilot, key)
        text = screen_text(pilot.app)
        svg = pilot.app.export_screenshot(title="datakeeper")
    if UPDATE:
        SNAPSHOTS.mkdir(exist_ok=True)
        (SNAPSHOTS / f"{name}.txt").write_text(text, encoding="utf-8")
        (SNAPSHOTS / f"{name}.svg").write_text(svg, encoding="utf-8")
        if not KOREAN:
            VERSION_FILE.write_text(version("textual") + "\n", encoding="utf-8")
        return
    stored = SNAPSHOTS / f"{name}.txt"
    assert stored.exists(), f"no snapshot {stored}; run with DATAKEEPER_UPDATE_SNAPSHOTS=1"
    assert text == stored.read_text(encoding="utf-8"), f"{name} differs from {stored}"
    if VERSION_FILE.read_text(encoding="utf-8").strip() == version("textual"):
        assert svg == (SNAPSHOTS / f"{name}.svg").read_text(encoding="utf-8"), (
            f"{name}.svg differs (same Textual version); compare the screenshots"
        )


async def test_snapshots_are_stable_from_run_to_run(features):
    texts = []
    for _ in range(2):
        async with running(features) as pilot:
            await press(pilot, "3")
            await type_text(pilot, "alice")
            texts.append(pilot.app.export_screenshot(title="datakeeper"))
    assert texts[0] == texts[1]
