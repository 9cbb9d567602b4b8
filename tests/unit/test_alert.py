"""``datakeeper disk alert``: the threshold, the log, the hook, exit codes and the schedule."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from datakeeper.actionlog import current_actor, read_actions
from datakeeper.cli import app as app_module
from datakeeper.cli import disk_cmd
from datakeeper.cli.argv import GlobalOptionsGroup
from datakeeper.config import parse_config
from datakeeper.engine import session
from datakeeper.errors import StorageNotPersistentError
from datakeeper.features.disk import alert
from datakeeper.features.disk import schedule as alert_schedule
from datakeeper.features.disk.alert import AlertCheck, run_alert
from datakeeper.features.disk.schedule import Schedule, schedule_files
from datakeeper.features.disk.usage import RootUsage
from datakeeper.system.lock import exclusive_lock
from datakeeper.trust import guarded_command


def site(root: Path, extra: str = ""):
    text = (
        f'[storage]\ndata_root = "{root}"\nbackup_root = ""\n\n'
        f"[conda]\nenabled = false\n\n[uv]\nenabled = false\n{extra}"
    )
    return parse_config(text, "test.toml")


def usage(root: Path, percent: float) -> RootUsage:
    """Figures with exactly ``percent`` used (of used + available)."""
    used = int(percent * 100)
    return RootUsage(root, True, total=20_000, used=used, free=10_000 - used)


@pytest.mark.parametrize(
    ("percent", "threshold", "fires"),
    [(80.0, 80, True), (79.99, 80, False), (95.0, 80, True), (0.0, 1, False), (99.0, 99, True)],
)
def test_fires_at_the_threshold_not_below(percent, threshold, fires):
    assert AlertCheck(usage(Path("/data"), percent), threshold).fires is fires


def test_a_missing_root_never_fires():
    check = AlertCheck(RootUsage(Path("/backup"), False), 1)
    assert not check.fires
    assert "does not exist" in check.sentence()


def test_hook_environment_carries_the_figures():
    env = AlertCheck(usage(Path("/data"), 85.0), 80).environment()
    assert env == {
        "DATAKEEPER_ALERT_ROOT": "/data",
        "DATAKEEPER_ALERT_PERCENT": "85.0",
        "DATAKEEPER_ALERT_USED_BYTES": "8500",
        "DATAKEEPER_ALERT_TOTAL_BYTES": "20000",
        "DATAKEEPER_ALERT_THRESHOLD": "80",
    }


@pytest.fixture
def fake_disk(monkeypatch):
    """Every root reports the percent set in ``state["percent"]``."""
    state = {"percent": 50.0}
    monkeypatch.setattr(alert, "root_usage", lambda root: usage(root, state["percent"]))
    return state


@pytest.fixture
def hook(tmp_path, monkeypatch) -> tuple[Path, Path]:
    """A hook script that saves its environment; trusted for the test (tmp is not root-only)."""
    out = tmp_path / "hook.out"
    script = tmp_path / "hook.sh"
    script.write_text(f"#!/bin/sh\nenv | grep ^DATAKEEPER_ALERT_ | sort > {out}\n")
    script.chmod(0o755)
    monkeypatch.setattr(alert, "_untrusted_hook", lambda path: None)
    return script, out


@pytest.fixture
def logged(monkeypatch):
    """The action log is written wherever state_dir is (as if the disk were persistent)."""
    monkeypatch.setattr(alert, "_why_no_log_file", lambda cfg: None)
    monkeypatch.setattr(session, "StorageGuard", lambda roots: lambda paths: None)


def test_below_the_threshold_nothing_happens(tmp_path, fake_disk, hook, logged):
    cfg = site(tmp_path, f'\n[alert]\nhook = "{hook[0]}"\n')
    outcome = run_alert(cfg)
    assert outcome.fired == [] and outcome.actions == []
    assert not hook[1].exists()
    assert read_actions(cfg.action_log_path) == []


def test_over_the_threshold_logs_and_runs_the_hook(tmp_path, fake_disk, hook, logged):
    fake_disk["percent"] = 90.0
    cfg = site(tmp_path, f'\n[alert]\nhook = "{hook[0]}"\nthreshold_percent = 85\n')
    outcome = run_alert(cfg)
    assert [c.usage.root for c in outcome.fired] == [tmp_path]
    assert outcome.problems == []
    [entry] = read_actions(cfg.action_log_path)
    assert (entry["code"], entry["outcome"]) == ("disk.alert", "alert")
    assert entry["resource"] == f"disk {tmp_path}"
    assert entry["details"]["percent"] == 90.0
    assert hook[1].read_text().splitlines() == [
        "DATAKEEPER_ALERT_PERCENT=90.0",
        f"DATAKEEPER_ALERT_ROOT={tmp_path}",
        "DATAKEEPER_ALERT_THRESHOLD=85",
        "DATAKEEPER_ALERT_TOTAL_BYTES=20000",
        "DATAKEEPER_ALERT_USED_BYTES=9000",
    ]


def test_the_alert_logs_while_an_admin_run_holds_the_lock(tmp_path, fake_disk, logged, monkeypatch):
    """An hourly timer must never wait behind an admin's long run: no admin lock."""
    fake_disk["percent"] = 90.0
    monkeypatch.setenv("DATAKEEPER_LOCK_TIMEOUT", "0")
    cfg = site(tmp_path)
    cfg.state_dir.mkdir(parents=True, mode=0o700)
    with exclusive_lock(cfg.state_dir / "run.lock", timeout=0, what="admin"):
        outcome = run_alert(cfg)
    assert outcome.problems == []
    [entry] = read_actions(cfg.action_log_path)
    assert (entry["resource"], entry["outcome"]) == (f"disk {tmp_path}", "alert")


