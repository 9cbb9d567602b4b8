"""Another process holding the admin lock inside a disposable server, as a long
admin run does; started and ended by its pid."""

from __future__ import annotations

import shlex
import time

from tests.support.sandbox import DisposableServer

LOCK = "/data/config/datakeeper/run.lock"
READY = "/root/admin-lock-held"
NO_WAIT = {"DATAKEEPER_LOCK_TIMEOUT": "0"}
HOLD = (
    "import fcntl, pathlib, time\n"
    f"lock = open({LOCK!r}, 'a')\n"
    "fcntl.lockf(lock, fcntl.LOCK_EX)\n"
    f"pathlib.Path({READY!r}).touch()\n"
    "time.sleep(300)\n"
)


def hold_admin_lock(server: DisposableServer) -> str:
    """Start the holder in the background; its pid once it holds the lock."""
    script = f"python3 -c {shlex.quote(HOLD)} </dev/null >/dev/null 2>&1 & echo $!"
    pid = server.run(["sh", "-c", script]).stdout.strip()
    deadline = time.monotonic() + 30
    while not server.path(READY).exists():
        assert time.monotonic() < deadline, "the lock holder did not start"
        time.sleep(0.1)
    return pid


def release_admin_lock(server: DisposableServer, pid: str) -> None:
    """End the holder started by ``hold_admin_lock`` (by its pid) and wait until it is gone."""
    server.run(["kill", pid])
    server.run(["rm", "-f", READY])
    deadline = time.monotonic() + 30
    while server.run(["kill", "-0", pid], check=False).returncode == 0:
        assert time.monotonic() < deadline, "the lock holder did not end"
        time.sleep(0.1)
