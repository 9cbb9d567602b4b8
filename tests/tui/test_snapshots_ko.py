"""Every menu screen in Korean at 80x24, compared with stored snapshots.

The menu's texts are translated when its modules load, so the Korean screens
are drawn by a child pytest that runs test_snapshots.py with the Korean
locale (DATAKEEPER_TEST_LANG); they are stored in snapshots/ko/. Regenerate
with ``DATAKEEPER_UPDATE_SNAPSHOTS=1 .venv/bin/pytest tests/tui/test_snapshots_ko.py``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.tui.test_snapshots import SCREENS

HERE = Path(__file__).parent
KOREAN_SNAPSHOTS = HERE / "snapshots" / "ko"


def test_every_menu_screen_in_korean_matches_its_snapshot():
    env = {**os.environ, "DATAKEEPER_TEST_LANG": "ko_KR.UTF-8"}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "0",
         "-k", "test_screen_matches_its_snapshot", str(HERE / "test_snapshots.py")],
        capture_output=True, text=True, env=env, check=False, cwd=HERE.parent.parent,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert f"{len(SCREENS)} passed" in result.stdout


def test_the_korean_snapshots_are_korean():
    """A guard against storing English screens as the Korean ones."""
    for name in SCREENS:
        text = (KOREAN_SNAPSHOTS / f"{name}.txt").read_text(encoding="utf-8")
        hangul = sum("\uac00" <= char <= "\ud7a3" for char in text)
        assert hangul >= 5, f"{name}: no Korean on the screen"
