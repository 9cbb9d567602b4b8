"""`datakeeper backup enable / status` and `backup restore --everything`, inside a
disposable server: the schedule is written, checked, and comes back after a wipe;
the whole site comes back from a snapshot after losing /data and the SSD."""

from __future__ import annotations

import json
import shutil
import stat

import pytest

from tests.support import fake_systemctl
from tests.support.site_setup import check_site, failed_checks

pytestmark = pytest.mark.sandbox

CRON = "/etc/cron.d/datakeeper-backup"
TIMER = "datakeeper-backup.timer"
SERVICE = "/etc/systemd/system/datakeeper-backup.service"


def _status(server) -> dict:
    return json.loads(server.datakeeper("--json", "backup", "status").stdout)


def _backup_lines(server) -> list[dict]:
    code, report = check_site(server)
    assert (code, failed_checks(report)) == (0, [])
    return [line for line in report["results"] if line["group"] == "BACKUP"]


def test_enable_writes_a_cron_entry_that_runs_and_recover_brings_it_back(site):
    server = site
    server.datakeeper("backup", "enable")
    info = server.path(CRON).lstat()
    assert (stat.S_IMODE(info.st_mode), info.st_uid) == (0o644, 0)
    line = server.path(CRON).read_text().splitlines()[-1]
    assert line.startswith("30 2 * * * root ")  # nightly at 02:30 by default
    assert line.endswith("--config /data/config/datakeeper.toml backup run --scheduled")
    assert {entry["status"] for entry in _backup_lines(server)} == {"PASS"}
    found = _status(server)
    assert (found["mechanism"], found["enabled"], found["in_place"]) == ("cron", True, True)
    assert (found["next_run"], found["last_run"]) == ("cron: 30 2 * * *", None)

    ran = server.run(["sh", "-c", line.split(" root ", 1)[1]], check=False)
    assert ran.returncode == 0, ran.stderr
    last = _status(server)["last_run"]
    assert (last["ok"], last["scheduled"], last["error"]) == (True, True, "")
    assert last["summary"].startswith("snapshot ")

    server.reboot()  # the SSD, /etc/cron.d with it, is wiped
    assert not server.path(CRON).exists()
    assert _status(server)["in_place"] is False
    server.datakeeper("recover")
    assert server.path(CRON).read_text().splitlines()[-1] == line
    assert {entry["status"] for entry in _backup_lines(server)} == {"PASS"}

    server.datakeeper("backup", "disable")
    assert not server.path(CRON).exists()
    assert _status(server)["enabled"] is False


def test_enable_under_systemd_starts_a_timer_that_check_watches(site):
    server = site
    fake_systemctl.install(server)
    server.datakeeper("backup", "enable")
    assert "OnCalendar=*-*-* 02:30:00" in server.path(f"/etc/systemd/system/{TIMER}").read_text()
    assert "backup run --scheduled" in server.path(SERVICE).read_text()
    assert server.run(["systemctl", "is-active", TIMER]).stdout.strip() == "active"
    assert {entry["status"] for entry in _backup_lines(server)} == {"PASS"}
    server.run(["systemctl", "disable", "--now", TIMER])
    code, report = check_site(server)
    [failed] = failed_checks(report)
    assert code == 1 and (failed["group"], failed["subject"]) == ("BACKUP", f"timer {TIMER}")


HOOK = "#!/bin/sh\nenv | grep ^DATAKEEPER_ALERT_ | sort > /root/hook.out\n"


def test_a_failed_scheduled_run_is_recorded_and_runs_the_alert_hook(site):
    server = site
    server.run(
        ["sh", "-c", f"printf '{HOOK}' > /usr/local/sbin/hook; chmod 755 /usr/local/sbin/hook"]
    )
    config = '\n[alert]\nhook = "/usr/local/sbin/hook"\n'
    server.run(["sh", "-c", f"printf '{config}' >> /data/config/datakeeper.toml"])
    server.run(["install", "-d", "-m", "0777", "/backup/datakeeper"])  # not root's: refused
    failed = server.datakeeper("backup", "run", "--scheduled", check=False)
    assert failed.returncode == 3
    last = _status(server)["last_run"]
    assert last["ok"] is False and "/backup/datakeeper is not a directory of root" in last["error"]
    assert last["last_error"] == last["error"]
    hook = server.path("/root/hook.out").read_text().splitlines()
    assert hook[0] == "DATAKEEPER_ALERT_KIND=backup"
    assert hook[1].startswith("DATAKEEPER_ALERT_MESSAGE=/backup/datakeeper is not a directory")
    assert hook[2] == "DATAKEEPER_ALERT_ROOT=/backup"
    log = server.path("/data/config/datakeeper/actions.log").read_text().splitlines()
    alerts = [e for e in map(json.loads, log) if e["outcome"] == "alert"]
    assert [e["resource"] for e in alerts] == ["backup schedule"]


def _add_users(server) -> dict[str, str]:
    """Two registered members with files; their ``id`` lines."""
    ids = {}
    for name in ("alice", "bob"):
        server.datakeeper("user", "add", name, "--yes")
        server.run(
            ["sh", "-c", f"echo {name} > ~/notes.txt; mkdir -p ~/proj; echo x > ~/proj/f"],
            user=name,
            login=True,
        )
        ids[name] = server.run(["id", name]).stdout
    return ids


def test_everything_rebuilds_the_site_after_losing_data_and_the_ssd(site):
    server = site
    ids = _add_users(server)
    server.datakeeper("backup", "run")
    server.stop()  # the data disk is replaced with an empty one, the SSD is wiped
    backing = server.storage_image("/data")
    shutil.rmtree(backing)
    server.start()
    assert not server.path("/data/config").exists()
    assert server.run(["id", "alice"], check=False).returncode != 0

    planned = json.loads(
        server.datakeeper("--json", "--dry-run", "backup", "restore", "--everything").stdout
    )
    assert planned["folders"] == ["users"] and planned["present"] == []
    assert not server.path("/data/config").exists()  # a dry run writes nothing
    server.datakeeper("backup", "restore", "--everything")
    for name in ("alice", "bob"):
        assert server.run(["id", name]).stdout == ids[name]
        notes = server.run(["cat", "notes.txt", "proj/f"], user=name, login=True).stdout
        assert notes == f"{name}\nx\n"
    registry = server.path("/data/config/datakeeper/registry.json")
    assert stat.S_IMODE(registry.stat().st_mode) == 0o600
    assert {"alice", "bob"} <= set(json.loads(registry.read_text())["users"])

    again = server.datakeeper("backup", "restore", "--everything", check=False)
    assert again.returncode == 3
    assert "/data/users is not empty: it holds" in again.stderr
    assert "pass --yes" in again.stderr
