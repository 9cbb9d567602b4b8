"""``datakeeper packages``: the catalogue, planning, installing with apt or uv, the record."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from datakeeper.cli.app import app
from datakeeper.config import parse_config
from datakeeper.errors import CommandError, InvalidInputError
from datakeeper.features import packages
from datakeeper.features.check.run import FAIL, PASS, check_step
from datakeeper.features.enabled import enabled_steps
from datakeeper.features.packages import (
    catalogue,
    install_packages,
    package_resources,
    resolve,
    resources_for,
)
from datakeeper.features.recovery.recover import without_downloads
from datakeeper.resources import Directory, Symlink, apt, software
from datakeeper.resources.apt import AptLists, AptPackage
from datakeeper.resources.software import PythonTool
from datakeeper.storage import MARKER_NAME

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="the record file is root's")


class FakeSystem:
    """dpkg's view and every command run, in place of the real system."""

    def __init__(self, installed=(), failing=()):
        self.installed = set(installed)
        self.failing = set(failing)
        self.commands: list[list[str]] = []

    def run(self, argv, *, timeout=120, **_kw):
        self.commands.append(list(argv))
        if argv[-1] in self.failing:
            raise CommandError(f"apt-get install {argv[-1]} failed (exit 100): not found")
        if "install" in argv and "apt-get" in argv:
            self.installed.add(argv[-1])

    def dpkg_installed(self, package):
        return package in self.installed


@pytest.fixture
def system(monkeypatch) -> FakeSystem:
    fake = FakeSystem()
    monkeypatch.setattr(apt, "run", fake.run)
    monkeypatch.setattr(software, "run", fake.run)
    monkeypatch.setattr(apt, "dpkg_installed", fake.dpkg_installed)
    monkeypatch.setattr(apt, "lists_fresh", lambda: True)
    return fake


def _cfg(root: Path, uv: bool = False):
    text = f'admin = "admin"\n[storage]\ndata_root = "{root}"\nbackup_root = ""\n'
    text += f"[uv]\nenabled = {'true' if uv else 'false'}\n[conda]\nenabled = false\n"
    return parse_config(text, "test.toml")


def test_the_catalogue_has_the_required_tools_under_their_debian_names():
    by_name = {p.name: p for p in catalogue()}
    for name in ("fzf", "ripgrep", "fd", "bat", "neovim", "btop", "nvtop", "ruff"):
        assert name in by_name
    assert by_name["fd"].source == "fd-find" and by_name["bat"].commands == ("batcat",)
    assert by_name["ripgrep"].commands == ("rg",)
    assert by_name["ruff"].kind == "tool"
    assert [p.name for p in catalogue()] == sorted(by_name)


def test_unknown_names_are_refused_with_the_list():
    with pytest.raises(InvalidInputError) as caught:
        resolve(["fzf", "emacs", "vim"])
    message = str(caught.value)
    assert 'unknown package "emacs", "vim"' in message and "fzf, htop" in message
    with pytest.raises(InvalidInputError, match="no package named"):
        resolve([])


def test_resolve_keeps_catalogue_order_and_drops_duplicates():
    assert [p.name for p in resolve(["ruff", "bat", "ruff"])] == ["bat", "ruff"]


def test_an_installed_os_package_plans_nothing_a_missing_one_apt_get_install(system):
    system.installed.add("fzf")
    assert AptPackage("fzf").plan() == []
    [change] = AptPackage("fd-find").plan()
    assert change.summary == "install the OS package fd-find (apt-get)"
    change.action()
    assert system.commands[-1][-5:] == [
        "apt-get",
        "install",
        "-y",
        "--no-install-recommends",
        "fd-find",
    ]
    assert "DEBIAN_FRONTEND=noninteractive" in system.commands[-1]


def test_package_lists_are_refreshed_only_when_stale_and_something_is_missing(system, monkeypatch):
    monkeypatch.setattr(apt, "lists_fresh", lambda: False)
    system.installed.add("fzf")
    assert AptLists(("fzf",)).plan() == []
    [change] = AptLists(("fzf", "bat")).plan()
    change.action()
    assert system.commands[-1][-2:] == ["apt-get", "update"]
    monkeypatch.setattr(apt, "lists_fresh", lambda: True)
    assert AptLists(("bat",)).plan() == []


def test_lists_fresh_reads_the_age_of_the_package_lists(tmp_path):
    assert not apt.lists_fresh(tmp_path / "missing")
    assert not apt.lists_fresh(tmp_path)
    lists = tmp_path / "deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages"
    lists.write_text("")
    assert apt.lists_fresh(tmp_path)
    assert not apt.lists_fresh(tmp_path, now=lists.stat().st_mtime + 2 * 86400)


