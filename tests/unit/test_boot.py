"""Boot integration: unit texts, the login wait script, the hook line, the resources."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest

from datakeeper.config import parse_config
from datakeeper.features.check.run import check_step
from datakeeper.features.enabled import enabled_steps
from datakeeper.features.recovery import boot, unit_files
from datakeeper.features.recovery.recover import RecoveryReport, site_steps
from datakeeper.registry import RegistryEntry
from datakeeper.registry.store import render
from datakeeper.resources import ManagedFile
from datakeeper.resources.systemd_unit import DaemonReload
from datakeeper.system import systemd
from datakeeper.system.systemd import UnitState
from datakeeper.trust import guarded_command

INSTALL = "apps/datakeeper/current/bin/datakeeper"


def _guarded(line: str) -> str:
    """``line`` (a program and its arguments) behind the boot guard, as a unit runs it."""
    program, *args = line.split(" ")
    return systemd.exec_line(guarded_command(Path(program), args))


@pytest.fixture
def cfg(tmp_path: Path):
    text = (
        f'[storage]\ndata_root = "{tmp_path}/data"\nbackup_root = "{tmp_path}/backup"\n'
        "[recovery]\nlogin_wait_seconds = 7\n"
    )
    return parse_config(text, "test")


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    return tmp_path / "data/config/datakeeper.toml"


@pytest.fixture(autouse=True)
def sandboxed_paths(tmp_path: Path, monkeypatch):
    """Unit files, the login script and the done marker under tmp_path; no systemd."""
    monkeypatch.setattr(boot, "UNIT_DIR", tmp_path / "etc/systemd/system")
    monkeypatch.setattr(boot, "LOGIN_CHECK", tmp_path / "etc/profile.d/00-recovery-check.sh")
    monkeypatch.setattr(boot, "DONE_MARKER", tmp_path / "run/recovery-done")
    monkeypatch.setattr(boot.systemd, "is_running", lambda: False)
    monkeypatch.setattr(boot.systemd, "is_installed", lambda: False)  # never the host's


def _unit_lines(text: str) -> list[str]:
    return text.splitlines()


def test_recovery_service_runs_recover_after_the_mounts_and_before_logins(
    cfg, config_path, tmp_path
):
    lines = _unit_lines(boot.recovery_service(cfg, config_path))
    tool = f"{tmp_path}/data/{INSTALL}"
    # The data disk is required; the backup disk only wanted and ordered (issue 14).
    assert f"RequiresMountsFor={tmp_path}/data" in lines
    backup = systemd.mount_unit(tmp_path / "backup")
    assert f"Wants={backup}" in lines
    assert f"After={backup}" in lines
    assert not any(f"{tmp_path}/backup" in line for line in lines)
    assert "After=local-fs.target" in lines
    # Before member logins only: a hung recovery must not keep root out (ssh starts).
    assert "Before=systemd-user-sessions.service" in lines
    assert not any("ssh" in line for line in lines if line.startswith("Before="))
    assert "Type=oneshot" in lines
    assert "RemainAfterExit=yes" in lines
    assert "TimeoutStartSec=5min" in lines  # no user registered yet
    assert f"ExecStart={_guarded(f'{tool} --config {config_path} recover --boot')}" in lines
    assert not any(line.startswith("ExecStop=") for line in lines)  # the shutdown sync's
    assert lines[-2:] == ["[Install]", "WantedBy=multi-user.target"]


def test_shutdown_sync_unit_saves_passwords_when_stopped(cfg, config_path, tmp_path):
    lines = _unit_lines(boot.shutdown_sync_service(cfg, config_path))
    tool = f"{tmp_path}/data/{INSTALL}"
    sync = _guarded(f"{tool} --config {config_path} recovery sync-passwords")
    assert f"ExecStop={sync}" in lines
    assert "RemainAfterExit=yes" in lines  # active until shutdown, which runs ExecStop
    assert f"RequiresMountsFor={tmp_path}/data" in lines  # stops first
    assert not any("backup" in line for line in lines)  # a failed backup disk is no matter
    # Not ordered after the recovery: the hook path's recovery starts it and waits.
    assert not any(line.startswith("After=") for line in lines)
    assert lines[-2:] == ["[Install]", "WantedBy=multi-user.target"]


@pytest.mark.parametrize(
    ("users", "timeout"),
    [(0, "5min"), (1, "10min"), (150, "10min"), (151, "15min"), (500, "25min"),
     (5000, "60min")],
)  # fmt: skip
def test_start_timeout_scales_with_the_users_in_buckets(users, timeout):
    assert unit_files.start_timeout(users) == timeout


def test_start_timeout_counts_the_registered_users(cfg, config_path):
    cfg.state_dir.mkdir(parents=True, mode=0o700)
    entries = [RegistryEntry(name=f"u{n}", uid=2000 + n, gid=2000 + n, primary_group=f"u{n}")
               for n in range(151)]  # fmt: skip
    cfg.registry_path.write_bytes(render(entries))
    cfg.registry_path.chmod(0o600)
    assert unit_files.registered_users(cfg) == 151
    assert "TimeoutStartSec=15min" in _unit_lines(boot.recovery_service(cfg, config_path))


def test_without_a_backup_root_only_the_data_root_is_required(tmp_path, config_path):
    cfg = parse_config(f'[storage]\ndata_root = "{tmp_path}/data"\nbackup_root = ""\n', "t")
    lines = _unit_lines(boot.recovery_service(cfg, config_path))
    assert f"RequiresMountsFor={tmp_path}/data" in lines
    assert not any(line.startswith("Wants=") for line in lines)


def test_password_sync_units_watch_shadow_and_wait_for_recovery(cfg, config_path, tmp_path):
    path_unit = _unit_lines(boot.sync_path_unit())
    assert "PathChanged=/etc/shadow" in path_unit
    assert f"Unit={boot.SYNC_SERVICE}" in path_unit
    assert "WantedBy=multi-user.target" in path_unit
    service = _unit_lines(boot.sync_service(cfg, config_path))
    assert f"After={boot.SERVICE}" in service
    assert "Type=oneshot" in service
    tool = f"{tmp_path}/data/{INSTALL}"
    sync = _guarded(f"{tool} --config {config_path} recovery sync-passwords")
    assert f"ExecStart={sync}" in service
    assert "Environment=DATAKEEPER_LOCK_TIMEOUT=600" in service


def test_hook_line_runs_the_persistent_install_with_the_config(cfg, config_path, tmp_path):
    line = boot.hook_line(cfg, config_path)
    assert line.startswith("/usr/bin/python3 -I -c 'import os,sys;")
    assert line.endswith(f"' {tmp_path}/data/{INSTALL} --config {config_path} recover --boot")


def test_hook_line_for_the_default_site():
    cfg = parse_config("", "test")
    line = boot.hook_line(cfg, Path("/data/config/datakeeper.toml"))
    expected = (
        "/data/apps/datakeeper/current/bin/datakeeper --config /data/config/datakeeper.toml "
        "recover --boot"
    )
    assert line == shlex.join(guarded_command(Path(expected.split()[0]), expected.split()[1:]))
    assert line.endswith(f"' {expected}") and "\n" not in line


def test_a_relative_config_path_is_made_absolute(cfg, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert f"--config {tmp_path}/site.toml " in boot.hook_line(cfg, Path("site.toml"))


def test_boot_resources_are_empty_until_recovery_is_enabled(cfg, config_path):
    assert boot.boot_resources(cfg, config_path) == []


def test_enabled_boot_resources_are_root_files_replacing_unmanaged_ones(cfg, config_path, tmp_path):
    boot.flag_path(cfg).parent.mkdir(parents=True)
    boot.flag_path(cfg).write_text("on\n")
    resources = boot.boot_resources(cfg, config_path)
    assert all(isinstance(r, ManagedFile) for r in resources)
    assert {r.path for r in resources} == {
        tmp_path / "etc/systemd/system/datakeeper-recovery.service",
        tmp_path / "etc/systemd/system/datakeeper-shutdown-sync.service",
        tmp_path / "etc/systemd/system/datakeeper-password-sync.path",
        tmp_path / "etc/systemd/system/datakeeper-password-sync.service",
        tmp_path / "etc/profile.d/00-recovery-check.sh",
    }
    for resource in resources:
        assert resource.ownership.describe() == "root:root 0644"
        assert resource.replace_unmanaged
        assert resource.manifest.path == cfg.managed_files_path
    script = next(r for r in resources if r.path.name.endswith(".sh")).content.decode()
    assert "-lt 7 ]" in script  # recovery.login_wait_seconds
    assert str(tmp_path / "run/recovery-done") in script


def test_under_systemd_the_units_are_enabled_too(cfg, config_path, monkeypatch):
    monkeypatch.setattr(boot.systemd, "is_running", lambda: True)
    boot.flag_path(cfg).parent.mkdir(parents=True)
    boot.flag_path(cfg).write_text("on\n")
    resources = boot.boot_resources(cfg, config_path)
    assert resources[-1] == boot.boot_units(enabled=True)


# -- the systemd resources, with systemctl faked ---------------------------------------


@pytest.fixture
def systemctl(monkeypatch):
    calls: list[list[str]] = []
    monkeypatch.setattr(systemd.commands, "run", lambda argv, **kw: calls.append(list(argv)))
    return calls


def _fake_state(monkeypatch, service: str, path: str, reload: str = "no") -> None:
    """``path`` is the state of the units that run all the time: the watch, the sync."""
    table = {
        boot.SERVICE: service.split(":"),
        boot.SYNC_PATH: path.split(":"),
        boot.SHUTDOWN_SYNC: path.split(":"),
    }

    def state(unit: str) -> UnitState:
        enabled, active = table.get(unit, ["static", "inactive"])
        return UnitState(enabled, active, reload)

    monkeypatch.setattr(systemd, "unit_state", state)


def test_units_are_reloaded_enabled_and_the_watch_started_but_not_recovery(monkeypatch, systemctl):
    _fake_state(monkeypatch, "disabled:inactive", "disabled:inactive")
    (change,) = boot.boot_units(enabled=True).plan()
    change.action()
    assert systemctl == [
        ["systemctl", "daemon-reload"],
        ["systemctl", "enable", boot.SERVICE, boot.SHUTDOWN_SYNC, boot.SYNC_PATH],
        # The shutdown sync is started too: after a hook boot, its ExecStop then runs.
        ["systemctl", "start", boot.SHUTDOWN_SYNC, boot.SYNC_PATH],
    ]


def test_a_stopped_shutdown_sync_is_started_again(monkeypatch, systemctl):
    _fake_state(monkeypatch, "enabled:inactive", "enabled:active")
    original = systemd.unit_state
    monkeypatch.setattr(
        systemd,
        "unit_state",
        lambda unit: (
            UnitState("enabled", "inactive", "no") if unit == boot.SHUTDOWN_SYNC else original(unit)
        ),
    )
    (change,) = boot.boot_units(enabled=True).plan()
    change.action()
    assert ["systemctl", "start", boot.SHUTDOWN_SYNC, boot.SYNC_PATH] in systemctl


def test_enabled_units_plan_nothing_unless_files_changed(monkeypatch):
    _fake_state(monkeypatch, "enabled:inactive", "enabled:active")
    assert boot.boot_units(enabled=True).plan() == []
    _fake_state(monkeypatch, "enabled:active", "enabled:active", reload="yes")
    assert len(boot.boot_units(enabled=True).plan()) == 1


def test_disabling_does_not_wait_for_the_recovery_service_to_stop(monkeypatch, systemctl):
    _fake_state(monkeypatch, "enabled:active", "enabled:active")
    (change,) = boot.boot_units(enabled=False).plan()
    change.action()
    assert ["systemctl", "disable", "--now", boot.SYNC_PATH] in systemctl
    assert ["systemctl", "disable", boot.SERVICE, boot.SHUTDOWN_SYNC] in systemctl
    assert ["systemctl", "stop", "--no-block", boot.SERVICE, boot.SHUTDOWN_SYNC] in systemctl
    _fake_state(monkeypatch, "disabled:inactive", "disabled:inactive")
    assert boot.boot_units(enabled=False).plan() == []


def test_daemon_reload_only_when_a_unit_changed_on_disk(monkeypatch, systemctl):
    _fake_state(monkeypatch, "disabled:inactive", "disabled:inactive")
    assert DaemonReload(boot.UNITS).plan() == []
    _fake_state(monkeypatch, "disabled:inactive", "disabled:inactive", reload="yes")
    (change,) = DaemonReload(boot.UNITS).plan()
    change.action()
    assert systemctl == [["systemctl", "daemon-reload"]]


# -- status ------------------------------------------------------------------------------


def test_status_of_a_site_that_never_enabled_recovery(cfg, config_path):
    found = boot.status(cfg, config_path).as_dict()
    assert found["enabled"] is False
    assert found["systemd"] == "not running"
    assert found["units"] == {}
    assert [f["present"] for f in found["files"]] == [False] * 5
    assert found["last_run"] is None
    assert found["done_marker"] is False
    assert found["hook"] == boot.hook_line(cfg, config_path)


def test_status_reads_the_last_run_and_the_marker(cfg, config_path, tmp_path):
    cfg.state_dir.mkdir(parents=True)
    record = '{"time": "2025-01-01T00:00:00+0000", "ok": true, "summary": "3 users", "users": []}'
    (cfg.state_dir / "last-recovery.json").write_text(record)
    (tmp_path / "run").mkdir()
    (tmp_path / "run/recovery-done").write_text("done\n")
    found = boot.status(cfg, config_path).as_dict()
    assert found["last_run"] == {
        "time": "2025-01-01T00:00:00+0000",
        "ok": True,
        "summary": "3 users",
    }
    assert found["done_marker"] is True


@pytest.mark.skipif(os.geteuid() != 0, reason="the boot files are root's")
def test_status_tells_a_current_file_from_an_edited_one(cfg, config_path):
    wanted = boot.boot_files(cfg, config_path)
    for path, text in wanted.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    boot.LOGIN_CHECK.write_text("# edited\n")
    files = boot.status(cfg, config_path).as_dict()["files"]
    current = {f["path"]: f["current"] for f in files}
    assert current.pop(str(boot.LOGIN_CHECK)) is False
    assert set(current.values()) == {True}


@pytest.mark.skipif(os.geteuid() != 0, reason="the boot files are root's")
def test_check_plans_the_boot_files_and_names_the_change_enable_would_make(cfg, config_path):
    assert enabled_steps(cfg, config_path) == []  # not enabled: nothing to check
    boot.flag_path(cfg).parent.mkdir(parents=True)
    boot.flag_path(cfg).write_text("on\n")
    for path, text in boot.boot_files(cfg, config_path).items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    [step] = enabled_steps(cfg, config_path)
    assert {r.status for r in check_step(step)} == {"PASS"}
    boot.LOGIN_CHECK.write_text("# edited\n")
    [failed] = [r for r in check_step(step) if r.status == "FAIL"]
    assert (failed.group, failed.subject) == ("BOOT", f"file {boot.LOGIN_CHECK}")
    assert failed.detail.startswith(f"replace {boot.LOGIN_CHECK}; the old file is kept as ")


# -- the login script ---------------------------------------------------------------------


def _write_script(tmp_path: Path, marker: Path, seconds: int) -> Path:
    script = tmp_path / "00-recovery-check.sh"
    script.write_text(boot.login_check_script(marker, seconds, tmp_path / "failed"))
    return script


SHELLS = [shell for shell in ("sh", "dash", "bash") if shutil.which(shell)]


@pytest.mark.parametrize("shell", SHELLS)
def test_login_script_is_valid_posix_sh(tmp_path, shell):
    for seconds in (0, 30):
        script = _write_script(tmp_path, tmp_path / "marker", seconds)
        result = subprocess.run([shell, "-n", str(script)], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr


def _login(
    shell: str, script: Path, *, interactive: bool, uid: int = 1000
) -> tuple[float, subprocess.CompletedProcess]:
    """Source ``script`` as a login of ``uid`` would (a fake ``id`` first on PATH says it)."""
    fake = script.parent / "fake-bin"
    fake.mkdir(exist_ok=True)
    (fake / "id").write_text(f"#!/bin/sh\necho {uid}\n")
    (fake / "id").chmod(0o755)
    flags = ["-i"] if interactive else []
    start = time.monotonic()
    result = subprocess.run(
        [shell, *flags, "-c", f". {script}; echo went-on"],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30,
        env={"PATH": f"{fake}:{os.environ['PATH']}", "HOME": "/", "ENV": ""},
    )  # fmt: skip
    return time.monotonic() - start, result


def test_root_never_waits_but_is_told_recovery_is_not_done(tmp_path):
    script = _write_script(tmp_path, tmp_path / "marker", 20)
    elapsed, result = _login("sh", script, interactive=True, uid=0)
    assert elapsed < 1.5
    assert result.stdout.strip() == "went-on"
    assert "waiting" not in result.stderr
    assert "recovery has not finished" in result.stderr


def test_every_login_is_told_when_the_last_recovery_had_problems(tmp_path):
    marker = tmp_path / "marker"
    marker.write_text("done\n")
    (tmp_path / "failed").write_text("1 skipped\n")
    for uid in (0, 1000):
        _, result = _login("sh", _write_script(tmp_path, marker, 20), interactive=True, uid=uid)
        assert "the recovery after the last reboot had problems" in result.stderr
        assert result.stdout.strip() == "went-on"


def test_interactive_login_waits_for_the_marker_then_goes_on_with_a_warning(tmp_path):
    script = _write_script(tmp_path, tmp_path / "marker", 2)
    elapsed, result = _login("sh", script, interactive=True)
    assert 2 <= elapsed < 6
    assert result.stdout.strip() == "went-on"
    assert "waiting up to 2 s" in result.stderr
    assert "recovery has not finished" in result.stderr


def test_interactive_login_goes_on_as_soon_as_the_marker_appears(tmp_path):
    marker = tmp_path / "marker"
    script = _write_script(tmp_path, marker, 20)
    timer = threading.Timer(1.0, marker.write_text, args=("done\n",))
    timer.start()
    try:
        elapsed, result = _login("sh", script, interactive=True)
    finally:
        timer.cancel()
    assert 1 <= elapsed < 5
    assert result.stdout.strip() == "went-on"
    assert "recovery has not finished" not in result.stderr


def test_no_wait_and_no_message_when_recovery_is_done(tmp_path):
    marker = tmp_path / "marker"
    marker.write_text("done\n")
    elapsed, result = _login("sh", _write_script(tmp_path, marker, 20), interactive=True)
    assert elapsed < 1.5
    assert "datakeeper" not in result.stderr


def test_non_interactive_shells_never_wait(tmp_path):
    script = _write_script(tmp_path, tmp_path / "missing", 20)
    elapsed, result = _login("sh", script, interactive=False)
    assert elapsed < 1.5
    assert result.stdout.strip() == "went-on"
    assert result.stderr == ""


def test_zero_seconds_only_warns(tmp_path):
    elapsed, result = _login("sh", _write_script(tmp_path, tmp_path / "m", 0), interactive=True)
    assert elapsed < 1.5
    assert "waiting" not in result.stderr
    assert "recovery has not finished" in result.stderr


def test_recovery_names_the_command_that_installs_recorded_os_packages(cfg, config_path):
    """Boot downloads nothing: recover's summary says how to get the apt packages back."""
    cfg.state_dir.mkdir(parents=True)
    (cfg.state_dir / "packages.json").write_text('{"packages": ["fzf", "ruff"]}')
    steps = site_steps(cfg.model_copy(update={"admin": "ubuntu"}), config_path)
    (packages,) = [s for s in steps if s.key == "PACKAGES"]
    assert [type(r).__name__ for r in packages.resources] == ["Directory", "Symlink"]
    assert "'datakeeper packages install' with no names" in packages.notes[0]
    summary = RecoveryReport(packages_left_out=True).summary()
    assert summary.endswith("OS packages not reinstalled: run 'datakeeper packages install'")
    assert "packages" not in RecoveryReport().summary()
