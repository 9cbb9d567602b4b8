"""Tests for the action log (file + syslog), the actor, and secret masking."""

from __future__ import annotations

import json
import os
import pwd
import stat
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from datakeeper import actionlog
from datakeeper.actionlog import ActionLog, current_actor, read_actions
from datakeeper.errors import RefusedError
from datakeeper.system.masking import mask_secrets

ME = pwd.getpwuid(os.geteuid()).pw_name


class FakeSyslog:
    """Stands in for the stdlib ``syslog`` module and keeps what was sent."""

    LOG_PID, LOG_USER, LOG_INFO, LOG_WARNING = 1, 8, 6, 4

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.opened: list[tuple[str, int, int]] = []
        self.messages: list[tuple[int, str]] = []

    def openlog(self, ident: str, option: int, facility: int) -> None:
        if self.fail:
            raise OSError("no syslog here")
        self.opened.append((ident, option, facility))

    def syslog(self, priority: int, message: str) -> None:
        self.messages.append((priority, message))


@pytest.fixture
def fake_syslog(monkeypatch: pytest.MonkeyPatch) -> FakeSyslog:
    fake = FakeSyslog()
    monkeypatch.setattr(actionlog, "syslog", fake)
    return fake


@pytest.fixture
def no_login(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A loginuid file saying "no login session", and no SUDO_USER."""
    loginuid = tmp_path / "loginuid"
    loginuid.write_text("4294967295")
    monkeypatch.setattr(actionlog, "LOGINUID_PATH", loginuid)
    monkeypatch.delenv("SUDO_USER", raising=False)
    return loginuid


@pytest.fixture
def log(tmp_path: Path, fake_syslog: FakeSyslog) -> ActionLog:
    return ActionLog(tmp_path / "actions.log")


# --- recording --------------------------------------------------------------


def test_records_are_appended_as_json_lines(log: ActionLog) -> None:
    first = log.record(
        code="test.change", resource="user alice", change="create uid 1001", actor="root"
    )
    log.record(
        code="test.change",
        resource="group gpu-users",
        change="add alice",
        outcome="failed",
        actor="root",
        details={"exit": 9},
    )
    lines = log.path.read_text().splitlines()
    assert len(lines) == 2
    records = [json.loads(line) for line in lines]
    assert records[0] == first
    assert set(records[0]) == {"time", "host", "actor", "code", "resource", "change", "outcome"}
    assert records[0]["outcome"] == "applied"
    assert records[1]["outcome"] == "failed"
    assert records[1]["details"] == {"exit": 9}
    assert records[0]["time"].endswith("Z")
    assert datetime.fromisoformat(records[0]["time"].replace("Z", "+00:00")).tzinfo is not None
    assert read_actions(log.path) == records


def test_log_file_is_private(log: ActionLog) -> None:
    old_umask = os.umask(0)
    try:
        log.record(code="test.change", resource="r", change="c", actor="root")
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(log.path.stat().st_mode) == 0o600


def test_existing_log_with_loose_mode_is_made_private(log: ActionLog) -> None:
    log.path.write_text("")
    log.path.chmod(0o644)
    log.record(code="test.change", resource="r", change="c", actor="root")
    assert stat.S_IMODE(log.path.stat().st_mode) == 0o600


def test_symlink_log_is_refused_and_target_untouched(log: ActionLog, tmp_path: Path) -> None:
    target = tmp_path / "shadow"
    target.write_text("root:x:0:\n")
    log.path.symlink_to(target)
    with pytest.raises(RefusedError, match="symbolic link"):
        log.record(code="test.change", resource="r", change="c", actor="root")
    assert target.read_text() == "root:x:0:\n"
    with pytest.raises(RefusedError):
        read_actions(log.path)


def test_hard_linked_log_is_refused(log: ActionLog, tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.write_text("")
    other.chmod(0o600)
    os.link(other, log.path)
    with pytest.raises(RefusedError, match="hard links"):
        log.record(code="test.change", resource="r", change="c", actor="root")
    assert other.read_text() == ""


def test_fifo_log_is_refused_without_hanging(log: ActionLog) -> None:
    os.mkfifo(log.path, 0o600)
    with pytest.raises(RefusedError, match="not a regular file"):
        log.record(code="test.change", resource="r", change="c", actor="root")


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give the file to another user")
def test_log_owned_by_someone_else_is_refused(log: ActionLog) -> None:
    log.path.write_text("")
    os.chown(log.path, 12345, 12345)
    with pytest.raises(RefusedError, match="owned by uid 12345"):
        log.record(code="test.change", resource="r", change="c", actor="root")


def test_record_uses_current_actor_by_default(
    log: ActionLog, no_login: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SUDO_USER", "alice" if ME != "alice" else "bob")
    record = log.record(code="test.change", resource="r", change="c")
    assert record["actor"] == current_actor()
    assert "(sudo from " in record["actor"]


# --- syslog -------------------------------------------------------------------


def test_record_is_sent_to_syslog(log: ActionLog, fake_syslog: FakeSyslog) -> None:
    log.record(
        code="test.change", resource="user alice", change="create", actor="root (sudo from bob)"
    )
    log.record(
        code="test.change", resource="user carol", change="create", outcome="failed", actor="root"
    )
    assert fake_syslog.opened[0] == ("datakeeper", FakeSyslog.LOG_PID, FakeSyslog.LOG_USER)
    assert fake_syslog.messages == [
        (FakeSyslog.LOG_INFO, "root (sudo from bob): user alice: create (applied)"),
        (FakeSyslog.LOG_WARNING, "root: user carol: create (failed)"),
    ]


def test_syslog_message_stays_one_line(log: ActionLog, fake_syslog: FakeSyslog) -> None:
    log.record(code="test.change", resource="user x\nFAKE: entry", change="c\x00", actor="root")
    (_, message) = fake_syslog.messages[0]
    assert "\n" not in message
    assert "\x00" not in message


def test_unavailable_syslog_never_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = ActionLog(tmp_path / "actions.log")
    monkeypatch.setattr(actionlog, "syslog", FakeSyslog(fail=True))
    log.record(code="test.change", resource="r", change="c", actor="root")
    monkeypatch.setattr(actionlog, "syslog", None)
    log.record(code="test.change", resource="r", change="c", actor="root")
    assert len(read_actions(log.path)) == 2


# --- reading ------------------------------------------------------------------


def test_read_actions_missing_file_is_empty(tmp_path: Path) -> None:
    assert read_actions(tmp_path / "absent.log") == []


def test_read_actions_limit_returns_the_latest(log: ActionLog) -> None:
    for number in range(5):
        log.record(code="test.change", resource=f"r{number}", change="c", actor="root")
    assert [r["resource"] for r in read_actions(log.path, limit=2)] == ["r3", "r4"]
    assert read_actions(log.path, limit=0) == []
    assert len(read_actions(log.path, limit=50)) == 5


def test_torn_last_line_is_skipped_and_next_record_survives(log: ActionLog) -> None:
    log.record(code="test.change", resource="r1", change="c", actor="root")
    with log.path.open("ab") as stream:
        stream.write(b'{"time": "2024-01-01T00:00:00Z", "resou')  # crash mid-write
    assert [r["resource"] for r in read_actions(log.path)] == ["r1"]
    log.record(code="test.change", resource="r2", change="c", actor="root")
    assert [r["resource"] for r in read_actions(log.path)] == ["r1", "r2"]


def test_non_object_lines_are_skipped(log: ActionLog) -> None:
    log.path.write_bytes(b'[1, 2]\n"text"\n\xff\n{"resource": "ok"}\n')
    log.path.chmod(0o600)
    assert read_actions(log.path) == [{"resource": "ok"}]


# --- concurrency --------------------------------------------------------------

APPENDER = """
import sys
from pathlib import Path
from datakeeper import actionlog
actionlog.syslog = None
log = actionlog.ActionLog(Path(sys.argv[1]))
tag, go = sys.argv[2], Path(sys.argv[3])
print("ready", flush=True)
while not go.exists():
    pass
for number in range(200):
    pad = {"pad": tag * 2000}
    log.record(code="test.change", resource=tag, change=str(number), actor="root", details=pad)
"""


def test_concurrent_appenders_write_only_whole_lines(tmp_path: Path) -> None:
    path, go = tmp_path / "actions.log", tmp_path / "go"
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", APPENDER, str(path), tag, str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for tag in ("a", "b")
    ]
    for process in processes:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "ready"
    go.touch()
    for process in processes:
        _, errors = process.communicate(timeout=120)
        assert process.returncode == 0, errors
    lines = path.read_bytes().split(b"\n")
    assert lines[-1] == b""
    records: list[dict[str, Any]] = [json.loads(line) for line in lines[:-1]]
    assert len(records) == 400
    for tag in ("a", "b"):
        mine = [r["change"] for r in records if r["resource"] == tag]
        assert mine == [str(number) for number in range(200)]
        assert all(r["details"]["pad"] == tag * 2000 for r in records if r["resource"] == tag)


# --- actor ----------------------------------------------------------------------


def test_actor_without_sudo_or_login(no_login: Path) -> None:
    assert current_actor() == ME


def test_actor_with_sudo_user(no_login: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUDO_USER", "alice")
    expected = ME if ME == "alice" else f"{ME} (sudo from alice)"
    assert current_actor() == expected


def test_actor_is_read_at_call_time(no_login: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUDO_USER", "zz-first")
    assert current_actor().endswith("(sudo from zz-first)")
    monkeypatch.setenv("SUDO_USER", "zz-second")
    assert current_actor().endswith("(sudo from zz-second)")


def test_actor_sudo_user_with_control_characters(
    no_login: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SUDO_USER", "eve\nroot")
    assert "\n" not in current_actor()


def test_actor_from_login_uid(no_login: Path) -> None:
    other_uid = 4242 if os.geteuid() != 4242 else 4343
    no_login.write_text(f"{other_uid}\n")
    try:
        name = pwd.getpwuid(other_uid).pw_name
    except KeyError:
        name = str(other_uid)
    assert current_actor() == f"{ME} (login {name})"


def test_actor_ignores_own_login_uid_and_garbage(no_login: Path) -> None:
    no_login.write_text(str(os.geteuid()))
    assert current_actor() == ME
    no_login.write_text("not a number")
    assert current_actor() == ME
    no_login.unlink()
    assert current_actor() == ME


# --- masking --------------------------------------------------------------------


def test_masking_replaces_every_occurrence() -> None:
    assert mask_secrets("pw=hunter2 again hunter2", ["hunter2"]) == "pw=*** again ***"


def test_masking_ignores_empty_secrets_and_keeps_text() -> None:
    assert mask_secrets("nothing to hide", ["", "absent"]) == "nothing to hide"
    assert mask_secrets("", ["x"]) == ""
    assert mask_secrets("abc", []) == "abc"


def test_masking_hides_longest_secret_whole() -> None:
    assert mask_secrets("token=abcdef", ["abc", "abcdef"]) == "token=***"


def test_masking_accepts_any_iterable() -> None:
    secrets = (secret for secret in ["s3cret", "k3y"])
    assert mask_secrets("s3cret and k3y", secrets) == "*** and ***"


def test_masking_before_logging(log: ActionLog, fake_syslog: FakeSyslog) -> None:
    password = "Temp-Pass-123"
    change = mask_secrets(f"set temporary password {password}", [password])
    log.record(code="test.change", resource="user alice", change=change, actor="root")
    assert password not in log.path.read_text()
    assert password not in fake_syslog.messages[0][1]


def test_time_is_utc_now(log: ActionLog) -> None:
    before = datetime.now(timezone.utc).replace(microsecond=0)
    record = log.record(code="test.change", resource="r", change="c", actor="root")
    stamp = datetime.fromisoformat(record["time"].replace("Z", "+00:00"))
    assert before <= stamp.replace(microsecond=0) <= datetime.now(timezone.utc)
