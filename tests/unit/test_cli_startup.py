"""Start-up (issue 19): ``datakeeper --help`` answers before Typer loads, exactly as
Click would have written it; every other command loads only its own module, and
nothing loads Textual, pydantic, huggingface_hub or Rich that does not need them."""

from __future__ import annotations

import errno
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from datakeeper import __version__
from datakeeper.cli import entry, quick
from datakeeper.cli.app import app, main
from datakeeper.cli.commands import COMPLETE_VAR

HEAVY = ("textual", "pydantic", "huggingface_hub", "rich", "typer")
# What a run records when it ends: the heavy packages and command modules it imported,
# and how many catalogs it read.
_RECORDER = """
import atexit, json, sys
def _record():
    import datakeeper.i18n as i18n
    loaded = sorted(m for m in sys.modules if m in {heavy!r} or m.endswith("_cmd"))
    catalogs = i18n.translation_for.cache_info().currsize
    with open({out!r}, "w") as handle:
        json.dump({{"loaded": loaded, "catalogs": catalogs}}, handle)
atexit.register(_record)
sys.argv = ["datakeeper", *{argv!r}]
from datakeeper.cli.entry import console
sys.exit(console())
"""


def _loaded_by(tmp_path: Path, *argv: str, lang: str = "ko_KR.UTF-8") -> dict:
    """What ``datakeeper ARGV`` imported, run as the console script runs it."""
    out = tmp_path / "loaded.json"
    code = _RECORDER.format(heavy=HEAVY, out=str(out), argv=list(argv))
    env = {k: v for k, v in os.environ.items() if k not in ("DATAKEEPER_CONFIG", COMPLETE_VAR)}
    env["LANG"] = lang
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    assert result.returncode in (0, 1), result.stderr
    return json.loads(out.read_text())


def test_help_and_version_load_no_parser_and_no_command(tmp_path):
    helped = _loaded_by(tmp_path, "--help")
    assert helped == {"loaded": [], "catalogs": 1}  # the Korean catalog, nothing else
    versioned = _loaded_by(tmp_path, "--version")
    assert versioned == {"loaded": [], "catalogs": 0}


@pytest.mark.parametrize(
    ("argv", "commands"),
    [
        (["user", "--help"], ["user_cmd", "user_migrate_cmd", "user_remove_cmd"]),
        (["user", "add", "--help"], ["user_cmd", "user_migrate_cmd", "user_remove_cmd"]),
        (["env", "--help"], ["env_cmd"]),
    ],
)
def test_a_command_help_loads_its_own_module_and_not_pydantic(tmp_path, argv, commands):
    loaded = _loaded_by(tmp_path, *argv)["loaded"]
    assert [m.rsplit(".", 1)[1] for m in loaded if m.endswith("_cmd")] == commands
    assert [m for m in loaded if not m.endswith("_cmd")] == ["typer"]


def test_gpu_json_without_a_gpu_loads_no_menu_config_or_tables(tmp_path):
    loaded = _loaded_by(tmp_path, "gpu", "--json")["loaded"]
    assert [m for m in loaded if m in HEAVY] == ["typer"]


def test_guide_loads_no_menu_and_no_hub_client(tmp_path):
    loaded = _loaded_by(tmp_path, "guide", "--config", str(tmp_path / "missing.toml"))["loaded"]
    assert "textual" not in loaded and "huggingface_hub" not in loaded


# Whether the objects alive when datakeeper ends are frozen by the time atexit runs,
# started as ``python -m datakeeper`` or as the installed console script starts it.
_EXIT_PROBE = """
import atexit, gc, runpy, sys
from importlib.metadata import entry_points
atexit.register(lambda: print("frozen at exit:", gc.get_freeze_count() > 0))
sys.argv = ["datakeeper", *{argv!r}]
if {as_module!r}:
    runpy.run_module("datakeeper", run_name="__main__", alter_sys=True)
else:
    (script,) = entry_points(group="console_scripts", name="datakeeper")
    sys.exit(script.load()())
"""


@pytest.mark.parametrize("as_module", [True, False], ids=["python -m", "console script"])
@pytest.mark.parametrize("argv", [["--version"], ["gpu", "--json"]])
def test_the_exit_skips_collecting_what_datakeeper_leaves(as_module, argv):
    """Python's exit collects cycles over every object alive (~13 ms after Typer and
    pydantic, benchmarks/disk_usage.py); datakeeper freezes them first, and its own
    atexit handlers and output are untouched."""
    code = _EXIT_PROBE.format(argv=argv, as_module=as_module)
    env = {k: v for k, v in os.environ.items() if k not in ("DATAKEEPER_CONFIG", COMPLETE_VAR)}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    assert result.returncode == 0, result.stderr
    output, probe = result.stdout.rsplit("frozen at exit: ", 1)
    assert probe == "True\n"
    if argv == ["--version"]:  # the command's own output came first, whole
        assert output == f"datakeeper {__version__}\n"
    else:
        assert isinstance(json.loads(output), dict)


