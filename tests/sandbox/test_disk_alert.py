"""`datakeeper disk alert` runs from a timer: it logs without the admin lock."""

from __future__ import annotations

import json
import shlex
import time

import pytest

from tests.support.site_setup import NO_SOFTWARE

pytestmark = pytest.mark.sandbox

ACTIONS = "/data/config/datakeeper/actions.log"
LOCK = "/data/config/datakeeper/run.lock"
HOLD_LOCK = (
    "import fcntl, pathlib, time\n"
    f"lock = open({LOCK!r}, 'a')\n"
    "fcntl.lockf(lock, fcntl.LOCK_EX)\n"
    "pathlib.Path('/root/locked').touch()\n"
    "time.sleep(300)\n"
)
NO_WAIT = {"DATAKEEPER_LOCK_TIMEOUT": "0"}


def _hold_admin_lock(server) -> str:
    """Another process holds the admin lock (as a long admin run does); its pid."""
    script = f"python3 -c {shlex.quote(HOLD_LOCK)} </dev/null >/dev/null 2>&1 & echo $!"
    pid = server.run(["sh", "-c", script]).stdout.strip()
    deadline = time.monotonic() + 30
    while not server.path("/root/locked").exists():
        assert time.monotonic() < deadline, "the lock holder did not start"
        time.sleep(0.1)
    return pid


@pytest.fixture
def site_config() -> str:
    """/backup is the host's disk here: left out; /data's use is the host's, so 1% fires."""
    return NO_SOFTWARE + '\n[storage]\nbackup_root = ""\n'


def test_the_alert_logs_while_an_admin_run_holds_the_lock(site):
    server = site
    holder = _hold_admin_lock(server)
    busy = server.datakeeper("user", "add", "zoe", env=NO_WAIT, check=False)
    assert busy.returncode == 4, busy.stderr  # an admin's run would have to wait
    fired = server.datakeeper("disk", "alert", "--threshold", "1", env=NO_WAIT, check=False)
    assert fired.returncode == 1, fired.stderr
    assert "logged the alert for /data (action log and syslog)" in fired.stdout
    lines = server.path(ACTIONS).read_text().splitlines()
    [entry] = [e for e in map(json.loads, lines) if e["outcome"] == "alert"]
    assert entry["resource"] == "disk /data"
    server.run(["kill", holder])