def test_events_are_logged_like_changes_masked_with_the_actor(tmp_path, logged):
    cfg = site(tmp_path)
    session.record_event(
        cfg,
        code="disk.alert",
        resource="disk /data",
        event="token s3cret seen",
        outcome="alert",
        secrets=["s3cret"],
    )
    [entry] = read_actions(cfg.action_log_path)
    assert entry["change"] == "token *** seen"
    assert entry["actor"] == current_actor()


def test_events_are_refused_off_the_persistent_disk(tmp_path):
    with pytest.raises(StorageNotPersistentError):
        session.record_event(
            site(tmp_path), code="disk.alert", resource="disk", event="full", outcome="alert"
        )
    assert not site(tmp_path).action_log_path.exists()


def test_threshold_option_overrides_the_config(tmp_path, fake_disk, logged):
    fake_disk["percent"] = 60.0
    assert run_alert(site(tmp_path), threshold=60).fired
    assert not run_alert(site(tmp_path), threshold=61).fired


def test_dry_run_neither_logs_nor_runs_the_hook(tmp_path, fake_disk, hook, logged):
    fake_disk["percent"] = 99.0
    cfg = site(tmp_path, f'\n[alert]\nhook = "{hook[0]}"\n')
    outcome = run_alert(cfg, dry_run=True)
    assert outcome.fired
    assert [line.split(" ")[0] for line in outcome.actions] == ["would", "would"]
    assert not hook[1].exists()
    assert not cfg.action_log_path.exists()


def test_failing_hook_is_reported_not_raised(tmp_path, fake_disk, logged, monkeypatch):
    fake_disk["percent"] = 99.0
    script = tmp_path / "fail.sh"
    script.write_text("#!/bin/sh\necho webhook down >&2\nexit 3\n")
    script.chmod(0o755)
    monkeypatch.setattr(alert, "_untrusted_hook", lambda path: None)
    outcome = run_alert(site(tmp_path, f'\n[alert]\nhook = "{script}"\n'))
    assert outcome.problems == [f"hook {script} failed (exit 3): webhook down"]


@pytest.mark.skipif(os.geteuid() != 0, reason="only root refuses untrusted hooks")
def test_root_refuses_a_hook_others_can_replace(tmp_path, fake_disk, logged):
    fake_disk["percent"] = 99.0
    script = tmp_path / "hook.sh"  # under /tmp: a world-writable ancestor
    script.write_text("#!/bin/sh\ntouch ran\n")
    script.chmod(0o777)
    outcome = run_alert(site(tmp_path, f'\n[alert]\nhook = "{script}"\n'))
    assert len(outcome.problems) == 1 and "not run" in outcome.problems[0]


def test_without_a_persistent_data_root_only_syslog(tmp_path, fake_disk, monkeypatch):
    fake_disk["percent"] = 99.0
    sent: list[str] = []
    monkeypatch.setattr(alert, "send_to_syslog", sent.append)
    cfg = site(tmp_path)  # tmp_path is neither a mount point nor marked
    outcome = run_alert(cfg)
    assert len(sent) == 1 and "at or above" in sent[0]
    assert not cfg.action_log_path.exists()
    assert len(outcome.problems) == 1


def _app() -> typer.Typer:
    root = typer.Typer(cls=GlobalOptionsGroup)
    root.callback()(app_module.root)
    root.add_typer(disk_cmd.app, name="disk")
    return root


@pytest.mark.parametrize(("percent", "code"), [(70.0, 0), (75.0, 1)])
def test_exit_code_is_1_when_a_root_fires(tmp_path, fake_disk, logged, percent, code):
    fake_disk["percent"] = percent
    config = tmp_path / "site.toml"
    config.write_text(f'[storage]\ndata_root = "{tmp_path}"\nbackup_root = ""\n')
    args = ["--config", str(config), "disk", "alert", "--threshold", "75", "--json"]
    result = CliRunner().invoke(_app(), args)
    assert result.exit_code == code, result.output
    assert json.loads(result.output)["alert"] is bool(code)


def test_the_alert_is_printed_once_then_where_it_went(tmp_path, fake_disk, logged):
    fake_disk["percent"] = 90.0
    config = tmp_path / "site.toml"
    config.write_text(f'[storage]\ndata_root = "{tmp_path}"\nbackup_root = ""\n')
    args = ["--config", str(config), "disk", "alert", "--threshold", "75"]
    result = CliRunner().invoke(_app(), args)
    assert result.exit_code == 1, result.output
    alert_line, logged_line = result.output.splitlines()
    assert alert_line.startswith("! ") and "90" in alert_line
    assert logged_line == f"  logged the alert for {tmp_path} (action log and syslog)"


