"""The full-screen menu (``datakeeper`` with no arguments), built with Textual.

As root it is the admin menu (setup, configuration test, users, packages,
recovery, disk, caches); for anyone else the user menu (environment, disk,
cache cleanup, guides). It is a thin front end: every screen calls the same
feature functions as the CLI (through ``features.Features``) and shows what
they return; long calls run in worker threads, errors appear in the screen.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def run_menu(config_path: Path | None = None, *, admin: bool | None = None) -> int:
    """Run the menu on this terminal until the person quits; the exit code."""
    from datakeeper.tui.app import DatakeeperApp
    from datakeeper.tui.features import Features

    app = DatakeeperApp(Features(config_path), admin=os.geteuid() == 0 if admin is None else admin)
    app.run()
    if app.crash_line:
        print(app.crash_line, file=sys.stderr)
    return app.return_code or 0
