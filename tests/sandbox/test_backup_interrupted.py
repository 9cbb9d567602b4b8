"""`datakeeper backup run` killed with SIGKILL at several points of a run.

The datakeeper process itself is killed, by its pid, (a) inside the estimate,
(b) while rsync copies, (c) while the manifest is written and (d) just before
the finished snapshot is renamed. After each: no partial snapshot is ever
listed as complete, the admin lock is free, nothing is left running, and the
next run succeeds and verifies.
"""

from __future__ import annotations

import json
import os
import sys
import time

import pytest

from tests.support.sandbox import PROJECT_ROOT
from tests.support.site_setup import NO_SOFTWARE, add_linked_member

pytestmark = pytest.mark.sandbox

SNAPSHOTS = "/backup/datakeeper/snapshots"
HOME = "/data/users/alice"
CONFIG = "/data/config/datakeeper.toml"
MARKER = "/root/held.pid"
SLOW = NO_SOFTWARE + "\n[backup]\nbwlimit_kib = 0\n"
NO_WAIT = {"DATAKEEPER_LOCK_TIMEOUT": "0"}  # a lock left held fails the next run at once


def _json(server, *args: str) -> dict | list:
    result = server.datakeeper("--json", "backup", *args, env=NO_WAIT)
    return json.loads(result.stdout)


def _states(server) -> list[tuple[str, str]]:
    return [(row["name"], row["state"]) for row in _json(server, "list")]


def _start(server, argv: list[str]) -> str:
    """Start ``argv`` in the background inside the server; its pid."""
    command = f"{' '.join(argv)} > /root/run.out 2>&1 & echo $!"
    env = {"PYTHONPATH": str(PROJECT_ROOT)}
    return server.run(["sh", "-c", command], env=env).stdout.strip()


def _until(check, what, timeout: float = 30) -> None:
    """Wait for ``check``; ``what`` (a string, or a function giving one at the end) says
    what never happened."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, what() if callable(what) else what
        time.sleep(0.05)


def _alive(server, pid: str) -> bool:
    return server.run(["kill", "-0", pid], check=False).returncode == 0


def _kill(server, pid: str) -> None:
    """SIGKILL the run by its pid, and wait until it and its rsync are gone."""
    server.run(["kill", "-KILL", pid])
    _until(lambda: not _alive(server, pid), f"run {pid} survived SIGKILL")
    rsyncs = lambda: server.run(["pgrep", "-x", "rsync"], check=False).stdout.split()  # noqa: E731
    _until(lambda: not rsyncs(), "rsync kept running after the run was killed", 10)


def _held_at(server, point: str) -> str:
    """Start a run held at ``point`` (see tests/support/paused_backup.py); its pid."""
    server.run(["rm", "-f", MARKER])
    argv = [sys.executable, "-m", "tests.support.paused_backup", point, MARKER]
    pid = _start(server, argv)
    marker = server.path(MARKER)
    output = server.path("/root/run.out")
    _until(
        lambda: marker.exists() and marker.read_text().endswith("\n"),
        lambda: f"never held at {point}; the run said: {output.read_text(errors='replace')}",
        timeout=90,  # a loaded CI machine: the run walks and hashes before it gets there
    )
    assert marker.read_text().strip() == pid
    return pid


def _copying(server) -> str:
    """Start a plain run slowed by bwlimit; its pid once rsync copies into a partial."""
    pid = _start(server, [sys.executable, "-m", "datakeeper", "backup", "run"])

    def copying() -> bool:
        if not server.path(SNAPSHOTS).is_dir():
            return False
        partial = any(name.endswith(".partial") for name in os.listdir(server.path(SNAPSHOTS)))
        running = server.run(["pgrep", "-x", "rsync"], check=False).returncode == 0
        return partial and running

    _until(copying, "rsync never started copying")
    return pid


def _set_bwlimit(server, kib: int) -> None:
    config = server.path(CONFIG)
    text = config.read_text()
    start = text.index("bwlimit_kib = ")
    end = text.index("\n", start)
    config.write_text(f"{text[:start]}bwlimit_kib = {kib}{text[end:]}")


def _next_run_succeeds(server, complete_before: list[str], point: str) -> list[str]:
    """After a kill: no partial listed complete; the next run (lock free) resumes the
    partial one, if any, completes and verifies. The complete snapshots' names."""
    states = _states(server)
    complete = [name for name, state in states if state != "partial"]
    assert complete == complete_before, (point, states)
    partial = [f"{name}.partial" for name, state in states if state == "partial"]
    time.sleep(1.1)  # snapshot names are UTC seconds
    report = _json(server, "run")  # exit 0, or server.run raises
    assert report["plan"]["estimated_bytes"] > 0, (point, report)
    assert report["plan"]["resumes"] == (partial[-1] if partial else None), point
    name = report["snapshot"]["name"]
    assert _states(server)[-1] == (name, "complete"), point
    assert _json(server, "verify")["ok"] is True, point
    return [*complete_before, name]


@pytest.mark.parametrize("site_config", [SLOW])
def test_a_run_killed_anywhere_never_lists_a_partial_as_complete(site):
    server = site
    add_linked_member(server, "alice")
    server.run(["sh", "-c", f"echo keep > {HOME}/keep.txt && echo two > {HOME}/two.txt"])
    complete: list[str] = []

    pid = _held_at(server, "estimate")
    _kill(server, pid)
    assert not server.path(SNAPSHOTS).exists() or os.listdir(server.path(SNAPSHOTS)) == []
    complete = _next_run_succeeds(server, complete, "estimate")

    server.run(["dd", "if=/dev/urandom", f"of={HOME}/big.bin", "bs=64K", "count=32"])
    _set_bwlimit(server, 200)
    pid = _copying(server)
    _kill(server, pid)
    _set_bwlimit(server, 0)
    complete = _next_run_succeeds(server, complete, "copy")

    for point in ("manifest", "rename"):
        server.run(["sh", "-c", f"date +%N > {HOME}/{point}.txt"])
        pid = _held_at(server, point)
        _kill(server, pid)
        assert any(state == "partial" for _, state in _states(server)), point
        complete = _next_run_succeeds(server, complete, point)
