"""``datakeeper disk``: what it measures, for whom, and how it prints."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from datakeeper.cli import app as app_module
from datakeeper.cli import disk_cmd
from datakeeper.cli.argv import GlobalOptionsGroup
from datakeeper.config import parse_config
from datakeeper.errors import CommandError, NotRootError
from datakeeper.features.disk import usage as disk_usage
from datakeeper.features.disk.usage import RootUsage, disk_report, shared_folders
from datakeeper.sizes import human_size
from datakeeper.system import quota
from datakeeper.system.accounts import UserInfo


def site(root: Path):
    text = (
        f'[storage]\ndata_root = "{root}"\nbackup_root = ""\n\n'
        "[conda]\nenabled = false\n\n[uv]\nenabled = false\n"
    )
    return parse_config(text, "test.toml")


def du(path: Path) -> int:
    out = subprocess.run(
        ["du", "-sxB1", str(path)], capture_output=True, text=True, check=True
    ).stdout
    return int(out.split()[0])


@pytest.fixture
def data(tmp_path) -> Path:
    root = tmp_path / "data"
    for folder in ("models/huggingface/hub", "models/torch", "cache/conda/pkgs", "dataset"):
        (root / folder).mkdir(parents=True)
    (root / "models/huggingface/hub/model.bin").write_bytes(b"m" * 200_000)
    (root / "dataset/d.csv").write_bytes(b"d" * 50_000)
    for user, size in (("alice", 30_000), ("bob", 90_000)):
        (root / "users" / user).mkdir(parents=True)
        (root / "users" / user / "work.bin").write_bytes(b"w" * size)
    os.symlink("/etc", root / "users" / "not-a-home")
    return root


def test_shared_folders_nest_under_their_top(tmp_path):
    requests = {r.top.name: r for r in shared_folders(site(tmp_path))}
    assert set(requests) == {"models", "cache", "dataset", "code"}
    marks = {m.relative_to(tmp_path).as_posix() for m in requests["models"].marks}
    assert "models/huggingface/hub" in marks and "models/torch" in marks
    assert requests["dataset"].marks == ()


def test_root_report_lists_shared_folders_and_every_home_largest_first(data, monkeypatch):
    monkeypatch.setattr(disk_usage.os, "geteuid", lambda: 0)
    report = disk_report(site(data), jobs=1)
    assert [h.path.name for h in report.homes] == ["bob", "alice"]  # the symlink is not a home
    if shutil.which("du"):
        assert [h.bytes for h in report.homes] == [du(h.path) for h in report.homes]
        sizes = {f.path: f.bytes for f in report.shared}
        assert sizes[data / "models/huggingface/hub"] == du(data / "models/huggingface/hub")
        assert sizes[data / "models"] == du(data / "models")
    assert [f.bytes for f in report.shared] == sorted(
        (f.bytes for f in report.shared), reverse=True
    )
    assert report.roots[0].exists and report.roots[0].total > 0
    assert report.scope == "all"


def test_a_member_sees_only_their_own_home(data, monkeypatch):
    uid = os.getuid() or 40001
    if os.getuid() == 0:
        os.chown(data / "users" / "alice", uid, uid)
    me = UserInfo("alice", uid, uid, "", "/home/alice", "/bin/bash")
    monkeypatch.setattr(disk_usage.os, "geteuid", lambda: uid)
    monkeypatch.setattr(disk_usage.accounts, "user_by_uid", lambda uid: me)
    report = disk_report(site(data), jobs=1)
    assert [(h.user, h.path) for h in report.homes] == [("alice", data / "users" / "alice")]
    assert report.scope == "own"


def test_a_member_without_a_persistent_home_is_told(data, monkeypatch):
    me = UserInfo("carol", 40003, 40003, "", "/nonexistent", "/bin/bash")
    monkeypatch.setattr(disk_usage.os, "geteuid", lambda: 40003)
    monkeypatch.setattr(disk_usage.accounts, "user_by_uid", lambda uid: me)
    report = disk_report(site(data), jobs=1)
    assert report.homes == []
    assert any("not on persistent storage" in note for note in report.notes)


def test_quota_needs_root(data, monkeypatch):
    monkeypatch.setattr(disk_usage.os, "geteuid", lambda: 40001)
    with pytest.raises(NotRootError):
        disk_report(site(data), use_quota=True)


def test_quota_figures_replace_the_home_scan(data, monkeypatch):
    monkeypatch.setattr(disk_usage.os, "geteuid", lambda: 0)
    rows = [quota.QuotaRow(0, 4096, 3), quota.QuotaRow(40002, 1 << 30, 7)]
    monkeypatch.setattr(quota, "user_usage", lambda root: rows)
    report = disk_report(site(data), use_quota=True, jobs=1)
    assert report.source == "quota"
    assert report.homes == []
    assert [(q.user, q.bytes) for q in report.quota] == [("40002", 1 << 30), ("root", 4096)]


def test_without_quota_accounting_the_homes_are_scanned(data, monkeypatch):
    monkeypatch.setattr(disk_usage.os, "geteuid", lambda: 0)

    def no_quota(root):
        raise CommandError("repquota: no quota enabled")

    monkeypatch.setattr(quota, "user_usage", no_quota)
    report = disk_report(site(data), use_quota=True, jobs=1)
    assert report.source == "scan"
    assert len(report.homes) == 2
    assert any("no quota enabled" in note for note in report.notes)


REPQUOTA_CSV = """\
User,BlockStatus,FileStatus,BlockUsed,BlockSoftLimit,BlockHardLimit,BlockGrace,FileUsed,FileSoftLimit,FileHardLimit,FileGrace
#0,ok,ok,20,0,0,,2,0,0,
#1001,soft,ok,1048576,1000000,2000000,6days,1234,0,0,
"""


def test_repquota_csv_is_parsed_in_bytes():
    assert quota.parse_csv(REPQUOTA_CSV) == [
        quota.QuotaRow(0, 20 * 1024, 2),
        quota.QuotaRow(1001, 1 << 30, 1234),
    ]


def test_unexpected_repquota_output_is_an_error():
    with pytest.raises(CommandError):
        quota.parse_csv("alice,ok,ok,1,0,0,,1,0,0,\n")


def test_repquota_failure_is_a_command_error(tmp_path):
    if shutil.which("repquota") is None:
        pytest.skip("repquota not installed")
    with pytest.raises(CommandError):
        quota.user_usage(tmp_path)  # not a mount point with quota


def test_root_figures_are_those_df_shows(tmp_path, monkeypatch):
    """Size, used (what root keeps back is not used) and free as df computes them."""
    fs = os.statvfs_result((4096, 1024, 1000, 300, 250, 0, 0, 0, 0, 255))
    monkeypatch.setattr(disk_usage.os, "statvfs", lambda path: fs)
    usage = disk_usage.root_usage(tmp_path)
    assert (usage.total, usage.used, usage.free) == (1_024_000, 716_800, 256_000)
    assert usage.as_dict()["percent"] == 73.7  # df's Use%: used / (used + free)


def test_percent_is_used_over_what_users_can_have():
    usage = RootUsage(Path("/data"), True, total=1000, used=450, free=450)
    assert usage.percent == 50.0
    assert usage.as_dict()["percent"] == 50.0
    assert RootUsage(Path("/x"), False).percent == 0.0


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (0, "0 B"),
        (1023, "1023 B"),
        (1536, "1.5 KiB"),
        (5 * 1024**3, "5.0 GiB"),
        (3 << 50, "3072.0 TiB"),
    ],
)
def test_human_size(size, text):
    assert human_size(size) == text


def _app() -> typer.Typer:
    """The root options plus ``disk``, as app.py wires them."""
    root = typer.Typer(cls=GlobalOptionsGroup)
    root.callback()(app_module.root)
    root.add_typer(disk_cmd.app, name="disk")
    return root


def test_cli_json_and_text(data, tmp_path):
    config = tmp_path / "site.toml"
    config.write_text(
        f'[storage]\ndata_root = "{data}"\nbackup_root = ""\n'
        "[conda]\nenabled = false\n[uv]\nenabled = false\n"
    )
    runner = CliRunner()
    result = runner.invoke(_app(), ["--config", str(config), "disk", "--json", "-j", "1"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["sizes"].startswith("allocated bytes")
    assert {f["path"] for f in report["shared"]} >= {str(data / "models")}
    text = runner.invoke(_app(), ["--config", str(config), "disk", "--by-owner"])
    assert text.exit_code == 0, text.output
    assert "not file lengths" in text.output
    assert "owner" in text.output
