"""``datakeeper backup``: what a user sees before anything is looked at or changed."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from datakeeper.cli.app import app
from datakeeper.errors import InvalidInputError, NotRootError


def _run(*args: str, monkeypatch, euid: int = 0):
    monkeypatch.setattr("os.geteuid", lambda: euid)
    return CliRunner().invoke(app, ["backup", *args])


def test_the_commands_are_listed(monkeypatch):
    result = _run("--help", monkeypatch=monkeypatch)
    for command in ("run", "list", "prune", "verify"):
        assert command in result.output


@pytest.mark.parametrize("command", ["run", "list", "prune", "verify"])
def test_members_are_sent_to_sudo(command, monkeypatch):
    result = _run(command, monkeypatch=monkeypatch, euid=1000)
    assert isinstance(result.exception, NotRootError)
    assert f"backup {command} needs root; run it with sudo" in str(result.exception)


def test_prune_without_a_terminal_needs_yes_or_dry_run(monkeypatch):
    result = _run("prune", monkeypatch=monkeypatch)
    assert isinstance(result.exception, InvalidInputError)
    assert "pass --yes or --dry-run" in str(result.exception)
