"""Issue 14, items 3 and 6, under the real systemd: ``recovery enable`` on a server where
systemd is not running enables the units offline (links), so the next systemd boot
recovers; the disk alert timer is enabled, active and fires; ``systemd-analyze verify``
accepts every unit datakeeper writes."""

from __future__ import annotations

import json

import pytest

from tests.support.server_fixtures import INSTALL, boot_server
from tests.support.site_setup import NO_SOFTWARE, add_linked_member, init_site, prepare_site

pytestmark = [pytest.mark.sandbox, pytest.mark.systemd]

SERVICE = "datakeeper-recovery.service"
TIMER = "datakeeper-disk-alert.timer"
ALERT = "datakeeper-disk-alert.service"
UNITS = "/etc/systemd/system"
ACTIONS = "/data/config/datakeeper/actions.log"
MEMBERS = ["ann", "bob"]
# /data is the host's disk here: 1% fires. /backup is left out (also the host's).
CONFIG = NO_SOFTWARE + '\n[storage]\nbackup_root = ""\n\n[alert]\nthreshold_percent = 1\n'


@pytest.fixture
def offline_site(tmp_path, wheelhouse):
    """A site built while systemd is not running (the Python init, an image being
    prepared): the tool installed on /data, init, two registered members."""
    binds = {"/mnt/wheelhouse": str(wheelhouse)}
    for server in boot_server(tmp_path, binds=binds, ssd="ext4"):
        server.run(INSTALL)
        prepare_site(server, CONFIG)
        init_site(server)
        for name in MEMBERS:
            add_linked_member(server, name)
            server.run(["datakeeper", "user", "register", name])
        yield server


def _show(server, unit: str, *props: str) -> dict[str, str]:
    argv = ["systemctl", "show", unit, *(f"--property={p}" for p in props)]
    lines = server.run(argv).stdout.splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line)


def _our_unit_files(server) -> list[str]:
    listing = server.run(["find", UNITS, "-maxdepth", "1", "-name", "datakeeper-*"]).stdout
    return sorted(listing.split())


def test_enabled_offline_recovery_runs_at_the_next_systemd_boot_and_the_timer_fires(
    offline_site,
):
    server = offline_site
    enabled = server.run(["datakeeper", "recovery", "enable"])
    assert "systemd is not running here" in enabled.stdout
    link = server.path(f"{UNITS}/multi-user.target.wants/{SERVICE}")
    assert link.is_symlink(), "systemctl enable works offline: it only makes links"
    server.run(["userdel", MEMBERS[0]])  # recovery at boot must bring it back

    server.reboot(wipe=False, init="systemd")
    state = _show(server, SERVICE, "ActiveState", "Result")
    assert state == {"ActiveState": "active", "Result": "success"}, server.journal("-u", SERVICE)
    assert server.run(["getent", "passwd", MEMBERS[0]], check=False).returncode == 0
    status = json.loads(server.run(["datakeeper", "--json", "recovery", "status"]).stdout)
    assert status["systemd"] == "running"
    assert status["units"][SERVICE]["enabled"] == "enabled"
    check = json.loads(server.run(["datakeeper", "--json", "check"], check=False).stdout)
    assert not [r for r in check["results"] if r["status"] == "FAIL"], check

    # Item 6: the disk alert timer under systemd, and what it runs.
    server.run(["datakeeper", "disk", "alert", "enable"])
    assert TIMER in server.run(["systemctl", "list-timers", "--all", "--no-pager"]).stdout
    assert _show(server, TIMER, "UnitFileState", "ActiveState") == {
        "UnitFileState": "enabled",
        "ActiveState": "active",
    }
    fired = server.run(["systemctl", "start", ALERT], check=False)  # what the timer starts
    assert fired.returncode != 0  # the alert exits 1 when it fires, so systemd notices
    lines = server.path(ACTIONS).read_text().splitlines()
    alerts = [e for e in map(json.loads, lines) if e["outcome"] == "alert"]
    assert [e["resource"] for e in alerts] == ["disk /data"]

    # Every unit datakeeper wrote (boot units, password sync, alert timer and service).
    files = _our_unit_files(server)
    assert len(files) == 6, files
    verify = server.run(["systemd-analyze", "verify", *files], check=False)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert "datakeeper" not in verify.stdout + verify.stderr