def test_with_the_shared_uv_ruff_goes_to_the_tools_dir_and_is_linked(tmp_path, monkeypatch):
    cfg = _cfg(tmp_path, uv=True)
    uv = cfg.uv_prefix / "bin" / "uv"
    uv.parent.mkdir(parents=True)
    uv.write_text("#!/bin/sh\n")
    uv.chmod(0o755)
    ruff = next(p for p in catalogue() if p.name == "ruff")
    directory, tool, link = resources_for(cfg, ruff)
    tools = tmp_path / "apps" / "tools"
    assert isinstance(directory, Directory) and directory.path == tools
    assert tool == PythonTool("ruff", ("ruff",), tools / "uv", tools / "bin", uv)
    assert link == Symlink(Path("/usr/local/bin/ruff"), tools / "bin" / "ruff")


def test_without_uv_ruff_gets_a_venv_of_its_own(tmp_path):
    ruff = next(p for p in catalogue() if p.name == "ruff")
    _directory, tool, link = resources_for(_cfg(tmp_path), ruff)
    prefix = tmp_path / "apps" / "tools" / "ruff"
    assert (tool.prefix, tool.bin_dir, tool.uv) == (prefix, prefix / "bin", None)
    assert link.target == prefix / "bin" / "ruff"


def test_tool_install_commands(tmp_path, system, monkeypatch):
    monkeypatch.setattr(software, "system_python", lambda: "/usr/bin/python3")
    uv = PythonTool("ruff", ("ruff",), tmp_path / "uv", tmp_path / "bin", Path("/x/bin/uv"))
    [change] = uv.plan()
    assert change.summary == f"install ruff with uv tool into {tmp_path / 'uv'}"
    change.action()
    argv = system.commands[-1]
    assert argv[0] == "env" and argv[-4:] == ["/x/bin/uv", "tool", "install", "ruff"]
    assert f"UV_TOOL_DIR={tmp_path / 'uv'}" in argv and "UV_PYTHON_PREFERENCE=only-system" in argv
    pip = PythonTool("ruff", ("ruff",), tmp_path / "v", tmp_path / "v" / "bin", None)
    pip.plan()[0].action()
    assert system.commands[-2] == ["/usr/bin/python3", "-m", "venv", str(tmp_path / "v")]
    assert system.commands[-1][-2:] == ["-q", "ruff"]


def test_an_installed_tool_plans_nothing(tmp_path):
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "ruff").write_text("#!/bin/sh\n")
    (tmp_path / "bin" / "ruff").chmod(0o755)
    assert PythonTool("ruff", ("ruff",), tmp_path, tmp_path / "bin", None).plan() == []


class Listener:
    def __init__(self):
        self.events = []

    def started(self, index, total, package):
        self.events.append(("started", index, total, package.name))

    def finished(self, result):
        self.events.append(("finished", result.name, result.status))


def test_a_dry_run_plans_each_package_and_records_nothing(tmp_path, system):
    system.installed.add("jq")
    listener = Listener()
    results = install_packages(_cfg(tmp_path), ["jq", "fzf"], dry_run=True, listener=listener)
    assert [(r.name, r.status) for r in results] == [
        ("fzf", "would install"),
        ("jq", "already installed"),
    ]
    assert listener.events == [
        ("started", 1, 2, "fzf"),
        ("finished", "fzf", "would install"),
        ("started", 2, 2, "jq"),
        ("finished", "jq", "already installed"),
    ]
    assert not [c for c in system.commands if "install" in c]
    assert not (tmp_path / "config").exists()


@needs_root
def test_install_goes_on_after_a_failure_and_records_what_is_in_place(tmp_path, system):
    (tmp_path / MARKER_NAME).write_text("{}")
    system.failing.add("nvtop")
    cfg = _cfg(tmp_path)
    results = install_packages(cfg, ["nvtop", "fzf", "bat"], dry_run=False)
    assert [(r.name, r.status) for r in results] == [
        ("bat", "installed"),
        ("fzf", "installed"),
        ("nvtop", "failed"),
    ]
    assert "nvtop failed" in results[2].error
    record = cfg.state_dir / "packages.json"
    assert json.loads(record.read_text()) == {"packages": ["bat", "fzf"]}
    assert oct(record.stat().st_mode & 0o777) == "0o600"
    install_packages(cfg, ["jq"], dry_run=False)
    assert packages.recorded(cfg) == ["bat", "fzf", "jq"]


