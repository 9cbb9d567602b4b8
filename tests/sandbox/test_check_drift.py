"""`datakeeper check` finds drift in the boot units, the alert schedule and the packages
from the same plans `recovery enable`, `disk alert enable` and `packages install` apply;
`check --fix` (or the command again) converges it. systemd is the stand-in of
tests/support/fake_systemctl.py (the sandbox has no systemd)."""

from __future__ import annotations

import json
import re

import pytest

from tests.support import fake_systemctl
from tests.support.site_setup import check_site, failed_checks

pytestmark = pytest.mark.sandbox

RECOVERY_UNIT = "/etc/systemd/system/datakeeper-recovery.service"
TIMER = "datakeeper-disk-alert.timer"
TOOL = "/data/apps/tools/ruff/bin/ruff"
LINK = "/usr/local/bin/ruff"


@pytest.fixture
def booted(site):
    """The initialized site, booted with (a stand-in of) systemd."""
    fake_systemctl.install(site)
    return site


def _lines(report: dict, group: str) -> list[dict]:
    return [line for line in report["results"] if line["group"] == group]


def _planned(server, *command: str) -> list[str]:
    """The changes a dry run of ``command`` plans (--json)."""
    out = json.loads(server.datakeeper("--json", "--dry-run", *command).stdout)
    return [change["change"] for change in out["planned"]]


def _stamp_free(text: str) -> str:
    return re.sub(r"datakeeper-old-\d{8}T\d{6}", "datakeeper-old-TIME", text)


def _assert_converged(server, group: str) -> None:
    code, report = check_site(server)
    assert failed_checks(report) == [] and code == 0
    lines = _lines(report, group)
    assert lines and {line["status"] for line in lines} == {"PASS"}


def test_an_edited_boot_unit_fails_with_the_change_recovery_enable_makes(booted):
    server = booted
    server.datakeeper("recovery", "enable")
    _assert_converged(server, "BOOT")
    server.run(["sh", "-c", f"echo '# edited by hand' >> {RECOVERY_UNIT}"])
    code, report = check_site(server)
    failed = failed_checks(report)
    assert code == 1 and {line["group"] for line in failed} == {"BOOT"}
    assert f"file {RECOVERY_UNIT}" in {line["subject"] for line in failed}
    details = [_stamp_free(line["detail"]) for line in failed]
    assert any(d.startswith(f"replace {RECOVERY_UNIT}; the old file is kept") for d in details)
    assert details == [_stamp_free(c) for c in _planned(server, "recovery", "enable")]
    check_site(server, "--fix", check=True)
    _assert_converged(server, "BOOT")
    assert "edited by hand" not in server.path(RECOVERY_UNIT).read_text()


def test_a_disabled_timer_fails_with_the_change_disk_alert_enable_makes(booted):
    server = booted
    server.datakeeper("disk", "alert", "enable")
    _assert_converged(server, "ALERT")
    server.run(["systemctl", "disable", "--now", TIMER])
    code, report = check_site(server)
    [failed] = failed_checks(report)
    assert code == 1 and (failed["group"], failed["subject"]) == ("ALERT", f"timer {TIMER}")
    assert failed["detail"] == f"reload systemd, enable and start {TIMER}"
    assert _planned(server, "disk", "alert", "enable") == [failed["detail"]]
    server.datakeeper("disk", "alert", "enable")  # the command converges it too
    _assert_converged(server, "ALERT")
    assert server.run(["systemctl", "is-active", TIMER]).stdout.strip() == "active"


def test_a_removed_tool_link_fails_with_the_change_packages_install_makes(site):
    server = site
    # ruff already on the data disk: installing it only links it (no download here).
    server.run(["mkdir", "-p", TOOL.rsplit("/", 1)[0]])
    server.run(["sh", "-c", f"printf '#!/bin/sh\\necho ruff\\n' > {TOOL}; chmod 755 {TOOL}"])
    server.datakeeper("packages", "install", "ruff")
    _assert_converged(server, "PACKAGES")
    server.run(["rm", LINK])
    code, report = check_site(server)
    [failed] = failed_checks(report)
    assert code == 1 and (failed["group"], failed["subject"]) == ("PACKAGES", f"symlink {LINK}")
    install = json.loads(
        server.datakeeper("--json", "--dry-run", "packages", "install", "ruff").stdout
    )
    assert install[0]["changes"] == [failed["detail"]]
    check_site(server, "--fix", check=True)
    _assert_converged(server, "PACKAGES")
    assert server.run([LINK]).stdout == "ruff\n"


def test_storage_roots_owned_by_the_admin_fail_until_check_fix_gives_them_to_root(site):
    server = site
    server.run(["chown", "admin", "/data", "/backup"])  # the layout an older datakeeper made
    code, report = check_site(server)
    failed = {(line["group"], line["subject"]): line["detail"] for line in failed_checks(report)}
    assert code == 1
    for root in ("/data", "/backup"):
        assert failed[("TRUST", root)] == (
            "owned by admin: root runs programs below it, and its owner can rename any "
            "entry and put another in its place; fix: datakeeper check --fix (makes it "
            "root:gpu-users)"
        )
        assert failed[("STORAGE", f"directory {root}")].startswith(f"fix {root}: owner")
    assert "/data is owned by admin, not root" in failed[("TRUST", "/data/config/datakeeper.toml")]
    check_site(server, "--fix", check=True)
    code, report = check_site(server)
    assert (code, failed_checks(report)) == (0, [])
    owners = server.run(["stat", "-c", "%U:%G %a", "/data", "/backup"]).stdout.split("\n")
    assert owners[:2] == ["root:gpu-users 3775", "root:gpu-users 3775"]
