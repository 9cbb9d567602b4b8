"""The command line as people type it: global options before or after the command,
usage errors as one line with exit 2, --json on every command, no traceback ever."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from datakeeper import crashlog
from datakeeper.cli import app as app_module
from datakeeper.cli.app import app, main
from datakeeper.cli.argv import hoist_global_options


def _leaf_commands() -> list[list[str]]:
    """Every command path a person can run (``["user", "add"]``), groups with a
    callback of their own included (``["disk"]``)."""
    found: list[list[str]] = []

    def walk(command, path):
        subcommands = getattr(command, "commands", None)
        if not subcommands:
            found.append(path)
            return
        if path and command.callback is not None:
            found.append(path)
        for name, sub in subcommands.items():
            walk(sub, [*path, name])

    walk(typer.main.get_command(app), [])
    return found


COMMANDS = _leaf_commands()


def test_the_command_tree_is_what_the_readme_lists():
    assert ["user", "add"] in COMMANDS and ["fix-permissions"] in COMMANDS
    assert len(COMMANDS) > 25


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_every_command_accepts_the_global_options_after_its_name(path):
    result = CliRunner().invoke(app, [*path, "--json", "--yes", "--dry-run", "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["check", "--json"], ["--json", "check"]),
        (["fix-permissions", "--shared", "--yes"], ["--yes", "fix-permissions", "--shared"]),
        (["recover", "--dry-run", "-y"], ["--dry-run", "-y", "recover"]),
        (
            ["user", "show", "alice", "--config", "/x.toml"],
            ["--config", "/x.toml", "user", "show", "alice"],
        ),
        (["check", "--config=/x.toml"], ["--config=/x.toml", "check"]),
        # an option's value stays its value, even when it looks like a global option
        (
            ["user", "add", "bob", "--full-name", "--json"],
            ["user", "add", "bob", "--full-name", "--json"],
        ),
        # after "--" nothing is an option
        (["user", "add", "--", "--yes"], ["user", "add", "--", "--yes"]),
    ],
)
def test_global_options_move_in_front_of_the_command(argv, expected):
    assert hoist_global_options(argv, typer.main.get_command(app)) == expected


def _main(capsys, *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as ended:
        main(list(argv))
    out, err = capsys.readouterr()
    return ended.value.code, out, err


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["check", "--jsn"], "No such option: --jsn; run 'datakeeper check --help' for usage"),
        (["usr"], "No such command 'usr'"),
        (["user", "add"], "Missing argument 'name'; run 'datakeeper user add --help'"),
        (["disk", "--jobs", "0"], "Invalid value for '--jobs'"),
    ],
)
def test_a_usage_error_is_one_line_and_exit_2(capsys, argv, says):
    code, out, err = _main(capsys, *argv)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("datakeeper: error: ")
    assert says in err
    assert "Usage:" not in err and "Try " not in err


def test_recovery_hook_honours_json(capsys, tmp_path):
    config = tmp_path / "site.toml"
    code, out, _err = _main(capsys, "--config", str(config), "recovery", "hook", "--json")
    assert code == 0
    assert "recover --boot" in json.loads(out)["hook"]


def test_storage_mark_dry_run_honours_json(capsys, tmp_path):
    config = tmp_path / "site.toml"
    config.write_text(f'[storage]\ndata_root = "{tmp_path}"\nbackup_root = ""\n')
    argv = ["--config", str(config), "storage", "mark", str(tmp_path), "--not-a-mount"]
    code, out, _err = _main(capsys, *argv, "--dry-run", "--json")
    assert code == 0
    assert json.loads(out) == {
        "marker": str(tmp_path / ".datakeeper-storage"),
        "dry_run": True,
        "written": False,
    }
    assert not (tmp_path / ".datakeeper-storage").exists()


def test_an_unexpected_error_is_one_line_with_the_log_of_its_details(capsys, tmp_path, monkeypatch):
    def broken(*_args, **_kwargs):
        raise RuntimeError("the unforeseen\nhappened")

    monkeypatch.setattr(crashlog, "ROOT_LOG_DIR", tmp_path / "root-logs")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(app_module.typer.main, "get_command", lambda _app: _Raising(broken))
    code, out, err = _main(capsys, "env")
    assert code == 1 and out == ""
    assert err.count("\n") == 1
    assert "unexpected error: RuntimeError: the unforeseen happened; details in " in err
    log = err.rsplit("details in ", 1)[1].strip()
    assert os.stat(log).st_mode & 0o777 == 0o600
    text = Path(log).read_text(encoding="utf-8")
    assert "Traceback (most recent call last)" in text and "command: datakeeper env" in text


class _Raising:
    def __init__(self, error_source) -> None:
        self.main = error_source


def test_install_sh_help_is_its_header_and_nothing_else():
    script = Path(__file__).resolve().parents[2] / "install.sh"
    result = subprocess.run(["sh", str(script), "--help"], capture_output=True, text=True)
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Install datakeeper onto persistent storage")
    assert lines[-1].startswith("3 refused")
    assert "set -eu" not in result.stdout


def _groups() -> list[list[str]]:
    found = [[]]
    for path in COMMANDS:
        for end in range(1, len(path)):
            if path[:end] not in found:
                found.append(path[:end])
    return found


@pytest.mark.parametrize("path", _groups(), ids=lambda p: " ".join(p) or "datakeeper")
def test_help_lists_every_command_with_a_summary_that_fits_80_columns(path):
    result = CliRunner().invoke(app, [*path, "--help"], terminal_width=80)
    commands = result.output.split("Commands:", 1)[1]
    assert "..." not in commands, commands
    assert all(len(line) <= 80 for line in commands.splitlines())
