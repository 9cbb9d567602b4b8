"""Recovery's typed contracts: downloaders are left out by type, and the done marker and
the last-recovery record are written by resources of the plan (a dry run writes neither)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from datakeeper.config import parse_config
from datakeeper.engine import Executor
from datakeeper.features.recovery import boot, recover
from datakeeper.features.recovery.recover import RecoveryReport, result_files, without_downloads
from datakeeper.features.setup.init import StepResult
from datakeeper.resources import Symlink
from datakeeper.resources.apt import AptLists, AptPackage
from datakeeper.resources.download import Downloader
from datakeeper.resources.software import MinicondaInstall, PythonTool, UvInstall
from datakeeper.resources.state_file import StateFile


@pytest.fixture
def cfg(tmp_path: Path):
    text = f'[storage]\ndata_root = "{tmp_path}/data"\nbackup_root = ""\n'
    return parse_config(text, "test")


@pytest.fixture
def marker(tmp_path: Path, monkeypatch) -> Path:
    path = tmp_path / "run/datakeeper/recovery-done"
    monkeypatch.setattr(recover, "DONE_MARKER", path)
    return path


def test_recovery_leaves_out_every_resource_that_downloads(tmp_path):
    link = Symlink(tmp_path / "bin/uv", tmp_path / "uv/bin/uv")
    downloads = [
        MinicondaInstall(tmp_path / "conda", "https://example.org/m.sh", "0" * 64),
        UvInstall(tmp_path / "uv", "uv"),
        AptLists(("fzf",)),
        AptPackage("fzf"),
        PythonTool("ruff", ("ruff",), tmp_path / "t", tmp_path / "t/bin", None),
    ]
    assert all(isinstance(r, Downloader) for r in downloads)
    assert without_downloads([*downloads, link]) == [link]


def _report() -> RecoveryReport:
    return RecoveryReport(users=[StepResult("USER", "alice", "changed", ["create user alice"])])


def test_a_dry_run_plans_the_marker_and_the_record_and_writes_neither(cfg, marker):
    outcome = Executor(dry_run=True).converge(result_files(cfg, _report()))
    assert [c.summary for c in outcome.planned] == [
        f"mark recovery as done in {marker}: waiting logins go on",
        f"record the result of this recovery in {cfg.state_dir / 'last-recovery.json'}",
    ]
    assert not marker.exists() and not cfg.state_dir.exists()


def test_the_marker_and_the_record_are_written_by_the_plan(cfg, marker):
    Executor().converge(result_files(cfg, _report()))
    assert marker.read_text() == "1 user recovered, 0 already right, 0 skipped\n"
    record_path = cfg.state_dir / "last-recovery.json"
    record = json.loads(record_path.read_text())
    assert record["ok"] is True and record["users"][0]["title"] == "alice"
    assert stat.S_IMODE(record_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(cfg.state_dir.stat().st_mode) == 0o700
    assert boot.last_run(cfg).summary == record["summary"]


def test_a_state_file_plans_nothing_once_written_and_rewrites_any_other_content(tmp_path):
    path = tmp_path / "state/flag"
    resource = StateFile(path, b"on\n", 0o600, "remember it")
    (change,) = resource.plan()
    assert change.summary == "remember it"
    change.action()
    assert resource.plan() == []
    path.write_text("edited\n")
    assert len(resource.plan()) == 1
    os.chmod(path, 0o644)
    path.write_text("on\n")
    assert len(resource.plan()) == 1  # the mode differs