def _quick_matches_click(lang: str) -> list[int]:
    """The widths at which the quick help differs from Click's, in language ``lang``."""
    code = (
        "import json, sys\n"
        "from datakeeper import i18n\n"
        f"i18n.set_language({lang!r})\n"
        "from typer.testing import CliRunner\n"
        "from datakeeper.cli.app import app\n"
        "from datakeeper.cli.quick import root_help\n"
        "bad = [w for w in range(40, 131)\n"
        "       if CliRunner().invoke(app, ['--help'], terminal_width=w).output\n"
        "       != root_help(w) + '\\n']\n"
        "print(json.dumps(bad))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    return json.loads(result.stdout)


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_the_quick_help_is_clicks_to_the_character_at_every_width(lang):
    assert _quick_matches_click(lang) == []


@pytest.mark.parametrize("columns", ["60", "200"])
def test_the_console_script_prints_the_same_help_both_ways(columns):
    """``--yes --help`` goes through Typer; ``--help`` alone is answered before it."""
    env = {**os.environ, "COLUMNS": columns, "LANG": "ko_KR.UTF-8"}
    script = [sys.executable, "-m", "datakeeper"]
    quick_run = subprocess.run([*script, "--help"], capture_output=True, text=True, env=env)
    typer_run = subprocess.run(
        [*script, "--yes", "--help"], capture_output=True, text=True, env=env
    )
    assert quick_run.returncode == typer_run.returncode == 0
    assert quick_run.stdout == typer_run.stdout
    assert "init" in quick_run.stdout and "fix-permissions" in quick_run.stdout


@pytest.mark.parametrize(
    "argv",
    [["--help"], ["-h"], ["--lang", "ko", "--help"], ["--help", "--lang=en"]],
)
def test_help_alone_is_answered_quickly(argv, monkeypatch):
    monkeypatch.delenv(COMPLETE_VAR, raising=False)
    answer = quick.quick_answer(argv)
    assert answer is not None and answer.startswith(("Usage: datakeeper", "사용법: datakeeper"))


@pytest.mark.parametrize(
    "argv",
    [
        ["--json", "--help"],  # anything else on the line: the full command line answers
        ["user", "--help"],
        ["--lang", "xx", "--help"],  # an invalid value is reported by the command line
        ["--lang", "--help"],
        ["--help", "--help"],
        [],
    ],
)
def test_anything_else_goes_to_the_command_line(argv, monkeypatch):
    monkeypatch.delenv(COMPLETE_VAR, raising=False)
    assert quick.quick_answer(argv) is None


def test_tab_completion_is_never_answered_quickly(monkeypatch):
    monkeypatch.setenv(COMPLETE_VAR, "complete_bash")
    assert quick.quick_answer(["--help"]) is None


def test_version_is_answered_quickly(monkeypatch, capsys):
    monkeypatch.delenv(COMPLETE_VAR, raising=False)
    assert quick.quick_answer(["--version"]) == f"datakeeper {__version__}\n"
    with pytest.raises(SystemExit) as ended:
        main(["--version"])  # the command line's own answer is the same
    assert ended.value.code == 0
    assert capsys.readouterr().out == f"datakeeper {__version__}\n"


def test_a_mistyped_command_is_still_suggested(capsys):
    with pytest.raises(SystemExit) as ended:
        main(["usr"])
    assert ended.value.code == 2
    assert "No such command 'usr'. Did you mean 'user'?" in capsys.readouterr().err


def test_the_root_help_lists_every_command_in_order():
    result = CliRunner().invoke(app, ["--yes", "--help"], terminal_width=80)
    listed = [line.split()[0] for line in result.output.split("Commands:\n", 1)[1].splitlines()]
    assert listed[:7] == ["init", "check", "recover", "gpu", "env", "guide", "fix-permissions"]
    assert listed[7:] == [
        "recovery", "user", "config", "storage", "log", "disk", "packages", "backup", "node",
        "cache",
    ]  # fmt: skip


class _FailingOutput(io.StringIO):
    """Standard output whose writes fail with ``error``; ``fileno`` is a scratch file's."""

    def __init__(self, error: OSError, descriptor: int) -> None:
        super().__init__()
        self.error, self.descriptor = error, descriptor

    def write(self, text: str) -> int:
        raise self.error

    def fileno(self) -> int:
        return self.descriptor


def _quick_help_into(tmp_path, monkeypatch, error: OSError) -> int:
    descriptor = os.open(tmp_path / "stdout", os.O_WRONLY | os.O_CREAT, 0o600)
    monkeypatch.setattr(sys, "stdout", _FailingOutput(error, descriptor))
    monkeypatch.delenv(COMPLETE_VAR, raising=False)
    try:
        with pytest.raises(SystemExit) as ended:
            entry.main(["--help"])
    finally:
        os.close(descriptor)
    return ended.value.code


def test_a_reader_that_went_away_ends_the_quick_help_quietly(tmp_path, monkeypatch, capfd):
    """``datakeeper --help | head -1``: exit 1 and no traceback, as Click does."""
    code = _quick_help_into(tmp_path, monkeypatch, BrokenPipeError(errno.EPIPE, "Broken pipe"))
    assert code == 1
    assert capfd.readouterr().err == ""


def test_a_failed_write_of_the_quick_help_is_one_line_and_a_log(tmp_path, monkeypatch, capsys):
    code = _quick_help_into(tmp_path, monkeypatch, OSError(errno.ENOSPC, "No space left"))
    assert code == 1
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "unexpected error: OSError" in error
