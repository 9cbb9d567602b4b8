"""Issue 11, item 9: a member running an admin command got a PermissionError traceback.

The attack (information, and noise): alice runs ``datakeeper user list``,
``user show``, ``check``, ``recovery status`` or ``log show``. The registry and
the action log are root's (0600), so Python printed a traceback naming the
files and the code. Now each is one line, ``datakeeper: error: … needs root;
run it with sudo``, exit 3.
"""

from __future__ import annotations

import json

import pytest

COMMANDS = [
    ("user", "list"),
    ("user", "show", "admin"),  # someone else's account
    ("check",),
    ("log", "show"),
]


@pytest.fixture
def site(site):
    site.run(["useradd", "--create-home", "--groups", "gpu-users", "alice"])
    return site


@pytest.mark.parametrize("argv", COMMANDS, ids=[" ".join(c) for c in COMMANDS])
def test_member_running_an_admin_command_gets_one_line_and_exit_3(site, argv):
    result = site.datakeeper(*argv, user="alice", check=False)
    assert result.returncode == 3, result.stdout + result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    [line] = result.stderr.splitlines()
    assert line.startswith("datakeeper: error: ")
    assert line == f"datakeeper: error: {' '.join(argv[:2])} needs root; run it with sudo"


def test_a_member_sees_their_own_account_without_secrets(site):
    result = site.datakeeper("user", "show", "alice", user="alice", check=False)
    assert result.returncode == 0, result.stderr
    shown = dict(line.split(None, 1) for line in result.stdout.splitlines())
    assert shown["name"] == "alice"
    assert shown["groups"] == "gpu-users"  # a person's value, not ['gpu-users']
    assert shown["keys"] == "-"
    assert "unknown" in shown["state"]
    assert "$" not in result.stdout and "password" not in result.stdout
    data = json.loads(site.datakeeper("user", "show", "alice", "--json", user="alice").stdout)
    assert "registry" not in data and data["uid"] == int(site.run(["id", "-u", "alice"]).stdout)


def test_a_member_sees_the_recovery_state_anyone_may_know(site):
    site.datakeeper("recover")
    result = site.datakeeper("recovery", "status", "--json", user="alice", check=False)
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert found["enabled"] is None  # the flag's folder is root's
    assert found["done_marker"] is True
    assert found["last_run"]["ok"] is None
    assert "recovered" in found["last_run"]["summary"]
    text = site.datakeeper("recovery", "status", user="alice").stdout
    assert "unknown (only root can read the flag)" in text
