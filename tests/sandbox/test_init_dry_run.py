"""`datakeeper --dry-run init` on a fresh server: the whole plan, nothing changed.

Each step is planned against the state the steps before it would leave (the
admin's SSD home moved aside, the group created), so the dry run shows what
the real run then does instead of failing on the home link.
"""

from __future__ import annotations

import json

import pytest

# An admin whose home is a real directory on the SSD, and a download-free config.
from tests.support.site_setup import prepare_site as _fresh_server_with_admin

pytestmark = pytest.mark.sandbox

STEPS = ("GROUP", "STORAGE", "FOLDERS", "ADMIN", "ENV", "SUDO")


def _init(server, *args: str, check: bool = True):
    return server.datakeeper(*args, "init", "--group", "gpu-users", "--admin", "admin", check=check)


def test_dry_run_of_a_fresh_setup_plans_every_step_and_changes_nothing(server):
    _fresh_server_with_admin(server)
    before = server.snapshot()

    result = _init(server, "--dry-run", check=False)

    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    for index, key in enumerate(STEPS, start=1):
        assert f"[{index}/6] {key}:" in out
    assert "✗" not in out and "FAILED" not in out and "incomplete" not in out, out
    assert "move the content of /home/admin" in out
    assert "link /home/admin -> /data/users/admin" in out
    assert "create group gpu-users" in out
    assert server.snapshot() == before
    assert server.run(["test", "-d", "/home/admin", "-a", "!", "-L", "/home/admin"]).returncode == 0
    assert server.run(["getent", "group", "gpu-users"], check=False).returncode != 0


def test_after_the_real_run_a_dry_run_plans_nothing(server):
    _fresh_server_with_admin(server)
    planned = json.loads(_init(server, "--json", "--dry-run").stdout)
    assert planned["ok"], planned
    assert {s["status"] for s in planned["steps"]} == {"planned"}

    done = json.loads(_init(server, "--json", "--yes").stdout)
    assert done["ok"], done
    # the dry run showed what the real run then did, change for change
    assert [len(s["changes"]) for s in done["steps"]] == [
        len(s["changes"]) for s in planned["steps"]
    ]
    assert server.run(["readlink", "/home/admin"]).stdout.strip() == "/data/users/admin"

    again = json.loads(_init(server, "--json", "--dry-run").stdout)
    assert [s["changes"] for s in again["steps"]] == [[]] * len(STEPS)
    assert {s["status"] for s in again["steps"]} == {"unchanged"}
