"""Issue 11, item 9: a member running an admin command got a PermissionError traceback.

The attack (information, and noise): alice runs ``datakeeper user list``,
``user show``, ``check``, ``recovery status`` or ``log show``. The registry and
the action log are root's (0600), so Python printed a traceback naming the
files and the code. Now each is one line, ``datakeeper: error: … needs root;
run it with sudo``, exit 3.
"""

from __future__ import annotations

import pytest

COMMANDS = [
    ("user", "list"),
    ("user", "show", "admin"),
    ("check",),
    ("recovery", "status"),
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