def test_package_resources_for_recovery(tmp_path, monkeypatch):
    cfg = _cfg(tmp_path)
    monkeypatch.setattr(packages, "recorded", lambda cfg: ["bat", "nope", "ruff", "fzf"])
    resources = package_resources(cfg)
    assert resources[0] == AptLists(("bat", "fzf"))
    assert AptPackage("bat") in resources and AptPackage("fzf") in resources
    assert any(isinstance(r, PythonTool) for r in resources)
    without_os = without_downloads(package_resources(cfg))  # what recovery converges
    assert not [r for r in without_os if isinstance(r, AptPackage | AptLists)]
    assert any(isinstance(r, Symlink) for r in without_os)


def test_recorded_is_empty_without_a_record_and_ignores_junk(tmp_path):
    cfg = _cfg(tmp_path)
    assert packages.recorded(cfg) == []
    cfg.state_dir.mkdir(parents=True)
    (cfg.state_dir / "packages.json").write_text('{"packages": ["fzf", 3, "bat", "fzf"]}')
    assert packages.recorded(cfg) == ["bat", "fzf"]
    (cfg.state_dir / "packages.json").write_text("[not json")
    assert packages.recorded(cfg) == []


def test_cli_list_as_json(tmp_path, system):
    system.installed.add("ripgrep")
    result = CliRunner().invoke(
        app, ["--json", "--config", str(tmp_path / "x.toml"), "packages", "list"]
    )
    assert result.exit_code == 0, result.output
    rows = {row["name"]: row for row in json.loads(result.output)}
    assert rows["ripgrep"]["installed"] is True and rows["fd"]["source"] == "fd-find"


def test_cli_install_refuses_unknown_names_before_anything_else(tmp_path):
    result = CliRunner().invoke(app, ["packages", "install", "fzf", "emacs"])
    assert isinstance(result.exception, InvalidInputError)
    assert 'unknown package "emacs"' in str(result.exception)


def test_cli_without_a_command_on_no_terminal_prints_the_help():
    result = CliRunner().invoke(app, [])
    assert result.exit_code == 2
    assert "packages" in result.output and "Usage" in result.output


@needs_root
def test_cli_install_without_names_puts_the_recorded_set_back(tmp_path, system):
    (tmp_path / MARKER_NAME).write_text("{}")
    cfg = _cfg(tmp_path)
    config = tmp_path / "site.toml"
    config.write_text(f'admin = "admin"\n[storage]\ndata_root = "{tmp_path}"\nbackup_root = ""\n')
    install_packages(cfg, ["fzf", "bat"], dry_run=False)
    system.installed.clear()  # the reboot wiped the OS packages
    result = CliRunner().invoke(app, ["packages", "install", "--json", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert [(r["name"], r["status"]) for r in json.loads(result.output)] == [
        ("bat", "installed"),
        ("fzf", "installed"),
    ]
    assert system.installed >= {"bat", "fzf"}


@needs_root
def test_cli_install_without_names_and_nothing_recorded_says_what_to_do(tmp_path, system):
    (tmp_path / MARKER_NAME).write_text("{}")
    config = tmp_path / "site.toml"
    config.write_text(f'admin = "admin"\n[storage]\ndata_root = "{tmp_path}"\nbackup_root = ""\n')
    result = CliRunner().invoke(app, ["--config", str(config), "packages", "install"])
    assert result.exit_code == 0, result.output
    assert "No package is recorded yet" in result.output
    assert not [c for c in system.commands if "install" in c]


def test_every_text_says_the_same_about_how_packages_come_back():
    note = packages.wiped_note()
    assert "'datakeeper packages install' with no names" in note
    assert "recovery installs" not in note


def test_check_lists_each_recorded_os_package_that_is_missing(tmp_path, system, monkeypatch):
    """After a wipe `check` names the recorded apt packages that are gone (FAIL each)."""
    cfg = _cfg(tmp_path)
    monkeypatch.setattr(packages, "recorded", lambda cfg: ["bat", "fzf"])
    system.installed = {"bat"}
    (step,) = [s for s in enabled_steps(cfg, tmp_path / "c.toml") if s.key == "PACKAGES"]
    lines = {r.subject: (r.status, r.detail) for r in check_step(step)}
    assert lines["apt bat"] == (PASS, "")
    assert lines["apt fzf"] == (FAIL, "install the OS package fzf (apt-get)")
