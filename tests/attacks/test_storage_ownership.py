"""Issue 11, item 1: the admin account must not become root through ``/data`` ownership.

An older datakeeper made the storage roots ``<admin>:<group>`` 3775, so the admin
(a non-root account such as ubuntu) could rename root's ``/data/apps`` away and
plant ``apps/datakeeper/current/bin/datakeeper``, which root then ran at boot
(the unit, the hook line). Now the roots are ``root:<group>`` 3775, and the
boot entry runs only a copy whose path is root's all the way up.
"""

from __future__ import annotations

import os

from tests.support.site_setup import ADMIN

TOOL = "/data/apps/datakeeper/current/bin/datakeeper"
PWNED = "/run/pwned-by-admin"  # only root can write in /run: proof the fake ran as root
PLANT = (
    "mv /data/apps /data/.x && mkdir -p /data/apps/datakeeper/current/bin && "
    f"printf '#!/bin/sh\\nid -u > {PWNED}\\n' > {TOOL} && chmod 755 {TOOL}"
)
UNIT = "/etc/systemd/system/datakeeper-recovery.service"


def _plant(server):
    """As the admin: swap root's apps folder for one holding a fake datakeeper."""
    return server.run(["sh", "-c", PLANT], user=ADMIN, check=False)


def test_admin_cannot_move_apps_away_and_plant_a_fake_datakeeper(site):
    result = _plant(site)
    assert result.returncode != 0
    assert "Operation not permitted" in result.stderr
    assert site.run(["stat", "-c", "%u", "/data/apps"]).stdout.strip() == "0"
    assert not os.path.lexists(site.path(TOOL))
    assert not os.path.lexists(site.path("/data/.x"))
    # the group bit still lets the admin make folders on the data disk
    assert site.run(["mkdir", "/data/admin-made"], user=ADMIN, check=False).returncode == 0


def _refused(result) -> None:
    assert result.returncode == 3
    [line] = result.stderr.splitlines()
    assert line.startswith(f"datakeeper: refused to run {TOOL}: /data is not root-only")


def test_a_copy_planted_under_an_admin_owned_data_root_is_refused_at_boot(site):
    server = site
    hook = server.datakeeper("recovery", "hook").stdout.strip()
    server.datakeeper("recovery", "enable")
    [exec_start] = [
        line.removeprefix("ExecStart=")
        for line in server.path(UNIT).read_text().splitlines()
        if line.startswith("ExecStart=")
    ]
    server.run(["chown", ADMIN, "/data"])  # the layout an older datakeeper made
    assert _plant(server).returncode == 0
    _refused(server.run(["sh", "-c", hook], check=False))
    # The sandbox has no systemd: the unit's line has no "$" or "%", so sh reads its
    # quoting as systemd does.
    _refused(server.run(["sh", "-c", exec_start], check=False))
    assert not os.path.lexists(server.path(PWNED))
