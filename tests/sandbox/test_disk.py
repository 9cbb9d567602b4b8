"""`datakeeper disk` and `disk alert` on a real server: real users, files, du, cron."""

from __future__ import annotations

import json
import math
import os
import stat

import pytest

from tests.support.site_setup import NO_SOFTWARE, add_linked_member, init_site, prepare_site

pytestmark = pytest.mark.sandbox

HOOK = "/usr/local/sbin/disk-alert-hook"
CRON = "/etc/cron.d/datakeeper-disk-alert"
ACTIONS = "/data/config/datakeeper/actions.log"


def set_up(server, config: str = NO_SOFTWARE) -> None:
    """An initialized site with members alice and bob, homes linked into /data/users."""
    prepare_site(server, config)
    init_site(server)
    for user in ("alice", "bob"):
        add_linked_member(server, user)


def fill_homes(server) -> None:
    """Small, big, sparse files, hard links and symlinks, as the users themselves."""
    alice = (
        "mkdir -p ~/proj/run1 ~/proj/run2 && cd ~/proj"
        " && dd if=/dev/urandom of=run1/w.bin bs=1K count=700 status=none"
        " && echo hello > run2/notes.txt && ln run1/w.bin run2/w-again.bin"
        " && ln -s /etc ~/etc-link && truncate -s 1G ~/sparse.img"
        " && dd if=/dev/zero of=/data/models/huggingface/hub/alice.bin bs=1K count=300 status=none"
    )
    bob = "mkdir -p ~/data && dd if=/dev/zero of=$HOME/data/big.bin bs=1M count=3 status=none"
    server.run(["sh", "-c", alice], user="alice", login=True)
    server.run(["sh", "-c", bob], user="bob", login=True)


def du(server, path: str) -> int:
    return int(server.run(["du", "-sxB1", path]).stdout.split()[0])


def disk_json(server, *args, user=None) -> dict:
    return json.loads(server.datakeeper("--json", "disk", *args, user=user).stdout)


def test_home_sizes_agree_with_du(server):
    set_up(server)
    fill_homes(server)
    report = disk_json(server)
    homes = {h["user"]: h for h in report["homes"]}
    assert set(homes) >= {"alice", "bob", "admin"}
    for home in homes.values():
        assert home["bytes"] == du(server, home["path"]), home
    sizes = [h["bytes"] for h in report["homes"]]
    assert sizes == sorted(sizes, reverse=True)
    assert homes["alice"]["bytes"] < 100 * 1024 * 1024  # the sparse gigabyte takes no room
    shared = {f["path"]: f["bytes"] for f in report["shared"]}
    for path in ("/data/models", "/data/models/huggingface/hub", "/data/dataset"):
        assert shared[path] == du(server, path)
    assert report["errors"] == 0


def test_by_owner_attributes_shared_files(server):
    set_up(server)
    fill_homes(server)
    report = disk_json(server, "--by-owner")
    hub = next(f for f in report["shared"] if f["path"] == "/data/models/huggingface/hub")
    assert hub["owners"]["alice"] >= 300 * 1024
    assert sum(hub["owners"].values()) == hub["bytes"]


def test_a_member_sees_only_their_own_home(server):
    set_up(server)
    fill_homes(server)
    report = disk_json(server, user="alice")
    assert report["scope"] == "own"
    assert [h["user"] for h in report["homes"]] == ["alice"]
    assert report["homes"][0]["bytes"] == du(server, "/data/users/alice")
    assert report["roots"][0]["root"] == "/data" and report["roots"][0]["total_bytes"] > 0
    assert "/data/models" in {f["path"] for f in report["shared"]}


def test_other_filesystems_mounted_inside_are_skipped(server):
    set_up(server)
    server.run(["mkdir", "/data/users/bob/scratch"])
    server.run(["mount", "-t", "tmpfs", "tmpfs", "/data/users/bob/scratch"])
    server.run(["dd", "if=/dev/zero", "of=/data/users/bob/scratch/f", "bs=1M", "count=5"])
    report = disk_json(server)
    bob = next(h for h in report["homes"] if h["user"] == "bob")
    assert bob["bytes"] == du(server, "/data/users/bob") < 1024 * 1024
    assert "/data/users/bob/scratch" in report["skipped_mounts"]


# -- alerts: /data is its own small ext4 filesystem, so its use is the test's alone --


