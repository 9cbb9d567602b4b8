"""Shared by every test: the disposable-server fixtures, the sandbox mark, the attack tally.

Tests under tests/sandbox/ and tests/attacks/ run in disposable servers
(tests/support/server_fixtures.py) and get the ``sandbox`` mark even where a
module forgets it. Tests under tests/attacks/ each reproduce one attack found
against datakeeper; the run ends with ``attacks: N tried, M succeeded`` so that
CI logs show the figure (an attack "succeeds" when its test fails).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support.catalogs import compile_if_stale

pytest_plugins = ("tests.support.server_fixtures",)

# Tests read English unless they ask for Korean, whatever the developer's locale.
# DATAKEEPER_TEST_LANG runs a whole test module in another language (the Korean
# menu snapshots run tests/tui/test_snapshots.py that way, in a child pytest).
for _variable in ("LANGUAGE", "LC_ALL", "LC_MESSAGES"):
    os.environ.pop(_variable, None)
os.environ["LANG"] = os.environ.get("DATAKEEPER_TEST_LANG", "C.UTF-8")
compile_if_stale()  # the Korean tests read the compiled catalog of the .po being tested

TESTS = Path(__file__).parent
SERVER_DIRS = (TESTS / "sandbox", TESTS / "attacks")
ATTACKS = TESTS / "attacks"
_tally: dict[str, set[str]] = {"tried": set(), "succeeded": set()}


@pytest.fixture(autouse=True)
def crash_logs(tmp_path_factory, monkeypatch) -> Path:
    """Unexpected errors write their details here, never to the host's /var/log."""
    folder = tmp_path_factory.mktemp("crash-logs")
    monkeypatch.setattr("datakeeper.crashlog.ROOT_LOG_DIR", folder)
    monkeypatch.setenv("XDG_CACHE_HOME", str(folder))
    return folder


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test in a server folder is a sandbox test, even where a module forgets the mark."""
    for item in items:
        if any(folder in item.path.parents for folder in SERVER_DIRS):
            item.add_marker(pytest.mark.sandbox)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Count attack tests as their reports arrive (under pytest-xdist: on the controller)."""
    if not report.nodeid.startswith("tests/attacks/"):
        return
    if report.when == "call" or (report.when == "setup" and report.failed):
        _tally["tried"].add(report.nodeid)
        if report.failed:
            _tally["succeeded"].add(report.nodeid)


def pytest_terminal_summary(terminalreporter) -> None:
    """The attack figure, on a line of its own, whenever attack tests ran."""
    if _tally["tried"]:
        tried, succeeded = len(_tally["tried"]), len(_tally["succeeded"])
        terminalreporter.write_line(f"attacks: {tried} tried, {succeeded} succeeded")
