"""The one systemd unit-state resource (boot units, the alert timer) and DaemonReload,
with systemctl faked: every call goes through datakeeper.system.systemd."""

from __future__ import annotations

import pytest

from datakeeper.resources.systemd_unit import DaemonReload, SystemdUnits
from datakeeper.system import systemd
from datakeeper.system.systemd import UnitState

TIMER = "datakeeper-disk-alert.timer"


@pytest.fixture
def systemctl(monkeypatch):
    """Every systemctl command run, and a settable state per unit."""
    calls: list[list[str]] = []
    states: dict[str, UnitState] = {}
    monkeypatch.setattr(systemd.commands, "run", lambda argv, **kw: calls.append(list(argv)))
    monkeypatch.setattr(systemd, "unit_state", lambda u: states.get(u, UnitState("", "", "")))
    return calls, states


def timer(*, enabled: bool = True) -> SystemdUnits:
    return SystemdUnits(f"timer {TIMER}", (TIMER,), (TIMER,), enabled=enabled)


def test_a_stopped_timer_is_reloaded_enabled_and_started_at_once(systemctl):
    calls, states = systemctl
    states[TIMER] = UnitState("disabled", "inactive", "no")
    (change,) = timer().plan()
    assert change.summary == f"reload systemd, enable and start {TIMER}"
    assert change.before == {
        TIMER: {"enabled": "disabled", "active": "inactive", "needs_reload": "no"}
    }
    change.action()
    assert calls == [["systemctl", "daemon-reload"], ["systemctl", "enable", "--now", TIMER]]


def test_a_running_timer_plans_nothing_unless_its_file_changed(systemctl):
    _calls, states = systemctl
    states[TIMER] = UnitState("enabled", "active", "no")
    assert timer().plan() == []
    states[TIMER] = UnitState("enabled", "active", "yes")
    (change,) = timer().plan()
    assert change.summary.startswith("reload systemd")


def test_a_disabled_timer_is_stopped_and_disabled_and_then_plans_nothing(systemctl):
    calls, states = systemctl
    states[TIMER] = UnitState("enabled", "active", "no")
    (change,) = timer(enabled=False).plan()
    assert change.summary == f"stop and disable {TIMER}"
    change.action()
    assert calls == [["systemctl", "disable", "--now", TIMER]]
    states[TIMER] = UnitState("disabled", "inactive", "no")
    assert timer(enabled=False).plan() == []


def test_a_unit_that_only_runs_at_boot_is_enabled_not_started(systemctl):
    _calls, states = systemctl
    states.update({u: UnitState("disabled", "inactive", "no") for u in ("a.service", "b.path")})
    units = SystemdUnits("units", ("a.service", "b.path"), running=("b.path",))
    (change,) = units.plan()
    assert change.summary == "reload systemd, enable a.service and b.path, start b.path"
    states["a.service"] = UnitState("enabled", "inactive", "no")
    states["b.path"] = UnitState("enabled", "active", "no")
    assert units.plan() == []  # a.service runs at the next boot, not now


def test_a_static_unit_counts_for_the_reload_only(systemctl):
    _calls, states = systemctl
    states["a.path"] = UnitState("enabled", "active", "no")
    states["a.service"] = UnitState("static", "inactive", "yes")
    units = SystemdUnits("units", ("a.path",), ("a.path",), static=("a.service",))
    assert len(units.plan()) == 1
    states["a.service"] = UnitState("static", "inactive", "no")
    assert units.plan() == []


def test_daemon_reload_names_the_units_changed_on_disk(systemctl):
    calls, states = systemctl
    states["x.timer"] = UnitState("disabled", "inactive", "yes")
    (change,) = DaemonReload(("x.service", "x.timer")).plan()
    assert change.summary == "reload systemd (x.timer changed on disk)"
    change.action()
    assert calls == [["systemctl", "daemon-reload"]]


def test_unit_state_reads_the_words_systemctl_prints(monkeypatch):
    class Done:
        def __init__(self, out):
            self.stdout = out

    answers = {"is-enabled": "enabled\n", "is-active": "inactive\n", "show": ""}
    monkeypatch.setattr(systemd.subprocess, "run", lambda argv, **kw: Done(answers[argv[1]]))
    state = systemd.unit_state("x.timer")
    assert state == UnitState("enabled", "inactive", "unknown")
    assert state.is_enabled and not state.stale and state.partly_on
