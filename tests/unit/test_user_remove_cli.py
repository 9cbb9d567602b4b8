"""``datakeeper user remove`` options: refused before anything is looked at or changed."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from datakeeper.cli.app import app
from datakeeper.engine.session import lock_timeout
from datakeeper.errors import InvalidInputError
from datakeeper.features.users.remove.preview import RemovalPreview
from datakeeper.features.users.remove.request import Target
from datakeeper.resources.symlink_absent import LinkState
from datakeeper.sizes import human_size
from datakeeper.system.home_move import HomeState
from datakeeper.system.safe_delete import TreeUsage


def _run(*args: str):
    return CliRunner().invoke(app, ["user", "remove", *args])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["bob", "--archive", "--purge"], "exclude each other"),
        (["bob", "--yes-delete-data"], "only goes with --purge"),
        (["bob"], "no terminal to ask: pass --yes"),
        (["bob", "--purge", "--yes"], "pass --yes-delete-data"),
        (["bob", "--archive", "--purge", "--yes", "--yes-delete-data"], "exclude each other"),
    ],
)
def test_bad_option_combinations_are_invalid_input(args, message):
    result = _run(*args)
    assert isinstance(result.exception, InvalidInputError), result.output
    assert message in str(result.exception)


def test_help_documents_the_data_options():
    result = _run("--help")
    assert result.exit_code == 0
    for option in ("--archive", "--purge", "--kill-sessions", "--yes-delete-data"):
        assert option in result.output


def _preview(kind: str = "directory", data: str = "keep") -> RemovalPreview:
    usage = TreeUsage(allocated_bytes=5 * 1024 * 1024, files=12, directories=3)
    home = HomeState(Path("/data/users/bob"), kind, (1, 2), 1001, usage)
    link = LinkState(Path("/home/bob"), "link", "/data/users/bob")
    target = Target("bob", 1001, 1001, True, True)
    return RemovalPreview(target, ("bob", "gpu-users"), home, link, [], [], data=data)


def test_preview_shows_size_groups_and_where_the_data_stays():
    text = "\n".join(_preview().lines())
    assert "uid 1001" in text and "bob, gpu-users" in text
    assert "5.0 MiB allocated, 12 files" in text
    assert "kept at /data/users/bob, owned by the old uid 1001" in text
    assert "processes:  none" in text


def test_preview_says_purge_deletes():
    lines = _preview(data="purge").lines()
    assert lines[-1].endswith("DELETED for good")


@pytest.mark.parametrize(
    ("size", "shown"), [(0, "0 B"), (1023, "1023 B"), (2048, "2.0 KiB"), (3 << 30, "3.0 GiB")]
)
def test_human_size(size, shown):
    assert human_size(size) == shown


def test_lock_timeout_comes_from_the_environment_at_call_time(monkeypatch):
    monkeypatch.delenv("DATAKEEPER_LOCK_TIMEOUT", raising=False)
    assert lock_timeout() == 60.0
    monkeypatch.setenv("DATAKEEPER_LOCK_TIMEOUT", "2")
    assert lock_timeout() == 2.0


@pytest.mark.parametrize("value", ["soon", "-1", "inf", "nan"])
def test_a_bad_lock_timeout_is_invalid_input(monkeypatch, value):
    monkeypatch.setenv("DATAKEEPER_LOCK_TIMEOUT", value)
    with pytest.raises(InvalidInputError, match="DATAKEEPER_LOCK_TIMEOUT"):
        lock_timeout()
