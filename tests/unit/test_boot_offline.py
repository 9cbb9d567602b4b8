"""Issue 14: boot units enabled offline (systemd not running), the storage dependencies
of the recovery unit, and the warning when the backup disk is not mounted."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from datakeeper.config import parse_config
from datakeeper.features.check.result import WARN
from datakeeper.features.check.run import check_storage
from datakeeper.features.recovery import boot
from datakeeper.features.setup.steps import storage_step
from datakeeper.system import systemd
from datakeeper.system.systemd import UnitState


@pytest.fixture
def cfg(tmp_path: Path):
    text = f'[storage]\ndata_root = "{tmp_path}/data"\nbackup_root = "{tmp_path}/backup"\n'
    return parse_config(text, "test")


@pytest.fixture
def systemctl(monkeypatch):
    calls: list[list[str]] = []
    monkeypatch.setattr(systemd.commands, "run", lambda argv, **kw: calls.append(list(argv)))
    return calls


def _all_units(monkeypatch, enabled: str) -> None:
    """Offline, ``is-active`` and ``show`` answer nothing: "unknown"."""
    state = UnitState(enabled, "unknown", "unknown")
    monkeypatch.setattr(systemd, "unit_state", lambda unit: state)


@pytest.mark.parametrize(
    ("path", "unit"),
    [("/backup", "backup.mount"), ("/mnt/my-disk", "mnt-my\\x2ddisk.mount"),
     ("/srv//backup/", "srv-backup.mount"), ("/.hidden/x", "\\x2ehidden-x.mount"),
     ("/mnt/dü", "mnt-d\\xc3\\xbc.mount"), ("/", "-.mount")],
)  # fmt: skip
def test_mount_unit_names_match_systemd_escape(path, unit):
    assert systemd.mount_unit(path) == unit


def test_mount_unit_names_agree_with_the_real_systemd_escape():
    if not Path("/usr/bin/systemd-escape").exists():
        pytest.skip("systemd-escape is not installed")
    paths = ["/backup", "/mnt/my-disk", "/mnt/a b", "/.x/y.z", "/mnt/dü"]
    argv = ["systemd-escape", "--path", "--suffix=mount", *paths]
    expected = subprocess.run(argv, capture_output=True, text=True, check=True).stdout.split()
    assert [systemd.mount_unit(p) for p in paths] == expected


def test_offline_the_units_are_enabled_by_links_only(monkeypatch, systemctl):
    _all_units(monkeypatch, "disabled")
    (change,) = boot.boot_units(enabled=True, online=False).plan()
    assert "next boot" in change.summary
    change.action()
    # No daemon-reload and no start: there is no running systemd to ask.
    assert systemctl == [["systemctl", "enable", boot.SERVICE, boot.SHUTDOWN_SYNC, boot.SYNC_PATH]]


def test_offline_enabled_units_plan_nothing(monkeypatch):
    _all_units(monkeypatch, "enabled")
    assert boot.boot_units(enabled=True, online=False).plan() == []


def test_offline_disable_only_removes_the_links(monkeypatch, systemctl):
    _all_units(monkeypatch, "enabled")
    (change,) = boot.boot_units(enabled=False, online=False).plan()
    change.action()
    assert systemctl == [["systemctl", "disable", boot.SERVICE, boot.SHUTDOWN_SYNC, boot.SYNC_PATH]]


def test_with_systemctl_but_no_running_systemd_recovery_enables_the_units_offline(
    cfg, tmp_path, monkeypatch
):
    monkeypatch.setattr(boot.systemd, "is_running", lambda: False)
    monkeypatch.setattr(boot.systemd, "is_installed", lambda: True)
    monkeypatch.setattr(boot, "UNIT_DIR", tmp_path / "etc/systemd/system")
    monkeypatch.setattr(boot, "LOGIN_CHECK", tmp_path / "etc/profile.d/00-recovery-check.sh")
    boot.flag_path(cfg).parent.mkdir(parents=True)
    boot.flag_path(cfg).write_text("on\n")
    resources = boot.boot_resources(cfg, tmp_path / "data/config/datakeeper.toml")
    assert resources[-1] == boot.boot_units(enabled=True, online=False)


# The storage marker counts only when root owns it.
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="storage markers must be root's")


def _storage(tmp_path: Path, *, backup_mounted: bool) -> None:
    for name in ("data", "backup"):
        (tmp_path / name).mkdir()
    (tmp_path / "data/.datakeeper-storage").write_text("{}\n")  # marked persistent
    if backup_mounted:
        (tmp_path / "backup/.datakeeper-storage").write_text("{}\n")


@needs_root
def test_a_backup_disk_that_is_not_mounted_is_a_warning_in_check(cfg, tmp_path):
    _storage(tmp_path, backup_mounted=False)
    results = {r.subject: r for r in check_storage(cfg)}
    assert results[str(tmp_path / "data")].status == "PASS"
    backup = results[str(tmp_path / "backup")]
    assert backup.status == WARN
    assert "recovery runs without it" in backup.detail


@needs_root
def test_recovery_status_warns_when_the_backup_disk_is_not_mounted(cfg, tmp_path):
    _storage(tmp_path, backup_mounted=False)
    (warning,) = boot.storage_warnings(cfg)
    assert warning.startswith(f"{tmp_path / 'backup'}: the backup disk is not mounted")
    (tmp_path / "backup/.datakeeper-storage").write_text("{}\n")
    assert boot.storage_warnings(cfg) == []


def test_recovery_skips_a_backup_root_whose_disk_did_not_mount(cfg, tmp_path):
    for name in ("data", "backup"):
        (tmp_path / name).mkdir()  # /backup: only the empty mount point on the SSD
    step = storage_step(cfg)
    assert [r.path for r in step.resources] == [tmp_path / "data"]
    assert step.notes == [f"backup root {tmp_path / 'backup'} is not mounted: skipped"]
