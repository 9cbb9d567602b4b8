"""`check` points the way: to `init` on a server not set up yet, to `recover` after a wipe."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.sandbox


def test_before_setup_check_points_to_init(server):
    result = server.datakeeper("check", check=False)
    assert result.returncode == 2
    assert result.stderr == (
        "datakeeper: error: /data/config/datakeeper.toml: no such file; "
        "not set up yet? run 'sudo datakeeper init'\n"
    )


def test_after_a_wipe_check_says_accounts_are_missing_and_recover_brings_them_back(site):
    site.datakeeper("user", "add", "alice", "--yes")
    site.reboot()
    result = site.datakeeper("check", check=False)
    assert result.returncode == 1
    first = result.stdout.splitlines()[0]
    assert first.startswith("! 2 registered accounts are missing on this server (admin, alice)")
    assert "'sudo datakeeper recover' brings them back" in first
    assert result.stdout.splitlines()[-1].endswith("; run 'sudo datakeeper recover' first")
    report = json.loads(site.datakeeper("check", "--json", check=False).stdout)
    assert report["next_command"] == "sudo datakeeper recover"
    site.datakeeper("recover")
    report = json.loads(site.datakeeper("check", "--json", check=False).stdout)
    assert report["advice"] == [] and report["next_command"] is None
