"""What runs as a user, and ending it: processes, crontab, at jobs (system faked)."""

from __future__ import annotations

import subprocess
import sys
import time
from types import SimpleNamespace

import psutil
import pytest

from datakeeper.resources.user_jobs import AtJobsAbsent, CrontabAbsent, ProcessesEnded
from datakeeper.system import activity as sessions

ATQ = (
    "7\tThu Jan  4 10:00:00 2029 a bob\n"
    "8\tThu Jan  4 11:00:00 2029 a amy\n"
    "9\tFri Jan  5 10:00:00 2029 b bob\n"
)


def _fake_run(outputs: dict[str, str], calls: list):
    def run(argv, **_kwargs):
        calls.append(list(argv))
        return SimpleNamespace(stdout=outputs.get(argv[0], ""), returncode=0)

    return run


def test_at_jobs_are_those_of_the_user(monkeypatch):
    calls: list = []
    monkeypatch.setattr(sessions.shutil, "which", lambda tool: f"/usr/bin/{tool}")
    monkeypatch.setattr(sessions.commands, "run", _fake_run({"atq": ATQ}, calls))
    assert sessions.at_jobs("bob") == ["7", "9"]
    [change] = AtJobsAbsent("bob").plan()
    change.action()
    assert calls[-1] == ["atrm", "7", "9"]


def test_without_at_or_cron_installed_nothing_is_planned(monkeypatch):
    monkeypatch.setattr(sessions.shutil, "which", lambda tool: None)
    assert AtJobsAbsent("bob").plan() == []
    assert CrontabAbsent("bob").plan() == []


def test_crontab_is_removed_when_there_is_one(monkeypatch):
    calls: list = []
    monkeypatch.setattr(sessions.shutil, "which", lambda tool: f"/usr/bin/{tool}")
    monkeypatch.setattr(sessions.commands, "run", _fake_run({}, calls))
    [change] = CrontabAbsent("bob").plan()
    change.action()
    assert calls == [["crontab", "-l", "-u", "bob"], ["crontab", "-r", "-u", "bob"]]


@pytest.fixture
def stubborn():
    """A child that ignores SIGTERM, so only SIGKILL ends it."""
    code = (
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "print(1, flush=True); time.sleep(60)"
    )
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    child.stdout.readline()
    yield child
    child.kill()
    child.wait()


def test_end_processes_terminates_then_kills(monkeypatch, stubborn):
    process = psutil.Process(stubborn.pid)

    def alive(uid):
        return [process] if process.is_running() and stubborn.poll() is None else []

    monkeypatch.setattr(sessions, "_processes_of", alive)
    started = time.monotonic()
    assert sessions.end_processes(12345, grace=0.2) == 1
    assert not process.is_running(), "SIGTERM was ignored, SIGKILL ended it"
    assert time.monotonic() - started >= 0.2


def test_plan_names_the_processes(monkeypatch):
    running = [sessions.UserProcess(42, "sleep", "sleep 300")]
    monkeypatch.setattr(sessions, "user_processes", lambda uid: running)
    [change] = ProcessesEnded("bob", 1001).plan()
    assert "end 1 process of bob" in change.summary and "42 sleep" in change.summary
    monkeypatch.setattr(sessions, "user_processes", lambda uid: [])
    assert ProcessesEnded("bob", 1001).plan() == []
