"""`datakeeper recovery enable / disable / status / run / hook` and the login wait, with
real programs in a disposable server (which has no systemd: the hook-line case)."""

from __future__ import annotations

import json
import os
import shlex
import stat
import time
from pathlib import Path

import pytest

from datakeeper.system import systemd
from datakeeper.trust import guarded_command
from tests.support.site_setup import NO_SOFTWARE

pytestmark = pytest.mark.sandbox

CONFIG = NO_SOFTWARE + "\n[recovery]\nlogin_wait_seconds = 2\n"
UNIT_DIR = "/etc/systemd/system"
FILES = [
    f"{UNIT_DIR}/datakeeper-recovery.service",
    f"{UNIT_DIR}/datakeeper-shutdown-sync.service",
    f"{UNIT_DIR}/datakeeper-password-sync.path",
    f"{UNIT_DIR}/datakeeper-password-sync.service",
    "/etc/profile.d/00-recovery-check.sh",
]
FLAG = "/data/config/datakeeper/recovery-enabled"
TOOL = "/data/apps/datakeeper/current/bin/datakeeper --config /data/config/datakeeper.toml"
# Root starts the installed tool behind the guard that checks its path is root's.
_GUARDED = guarded_command(Path(TOOL.split()[0]), [*TOOL.split()[1:], "recover", "--boot"])
HOOK = shlex.join(_GUARDED)
EXEC_START = systemd.exec_line(_GUARDED)
MARKER = "/run/datakeeper/recovery-done"


@pytest.fixture
def site_config() -> str:
    """A login waits at most 2 s for recovery here (30 s by default), to keep tests short."""
    return CONFIG


@pytest.fixture
def enabled(site):
    result = site.datakeeper("recovery", "enable")
    site.enable_output = result.stdout
    return site


def _status(server) -> dict:
    return json.loads(server.datakeeper("--json", "recovery", "status").stdout)


def _present(server) -> list[bool]:
    return [os.path.lexists(server.path(path)) for path in FILES]


def _contents(server) -> dict[str, bytes]:
    return {path: server.path(path).read_bytes() for path in FILES}


def test_enable_writes_the_units_the_login_script_and_the_flag(enabled):
    server = enabled
    for path in FILES:
        info = os.lstat(server.path(path))
        assert (stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid) == (0o644, 0, 0), path
    assert os.path.isfile(server.path(FLAG))
    unit = server.path(FILES[0]).read_text().splitlines()
    assert f"ExecStart={EXEC_START}" in unit
    # /data is required; /backup only wanted and ordered (its failure must not stop recovery).
    assert "RequiresMountsFor=/data" in unit
    assert [u for u in unit if "backup" in u] == ["Wants=backup.mount", "After=backup.mount"]
    assert "systemd is not running" in enabled.enable_output
    assert HOOK in enabled.enable_output
    syntax = server.run(["sh", "-n", FILES[-1]], check=False)
    assert syntax.returncode == 0, syntax.stderr


def test_enable_twice_changes_nothing(enabled):
    result = enabled.datakeeper("--json", "recovery", "enable")
    assert json.loads(result.stdout)["planned"] == []


def test_status_reports_enabled_and_that_systemd_is_not_running(enabled):
    found = _status(enabled)
    assert found["enabled"] is True
    assert found["systemd"] == "not running"
    assert all(f["present"] and f["current"] for f in found["files"])
    assert found["hook"] == HOOK
    assert found["install"]["present"] is False


def test_recover_after_a_wipe_recreates_the_boot_files(enabled):
    server = enabled
    before = _contents(server)
    server.reboot()
    assert _present(server) == [False] * len(FILES)
    assert _status(server)["done_marker"] is False
    server.datakeeper("recover")
    assert _contents(server) == before
    found = _status(server)
    assert found["enabled"] and found["done_marker"]
    assert found["last_run"]["ok"] is True
    assert "recovered" in found["last_run"]["summary"]


def test_recovery_run_is_recover(enabled):
    enabled.datakeeper("recovery", "run")
    assert os.path.isfile(enabled.path(MARKER))


def test_disable_removes_everything_and_recover_leaves_it_removed(enabled):
    server = enabled
    server.datakeeper("recovery", "disable")
    assert _present(server) == [False] * len(FILES)
    assert not os.path.exists(server.path(FLAG))
    assert _status(server)["enabled"] is False
    again = server.datakeeper("--json", "recovery", "disable")
    assert json.loads(again.stdout)["planned"] == []
    server.reboot()
    server.datakeeper("recover")
    assert _present(server) == [False] * len(FILES)


def test_a_login_script_written_by_someone_else_is_kept_aside(site):
    site.run(["sh", "-c", f"echo '# mine' > {FILES[-1]}"])
    site.datakeeper("recovery", "enable")
    kept = site.run(["sh", "-c", f"cat {FILES[-1]}.datakeeper-old-*"]).stdout
    assert kept == "# mine\n"


def test_hook_prints_the_one_boot_line(site):
    assert site.datakeeper("recovery", "hook").stdout.strip() == HOOK


def _login(server, command: str) -> tuple[float, str]:
    start = time.monotonic()
    result = server.run(["script", "-qec", command, "/dev/null"], user="admin", timeout=60)
    return time.monotonic() - start, result.stdout


def test_interactive_login_waits_for_recovery_then_goes_on(enabled):
    elapsed, out = _login(enabled, "bash -il -c 'echo $HF_HOME'")
    assert 2 <= elapsed < 8
    assert "waiting up to 2 s" in out
    assert "recovery has not finished" in out
    assert "/data/models/huggingface" in out  # the rest of the profile still ran


def test_no_wait_once_recovery_is_done_nor_for_scripts(enabled):
    elapsed, out = _login(enabled, "bash -l -c true")  # a login shell, not interactive
    assert elapsed < 1.5 and "datakeeper" not in out
    enabled.run(["mkdir", "-p", os.path.dirname(MARKER)])
    enabled.run(["touch", MARKER])
    elapsed, out = _login(enabled, "bash -il -c true")
    assert elapsed < 1.5 and "datakeeper" not in out


def test_the_marker_and_the_record_are_changes_of_the_plan(enabled):
    server = enabled
    record = "/data/config/datakeeper/last-recovery.json"
    server.reboot()
    server.datakeeper("--dry-run", "recover")
    assert not os.path.exists(server.path(MARKER))
    assert not os.path.exists(server.path(record))
    server.datakeeper("recover")
    assert os.path.isfile(server.path(MARKER)) and os.path.isfile(server.path(record))
    log = server.path("/data/config/datakeeper/actions.log").read_text().splitlines()
    logged = {json.loads(line)["resource"] for line in log}
    assert {f"file {MARKER}", f"file {record}"} <= logged
