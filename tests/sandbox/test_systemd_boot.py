"""Boot recovery under the real systemd: a disposable server whose PID 1 is systemd,
with the tool installed on /data the way install.sh does it."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = [pytest.mark.sandbox, pytest.mark.systemd]


def _finished(journal: str, message: str) -> str:
    """The timestamp of the first journal line containing ``message``."""
    for line in journal.splitlines():
        if message in line:
            return line.split()[0]
    raise AssertionError(f"{message!r} not in the journal:\n{journal[-3000:]}")


def test_with_the_ssd_kept_recovery_runs_before_logins_are_allowed(systemd_site):
    server = systemd_site
    server.reboot(wipe=False)
    journal = server.journal()
    recovered = _finished(journal, "Finished datakeeper-recovery.service")
    sessions = _finished(journal, "Finished systemd-user-sessions.service")
    assert recovered <= sessions


def test_the_booted_server_cannot_change_the_hosts_kernel_settings(systemd_server):
    server = systemd_server
    knob = Path("/proc/sys/fs/protected_regular")
    before = knob.read_text()
    server.reboot(wipe=False)
    assert knob.read_text() == before  # systemd-sysctl did not apply the image's sysctl.d
    refused = server.run(["sh", "-c", f"echo {before.strip()} > {knob}"], check=False)
    assert refused.returncode != 0 and "Read-only file system" in refused.stderr
    state = server.run(["systemctl", "show", "-p", "ActiveState", "systemd-sysctl"]).stdout
    assert state.strip() == "ActiveState=inactive"
