"""Recovery blocks member logins while it runs (/run/nologin) and cannot hang on one user."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from datakeeper.features.recovery import login_block
from datakeeper.features.recovery.login_block import logins_blocked
from datakeeper.features.recovery.recover import run_isolated
from datakeeper.features.recovery.step_limit import StepTimeoutError, time_limit
from datakeeper.features.setup.init import StepResult
from datakeeper.features.setup.steps import Step
from datakeeper.status import StepStatus


@pytest.fixture
def paths(tmp_path: Path) -> dict[str, Path]:
    (tmp_path / "run").mkdir()
    return {"nologin": tmp_path / "run/nologin", "failed": tmp_path / "run/dk/recovery-failed"}


def test_logins_are_refused_during_recovery_and_allowed_after_it(paths):
    with logins_blocked(dry_run=False, **paths) as block:
        text = paths["nologin"].read_text()
        assert "restoring accounts" in text and "try again in a minute" in text
        assert paths["nologin"].stat().st_mode & 0o777 == 0o644
        block.ok = True
    assert not paths["nologin"].exists()
    assert not paths["failed"].exists()


def test_a_failed_recovery_lifts_the_block_and_leaves_its_reason(paths):
    with logins_blocked(dry_run=False, **paths) as block:
        block.summary = "15 users recovered, 0 already right, 1 skipped"
    assert not paths["nologin"].exists()
    assert "finished with problems: 15 users recovered" in paths["failed"].read_text()


def test_a_crash_lifts_the_block_too(paths):
    with pytest.raises(RuntimeError), logins_blocked(dry_run=False, **paths):
        raise RuntimeError("boom")
    assert not paths["nologin"].exists()
    assert "recovery did not finish" in paths["failed"].read_text()


def test_sigterm_lifts_the_block(paths):
    with pytest.raises(SystemExit) as stopped, logins_blocked(dry_run=False, **paths):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # interrupted at once
    assert stopped.value.code == 128 + signal.SIGTERM
    assert not paths["nologin"].exists()
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


def test_an_admins_own_block_is_left_alone(paths):
    paths["nologin"].write_text("maintenance until 18:00\n")
    with logins_blocked(dry_run=False, **paths) as block:
        block.ok = True
        assert not block.created
    assert paths["nologin"].read_text() == "maintenance until 18:00\n"


def test_a_success_clears_the_failure_of_an_earlier_run(paths):
    paths["failed"].parent.mkdir()
    paths["failed"].write_text("old\n")
    with logins_blocked(dry_run=False, **paths) as block:
        block.ok = True
    assert not paths["failed"].exists()


def test_a_dry_run_writes_nothing(paths):
    with logins_blocked(dry_run=True, **paths):
        assert not paths["nologin"].exists()
    assert not paths["failed"].exists()


def test_the_default_paths_are_what_pam_nologin_reads():
    assert Path("/run/nologin") == login_block.NOLOGIN


# -- one user cannot hang the recovery -----------------------------------------------------


def test_time_limit_interrupts_a_blocking_call():
    start = time.monotonic()
    with pytest.raises(StepTimeoutError, match=r"no end after 0\.2 s"), time_limit(0.2):
        time.sleep(10)
    assert time.monotonic() - start < 2
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_a_hung_user_is_reported_skipped_and_the_next_one_runs(monkeypatch):
    monkeypatch.setattr("datakeeper.features.recovery.recover.USER_STEP_TIMEOUT", 0.2)
    ran: list[str] = []

    def fake_run_step(session, step, result, dry_run, reporter):
        if step.title == "hung":
            time.sleep(30)  # a command or a home that never answers
        ran.append(step.title)
        result.status = StepStatus.CHANGED

    monkeypatch.setattr("datakeeper.features.recovery.recover.run_step", fake_run_step)
    results = []
    for name in ("hung", "next"):
        result = StepResult("USER", name)
        run_isolated(None, Step("USER", name, []), result, False, None)
        results.append(result)
    assert [r.status for r in results] == [StepStatus.FAILED, StepStatus.CHANGED]
    assert "no end after 0.2 s" in results[0].errors[0]
    assert ran == ["next"]
