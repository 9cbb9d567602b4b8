"""``datakeeper config show|validate`` through the real console script."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from datakeeper.config import SiteConfig, parse_config

SCRIPT = Path(sys.executable).parent / "datakeeper"
INVALID = 'group = "Alice"\n[sudo]\ndropin_nam = "x"\n[alert]\nthreshold_percent = 0\n'


def run(*args: str, config_env: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run the console script with a clean environment (no inherited DATAKEEPER_CONFIG)."""
    env = {k: v for k, v in os.environ.items() if k != "DATAKEEPER_CONFIG"}
    if config_env is not None:
        env["DATAKEEPER_CONFIG"] = config_env
    return subprocess.run(
        [str(SCRIPT), *args], capture_output=True, text=True, env=env, timeout=60, check=False
    )


@pytest.fixture
def custom(tmp_path: Path) -> Path:
    path = tmp_path / "site.toml"
    path.write_text('group = "lab"\nadmin = "alice"\n[storage]\ndata_root = "/srv/data"\n')
    return path


def test_script_is_installed() -> None:
    assert SCRIPT.is_file(), f"install the package into the venv first: {SCRIPT}"


def test_show_prints_the_effective_config_as_toml(custom: Path) -> None:
    result = run("--config", str(custom), "config", "show")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    config = parse_config(result.stdout, "stdout")
    assert (config.group, config.admin) == ("lab", "alice")
    assert config.state_dir == Path("/srv/data/config/datakeeper")
    assert "[[folders]]" in result.stdout


def test_show_json(custom: Path) -> None:
    result = run("--config", str(custom), "--json", "config", "show")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["group"] == "lab"
    assert data["storage"]["data_root"] == "/srv/data"
    assert data["folders"][0] == {"path": "users", "mode": "2755", "owner": "root"}


def test_show_without_a_file_prints_defaults_and_a_note(tmp_path: Path) -> None:
    missing = tmp_path / "absent.toml"
    result = run("--config", str(missing), "config", "show")
    assert result.returncode == 0, result.stderr
    assert parse_config(result.stdout, "stdout") == SiteConfig()
    assert result.stderr == (
        f"datakeeper: note: no config file at {missing}; showing the defaults\n"
    )


def test_validate_valid_file(custom: Path) -> None:
    result = run("config", "validate", str(custom))
    assert (result.returncode, result.stdout) == (0, f"{custom}: valid\n")


def test_validate_lists_every_error_and_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(INVALID)
    result = run("--config", str(path), "config", "validate")
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith(f'datakeeper: error: {path}: group = "Alice": ')
    assert any(f"{path}: sudo.dropin_nam: unknown key" in line for line in lines)
    assert any(f"{path}: alert.threshold_percent = 0: " in line for line in lines)


def test_validate_json(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(INVALID)
    result = run("--json", "config", "validate", str(path))
    assert result.returncode == 2
    data = json.loads(result.stdout)
    assert (data["path"], data["valid"], len(data["errors"])) == (str(path), False, 3)


def test_validate_missing_file_exits_2(tmp_path: Path) -> None:
    missing = tmp_path / "absent.toml"
    result = run("config", "validate", str(missing))
    assert result.returncode == 2
    assert result.stderr.startswith(f"datakeeper: error: {missing}: no such file;")


def test_other_commands_report_one_line_for_an_invalid_config(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(INVALID)
    result = run("--config", str(path), "config", "show")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert result.stderr.rstrip().endswith(
        '(and 2 more; run "datakeeper config validate" to see all)'
    )


def test_datakeeper_config_env_is_respected(custom: Path) -> None:
    result = run("--json", "config", "show", config_env=str(custom))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["group"] == "lab"
    result = run("config", "validate", config_env=str(custom))
    assert (result.returncode, result.stdout) == (0, f"{custom}: valid\n")


def test_help_does_not_import_pydantic() -> None:
    code = "import sys, datakeeper.cli.app; print('pydantic' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "False"


def test_help_imports_no_feature_engine_or_rich_module() -> None:
    """The commands import them inside their functions, so ``--help`` starts fast."""
    heavy = ("datakeeper.features", "datakeeper.engine", "datakeeper.resources", "rich")
    code = (
        "import sys, datakeeper.cli.app; "
        f"print(sorted(m for m in sys.modules if m.startswith({heavy!r})))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "[]"


def test_log_show_prints_what_an_applied_change_found(tmp_path: Path) -> None:
    """A merge or cleanup records its result in ``details``; ``log show`` shows it."""
    data = tmp_path / "data"
    config = tmp_path / "site.toml"
    config.write_text(f'group = "lab"\nadmin = "alice"\n[storage]\ndata_root = "{data}"\n')
    state = data / "config" / "datakeeper"
    state.mkdir(parents=True)
    entry = {
        "time": "2026-12-04T10:00:00+0000",
        "actor": "root",
        "resource": "home /home/alice",
        "change": "move the content of /home/alice into /data/users/alice",
        "outcome": "applied",
        "details": {"result": "1 conflict kept under rescued-20261204T100000"},
    }
    (state / "actions.log").write_text(json.dumps(entry) + "\n")
    (state / "actions.log").chmod(0o600)
    done = run("--config", str(config), "log", "show")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "home /home/alice: move the content of /home/alice" in lines[0]
    assert lines[1].strip() == "1 conflict kept under rescued-20261204T100000"
