"""Long work shows a bar on a terminal and prints nothing extra in a pipe."""

from __future__ import annotations

import sys

import pytest

pytestmark = pytest.mark.sandbox


@pytest.fixture
def site(site):
    for name in ("alice", "bob", "carol"):
        site.datakeeper("user", "add", name, "--yes")
    site.reboot()
    return site


def test_recover_on_a_terminal_shows_its_steps_as_a_bar(site):
    result = site.dialog([sys.executable, "-m", "datakeeper", "recover"], [])
    # groups, four accounts (the admin and three members), five site steps
    assert "recovering" in result.stdout and "11/11 steps" in result.stdout, result.stdout
    last = result.stdout.rsplit("recovering", 1)[1]
    assert "checking permissions" not in last  # work inside it leaves the screen when done


def test_recover_in_a_pipe_prints_no_bar(site):
    result = site.datakeeper("recover")
    assert "recovering" not in result.stdout + result.stderr
    assert "steps" not in result.stderr