def test_quiet_prints_nothing_below_the_threshold(tmp_path, fake_disk):
    config = tmp_path / "site.toml"
    config.write_text(f'[storage]\ndata_root = "{tmp_path}"\nbackup_root = ""\n')
    args = ["--config", str(config), "disk", "alert", "--quiet"]
    result = CliRunner().invoke(_app(), args)
    assert (result.exit_code, result.output) == (0, "")


def test_threshold_out_of_range_is_invalid_usage(tmp_path):
    result = CliRunner().invoke(_app(), ["disk", "alert", "--threshold", "100"])
    assert result.exit_code == 2


# -- the schedule --


def test_command_prefers_the_persistent_install(tmp_path):
    installed = tmp_path / "apps/datakeeper/current/bin/datakeeper"
    installed.parent.mkdir(parents=True)
    installed.write_text("#!/bin/sh\n")
    command = alert_schedule.alert_command(site(tmp_path), Path("/data/config/datakeeper.toml"))
    assert command == [
        *guarded_command(installed),  # root runs it only when its path is root's all the way up
        "--config", "/data/config/datakeeper.toml", "disk", "alert", "--quiet",
    ]  # fmt: skip


def test_command_without_an_install_runs_this_python(tmp_path):
    command = alert_schedule.alert_command(site(tmp_path), Path("/c.toml"))
    assert command[:3] == [sys.executable, "-m", "datakeeper"]


def test_cron_file_has_no_dot_and_runs_hourly_as_root(tmp_path):
    cfg = site(tmp_path)
    schedule = Schedule(False, tmp_path / "units", tmp_path / "cron.d" / "datakeeper-disk-alert")
    [(path, content)] = schedule_files(cfg, Path("/c.toml"), schedule).items()
    assert "." not in path.name
    line = content.decode().splitlines()[-1]
    assert line.startswith("0 * * * * root ")
    assert line.endswith("--config /c.toml disk alert --quiet")


def test_daily_interval(tmp_path):
    cfg = site(tmp_path, '\n[alert]\ninterval = "daily"\n')
    files = schedule_files(cfg, Path("/c.toml"), Schedule(True, tmp_path))
    timer = files[tmp_path / "datakeeper-disk-alert.timer"].decode()
    assert "OnCalendar=daily" in timer


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze")
def test_units_pass_systemd_analyze_verify(tmp_path):
    units = tmp_path / "units"
    units.mkdir()
    cfg = site(tmp_path)
    files = schedule_files(cfg, tmp_path / "my site.toml", Schedule(True, units))
    for path, content in files.items():
        path.write_bytes(content)
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *map(str, files)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "ignoring" not in result.stderr and "Unknown" not in result.stderr, result.stderr
    service = files[units / "datakeeper-disk-alert.service"].decode()
    assert "ExecStart=" in service and '"' in service  # the path with a space is quoted


@pytest.mark.skipif(os.geteuid() != 0, reason="the schedule files are root's")
def test_enable_status_disable_with_cron(tmp_path, monkeypatch):
    monkeypatch.setattr("datakeeper.engine.session.StorageGuard", lambda roots: lambda paths: None)
    cfg = site(tmp_path)
    schedule = Schedule(False, tmp_path / "units", tmp_path / "cron.d" / "datakeeper-disk-alert")
    schedule.cron_path.parent.mkdir()
    config = Path("/c.toml")
    assert alert_schedule.enable_schedule(cfg, config, dry_run=True, schedule=schedule).planned
    assert not schedule.cron_path.exists()
    assert alert_schedule.enable_schedule(cfg, config, dry_run=False, schedule=schedule).applied
    assert stat.S_IMODE(schedule.cron_path.stat().st_mode) == 0o644
    assert alert_schedule.schedule_status(cfg, config, schedule).enabled is True
    assert not alert_schedule.enable_schedule(cfg, config, dry_run=False, schedule=schedule).planned
    assert alert_schedule.disable_schedule(cfg, dry_run=False, schedule=schedule).applied
    assert not schedule.cron_path.exists()
    assert alert_schedule.schedule_status(cfg, config, schedule).enabled is False


@pytest.mark.skipif(os.geteuid() != 0, reason="the schedule files are root's")
def test_disable_refuses_a_cron_file_it_did_not_write(tmp_path, monkeypatch):
    from datakeeper.errors import ConflictError

    monkeypatch.setattr("datakeeper.engine.session.StorageGuard", lambda roots: lambda paths: None)
    schedule = Schedule(False, tmp_path / "units", tmp_path / "cron.d" / "datakeeper-disk-alert")
    schedule.cron_path.parent.mkdir()
    schedule.cron_path.write_text("* * * * * root /bin/true\n")
    with pytest.raises(ConflictError):
        alert_schedule.disable_schedule(site(tmp_path), dry_run=False, schedule=schedule)
    assert schedule.cron_path.exists()