def _percent(server) -> float:
    """Used / (used + available), as datakeeper and df compute it."""
    code = (
        "import os; s = os.statvfs('/data'); used = (s.f_blocks - s.f_bfree) * s.f_frsize;"
        " print(100 * used / (used + s.f_bavail * s.f_frsize))"
    )
    return float(server.run(["python3", "-c", code]).stdout)


@pytest.fixture
def alerting(ext4_server):
    server = ext4_server
    server.run(["sh", "-c", f"printf '#!/bin/sh\\nenv > /root/hook.out\\n' > {HOOK}"])
    server.run(["chmod", "0755", HOOK])
    # /backup is the host's disk here, whose use the test does not control: leave it out.
    only_data = '\n[storage]\nbackup_root = ""\n'
    set_up(server, NO_SOFTWARE + only_data + f'\n[alert]\nhook = "{HOOK}"\n')
    server.run(["dd", "if=/dev/zero", "of=/data/dataset/fill.bin", "bs=1M", "count=40"])
    return server


def _alerts(server) -> list[dict]:
    if not server.path(ACTIONS).exists():
        return []
    lines = server.path(ACTIONS).read_text().splitlines()
    return [entry for entry in map(json.loads, lines) if entry["outcome"] == "alert"]


def test_alert_fires_at_the_threshold_and_not_below(alerting):
    server = alerting
    level = math.floor(_percent(server))
    assert 1 <= level < 98
    below = server.datakeeper("disk", "alert", "--threshold", str(level + 1), check=False)
    assert below.returncode == 0, below.stderr
    assert _alerts(server) == []
    assert not server.path("/root/hook.out").exists()

    fired = server.datakeeper("disk", "alert", "--threshold", str(level), check=False)
    assert fired.returncode == 1, fired.stderr
    [entry] = _alerts(server)
    assert entry["resource"] == "disk /data"
    assert entry["details"]["threshold"] == level
    lines = server.path("/root/hook.out").read_text().splitlines()
    env = dict(line.split("=", 1) for line in lines if "=" in line)
    assert env["DATAKEEPER_ALERT_ROOT"] == "/data"
    assert env["DATAKEEPER_ALERT_THRESHOLD"] == str(level)
    assert float(env["DATAKEEPER_ALERT_PERCENT"]) >= level
    assert int(env["DATAKEEPER_ALERT_USED_BYTES"]) < int(env["DATAKEEPER_ALERT_TOTAL_BYTES"])


def test_alert_dry_run_only_prints(alerting):
    server = alerting
    result = server.datakeeper("disk", "alert", "--threshold", "1", "--dry-run", check=False)
    assert result.returncode == 1
    assert "would log" in result.stdout and f"would run {HOOK}" in result.stdout
    assert _alerts(server) == []
    assert not server.path("/root/hook.out").exists()


def test_alert_enable_writes_a_cron_entry_that_runs(server):
    set_up(server)
    server.datakeeper("disk", "alert", "enable")
    info = os.lstat(server.path(CRON))
    assert (stat.S_IMODE(info.st_mode), info.st_uid) == (0o644, 0)
    line = server.path(CRON).read_text().splitlines()[-1]
    assert line.startswith("0 * * * * root ")
    assert line.endswith("--config /data/config/datakeeper.toml disk alert --quiet")
    status = json.loads(server.datakeeper("--json", "disk", "alert", "status").stdout)
    assert (status["mechanism"], status["enabled"]) == ("cron", True)
    again = json.loads(server.datakeeper("--json", "disk", "alert", "enable").stdout)
    assert again["planned"] == []
    # What cron would run works (well below 80 %: exit 0, and --quiet prints nothing).
    command = line.split(" root ", 1)[1]
    ran = server.run(["sh", "-c", command], check=False)
    assert (ran.returncode, ran.stdout) == (0, ""), ran.stderr

    server.datakeeper("disk", "alert", "disable")
    assert not server.path(CRON).exists()
    status = json.loads(server.datakeeper("--json", "disk", "alert", "status").stdout)
    assert status["enabled"] is False
    log = server.path(ACTIONS).read_text()
    assert f"create {CRON}" in log and f"remove {CRON}" in log


def test_alert_enable_needs_root(server):
    set_up(server)
    refused = server.datakeeper("disk", "alert", "enable", user="alice", check=False)
    assert refused.returncode == 3
    assert not server.path(CRON).exists()
