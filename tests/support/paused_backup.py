"""Runs inside a disposable server: ``datakeeper backup run``, held at one point.

Used by sandbox tests as ``python -m tests.support.paused_backup POINT MARKER``:
the real ``datakeeper backup run`` (same CLI, same code path) runs, and at
``POINT`` it writes its pid to ``MARKER`` and sleeps, so the test can kill it
there with SIGKILL. Each point wraps a real function and lets it do its work
first, so the run is caught *in* that step, not before it:

- ``estimate``: after the room check (the sources' bound, or rsync's
  ``--dry-run --stats``) returned, inside the plan;
- ``manifest``: after the manifest's first piece (a home) was written and counted;
- ``rename``: after the finished partial snapshot was synced, before its rename.

(A kill during rsync's copy needs no hook: the test slows the copy with
``[backup] bwlimit_kib`` and kills the run while rsync works.)
"""

from __future__ import annotations

import os
import sys
import time
from functools import wraps
from pathlib import Path

from datakeeper.cli.app import main
from datakeeper.features.backup import run, writer


def _hold(marker: Path) -> None:
    """Say where we are, then wait for the test's SIGKILL."""
    marker.write_text(f"{os.getpid()}\n")
    while True:
        time.sleep(60)


def _hold_after(function, marker: Path, when=lambda *args: True):
    @wraps(function)
    def held(*args, **kwargs):
        result = function(*args, **kwargs)
        if when(*args):
            _hold(marker)
        return result

    return held


def install(point: str, marker: Path) -> None:
    """Wrap the function where ``point`` holds the run."""
    if point == "estimate":
        run.SnapshotRun._need = _hold_after(run.SnapshotRun._need, marker)
    elif point == "manifest":
        writer._Joined.take = _hold_after(writer._Joined.take, marker)
    elif point == "rename":
        partial = lambda folder: str(folder).endswith(".partial")  # noqa: E731
        run.sync_filesystem = _hold_after(run.sync_filesystem, marker, partial)
    else:
        raise SystemExit(f"unknown point {point!r}")


if __name__ == "__main__":
    install(sys.argv[1], Path(sys.argv[2]))
    main(["backup", "run"])
