"""``datakeeper backup enable / status``: the schedule expression, the files, the
last-run record, and a failed scheduled run raising the alert; ``restore
--everything``'s refusal when homes are present."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from datakeeper.config import parse_config
from datakeeper.config.calendar import parse_calendar
from datakeeper.errors import ConfigError, RefusedError
from datakeeper.features.backup import disaster, last_run
from datakeeper.features.backup.schedule import BackupStatus, Schedule, flag_path, schedule_files
from datakeeper.trust import guarded_command


def site(root: Path, extra: str = ""):
    text = (
        f'[storage]\ndata_root = "{root}/data"\nbackup_root = "{root}/backup"\n\n'
        f"[conda]\nenabled = false\n\n[uv]\nenabled = false\n{extra}"
    )
    return parse_config(text, "test.toml")


# -- the schedule expression --


@pytest.mark.parametrize(
    ("text", "on_calendar", "cron"),
    [
        ("daily", "daily", "0 0 * * *"),
        ("Hourly", "hourly", "0 * * * *"),
        ("weekly", "weekly", "0 0 * * 1"),
        ("monthly", "monthly", "0 0 1 * *"),
        ("02:30", "*-*-* 02:30:00", "30 2 * * *"),
        ("*-*-* 2:05:00", "*-*-* 02:05:00", "5 2 * * *"),
        ("Mon..Fri 23:00", "Mon..Fri *-*-* 23:00:00", "0 23 * * 1,2,3,4,5"),
        ("Sat,Sun *-*-* 04:00", "Sat,Sun *-*-* 04:00:00", "0 4 * * 6,0"),
        ("Mon..Sun 01:00", "*-*-* 01:00:00", "0 1 * * *"),
    ],
)
def test_schedules_both_systemd_and_cron_can_run(text, on_calendar, cron):
    assert (parse_calendar(text).on_calendar, parse_calendar(text).cron) == (on_calendar, cron)


@pytest.mark.parametrize(
    "text", ["every night", "25:00", "02:30:15", "Fri..Mon 02:00", "Funday 02:00", "", "*-*-*"]
)
def test_other_schedules_are_refused_in_one_line(text):
    with pytest.raises(ConfigError) as caught:
        parse_config(f'[backup]\nschedule = "{text}"\n', "site.toml")
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("site.toml: backup.schedule = ")
    assert "use hourly, daily, weekly, monthly, or a time of day such as '02:30'" in message


def test_the_default_is_nightly():
    assert parse_config("", "x.toml").backup.schedule == "*-*-* 02:30:00"


# -- the files --


def test_systemd_timer_runs_the_guarded_tool_on_the_schedule(tmp_path):
    installed = tmp_path / "data/apps/datakeeper/current/bin/datakeeper"
    installed.parent.mkdir(parents=True)
    installed.write_text("#!/bin/sh\n")
    cfg = site(tmp_path, '\n[backup]\nschedule = "Mon..Fri 03:15"\n')
    units = tmp_path / "units"
    files = schedule_files(
        cfg, Path("/c.toml"), Schedule(True, units, unit_name="datakeeper-backup")
    )
    timer = files[units / "datakeeper-backup.timer"].decode()
    assert "OnCalendar=Mon..Fri *-*-* 03:15:00\nPersistent=true\n" in timer
    service = files[units / "datakeeper-backup.service"].decode()
    exec_line = next(line for line in service.splitlines() if line.startswith("ExecStart="))
    assert guarded_command(installed)[0] in exec_line
    assert exec_line.endswith("--config /c.toml backup run --scheduled")


def test_cron_file_runs_as_root_at_the_same_time(tmp_path):
    cfg = site(tmp_path, '\n[backup]\nschedule = "Sat,Sun 04:00"\n')
    cron = tmp_path / "cron.d" / "datakeeper-backup"
    [(path, content)] = schedule_files(
        cfg, Path("/c.toml"), Schedule(False, tmp_path, cron)
    ).items()
    assert path == cron
    line = content.decode().splitlines()[-1]
    assert line.startswith("0 4 * * 6,0 root ")
    assert line.endswith("--config /c.toml backup run --scheduled")


def test_the_flag_lives_on_persistent_storage(tmp_path):
    assert flag_path(site(tmp_path)) == tmp_path / "data/config/datakeeper/backup-schedule-enabled"


# -- the last run --


def test_a_failure_stays_the_last_error_after_a_later_success(tmp_path):
    cfg = site(tmp_path)
    cfg.state_dir.mkdir(parents=True)
    last_run.record_run(cfg, ok=False, scheduled=True, error="rsync failed: disk full")
    last_run.record_run(cfg, ok=True, scheduled=False, summary="snapshot X: 3 files")
    found = last_run.read_last_run(cfg)
    assert (found.ok, found.summary, found.error) == (True, "snapshot X: 3 files", "")
    assert found.last_error == "rsync failed: disk full" and found.last_error_at
    path = last_run.record_path(cfg)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text())["scheduled"] is False


def test_nothing_is_recorded_when_the_state_dir_is_not_there(tmp_path):
    cfg = site(tmp_path)  # /data not mounted: never write the record onto the SSD
    last_run.record_run(cfg, ok=False, scheduled=True, error="not mounted")
    assert not last_run.record_path(cfg).exists()
    assert last_run.read_last_run(cfg) is None


def test_a_failed_run_logs_an_alert_and_runs_the_hook_with_the_error(tmp_path, monkeypatch):
    cfg = site(tmp_path, '\n[alert]\nhook = "/usr/local/sbin/notify"\n')
    logged, ran = [], []
    monkeypatch.setattr(last_run, "log_alert", lambda *args, **kw: logged.append(args))
    monkeypatch.setattr(last_run, "run_hook", lambda hook, env: ran.append((hook, env)))
    result = last_run.alert_failure(cfg, "rsync failed:\n disk full")
    [(_cfg, resource, sentence, details)] = logged
    assert (resource, details) == ("backup schedule", {"error": "rsync failed:\n disk full"})
    assert sentence == "the scheduled backup failed: rsync failed:\n disk full"
    [(hook, env)] = ran
    assert hook == Path("/usr/local/sbin/notify")
    assert env == {
        "DATAKEEPER_ALERT_KIND": "backup",
        "DATAKEEPER_ALERT_ROOT": str(tmp_path / "backup"),
        "DATAKEEPER_ALERT_MESSAGE": "rsync failed: disk full",
    }
    assert result.problems == []
    assert result.actions == [
        "logged the failed backup (action log and syslog)",
        "ran /usr/local/sbin/notify",
    ]


def test_a_failing_hook_is_a_problem_not_an_exception(tmp_path, monkeypatch):
    cfg = site(tmp_path, '\n[alert]\nhook = "/usr/local/sbin/notify"\n')
    monkeypatch.setattr(
        last_run, "log_alert", lambda *args, **kw: "only root writes the action log"
    )
    monkeypatch.setattr(last_run, "run_hook", lambda hook, env: "hook failed (exit 1)")
    result = last_run.alert_failure(cfg, "boom")
    assert result.problems == [
        "not written to the action log: only root writes the action log",
        "hook failed (exit 1)",
    ]


# -- restore --everything --


def test_everything_refuses_over_homes_naming_them(tmp_path, monkeypatch):
    cfg = site(tmp_path)
    for name in ("alice", "bob"):
        (cfg.users_dir / name).mkdir(parents=True)
    monkeypatch.setattr(disaster, "ensure_persistent", lambda root: None)
    snapshot = disaster.layout.Snapshot(tmp_path / "snap", disaster.datetime.now(), "complete")
    plan = disaster.DisasterPlan(
        snapshot, cfg, tmp_path / "c.toml", b"", b"{}", ["users"], disaster._homes_present(cfg)
    )
    with pytest.raises(RefusedError) as caught:
        disaster.restore_everything(plan, over_present=False, reporter=None)
    assert str(caught.value) == (
        f"{cfg.users_dir} is not empty: it holds 2 homes (alice, bob); restoring from "
        f"{snapshot.name} puts the snapshot's files over them"
    )
    assert not (tmp_path / "c.toml").exists()


def test_status_lines_show_the_schedule_the_last_run_and_the_last_error():
    failed = last_run.LastRun("2026-12-03T02:30:05+00:00", False, True, error="rsync failed")
    later = last_run.LastRun(
        "2026-12-04T02:30:09+00:00", True, True, "snapshot X: 3 files", "",
        failed.error, failed.finished,
    )  # fmt: skip
    on = BackupStatus("systemd", "*-*-* 02:30:00", True, True, "Sat 2026-12-05 02:30:00 UTC", later)
    assert on.lines() == [
        "schedule: *-*-* 02:30:00 (systemd), enabled",
        "next run: Sat 2026-12-05 02:30:00 UTC",
        "last run: 2026-12-04T02:30:09+00:00 ✓ snapshot X: 3 files",
        "last error: 2026-12-03T02:30:05+00:00: rsync failed",
    ]
    off = BackupStatus("cron", "*-*-* 02:30:00", False, False, None, failed)
    assert off.lines() == [
        "schedule: off (turn it on with 'datakeeper backup enable')",
        "last run: 2026-12-03T02:30:05+00:00 ✗ rsync failed",
    ]
    drifted = BackupStatus("cron", "daily", True, False, "cron: 0 0 * * *", None)
    assert drifted.lines()[0] == "schedule: daily (cron), enabled, not in place: run check --fix"
    assert drifted.lines()[-1] == "last run: none yet"
