"""``datakeeper gpu`` as people and scripts see it: the --json keys, the optional values,
the alert rule, and the no-GPU path end to end with the real nvidia-ml-py."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from tests.support.fake_gpu import GIB, FakeGpuBackend, fake_proc, figures
from typer.testing import CliRunner

from datakeeper.cli.app import app
from datakeeper.cli.argv import hoist_global_options
from datakeeper.config import parse_config
from datakeeper.errors import ConfigError
from datakeeper.features.gpu import alert, idle, snapshot

TOP_KEYS = {
    "available", "reason", "driver", "taken_at", "gpus", "processes", "other_processes",
    "message", "by_user", "idle", "alert",
}  # fmt: skip
GPU_KEYS = {
    "index", "name", "uuid", "memory_used", "memory_total", "utilization", "temperature",
    "power_watts",
}  # fmt: skip
PROCESS_KEYS = {"pid", "gpu", "used_memory", "uid", "user", "command", "visible"}
NAMES = {1001: "alice", 1002: "bob"}


@pytest.fixture
def gpus(tmp_path, monkeypatch):
    """`datakeeper gpu` sees two GPUs: alice on GPU 0, bob (idle) on GPU 1."""
    backend = FakeGpuBackend(
        gpus=[figures(0, 20, 90), figures(1, 10, 0)],
        running={0: [(100, 20 * GIB)], 1: [(200, None)]},
    )
    proc = fake_proc(tmp_path / "proc", {100: (1001, "python"), 200: (1002, "jupyter")})
    clock = {"now": 0.0}
    real = snapshot.take_snapshot

    def fake_snapshot():
        return real(backend, proc=proc, clock=lambda: clock["now"], user_name=NAMES.get)

    monkeypatch.setattr(snapshot, "take_snapshot", fake_snapshot)
    monkeypatch.setattr(idle, "ROOT_SAMPLES", tmp_path / "run" / "gpu-samples.json")
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "nowhere"))
    return clock


def run(*args: str, euid: int = 0, monkeypatch):
    monkeypatch.setattr("os.geteuid", lambda: euid)
    return CliRunner().invoke(app, list(args))


def test_json_has_stable_keys(gpus, monkeypatch):
    data = json.loads(run("gpu", "--json", monkeypatch=monkeypatch).output)
    assert set(data) == TOP_KEYS
    assert data["by_user"] is None and data["idle"] is None and data["alert"] is None
    assert all(set(g) == GPU_KEYS for g in data["gpus"])
    assert all(set(p) == PROCESS_KEYS for p in data["processes"])
    assert [(p["pid"], p["user"], p["used_memory"]) for p in data["processes"]] == [
        (100, "alice", 20 * GIB),
        (200, "bob", None),
    ]
    full = json.loads(run("gpu", "--by-user", "--idle", "--json", monkeypatch=monkeypatch).output)
    assert set(full) == TOP_KEYS
    assert [u["user"] for u in full["by_user"]] == ["alice", "bob"]
    assert full["idle"]["threshold_minutes"] == 30


def test_the_table_names_users_and_unknown_memory(gpus, monkeypatch):
    output = run("gpu", monkeypatch=monkeypatch).output
    assert "alice" in output and "jupyter" in output and "unknown" in output


def test_a_member_sees_only_their_processes_and_counts(gpus, monkeypatch):
    result = run("gpu", "--json", euid=1002, monkeypatch=monkeypatch)
    data = json.loads(result.output)
    assert [p["user"] for p in data["processes"]] == ["bob"]
    assert data["other_processes"] == {"0": 1}
    text = run("gpu", euid=1002, monkeypatch=monkeypatch).output
    assert "alice" not in text and "GPU 0: 1 process of other users" in text


@pytest.mark.parametrize(
    ("argv", "hoisted"),
    [
        (["gpu", "--idle"], ["gpu", "--idle=30"]),
        (["gpu", "--idle", "45", "--json"], ["--json", "gpu", "--idle", "45"]),
        (["gpu", "--idle", "--json"], ["--json", "gpu", "--idle=30"]),
        (["gpu", "--watch", "--by-user"], ["gpu", "--watch=2", "--by-user"]),
        (["gpu", "--watch", "0.5"], ["gpu", "--watch", "0.5"]),
    ],
)
def test_idle_and_watch_take_an_optional_value(argv, hoisted):
    import typer

    assert hoist_global_options(argv, typer.main.get_command(app)) == hoisted


def site(tmp_path: Path, extra: str = ""):
    text = f'[storage]\ndata_root = "{tmp_path}"\nbackup_root = ""\n{extra}'
    return parse_config(text, "test.toml")


def test_the_alert_rule_logs_and_runs_the_hook_for_idle_holders(tmp_path, monkeypatch):
    cfg = site(tmp_path, '[alert]\nhook = "/usr/local/sbin/gpu-hook"\n[gpu]\nidle_minutes = 5\n')
    logged, hooked = [], []
    monkeypatch.setattr(alert, "log_alert", lambda *a, **k: logged.append(a) or None)
    monkeypatch.setattr(alert, "run_hook", lambda hook, env: hooked.append(env) or None)
    backend = FakeGpuBackend(gpus=[figures(0, 10, 0)], running={0: [(200, GIB)]})
    proc = fake_proc(tmp_path / "proc", {200: (1002, "jupyter")})
    store = alert.SampleStore(tmp_path / "samples.json")
    outcomes = []
    for t in (0.0, 360.0):
        found = snapshot.take_snapshot(backend, proc=proc, clock=lambda t=t: t, user_name=NAMES.get)
        outcomes.append(alert.run_idle_alert(cfg, found, store))
    assert not outcomes[0].fired and outcomes[1].fired
    assert logged[0][1] == "gpu 0 pid 200"
    assert "pid 200 (bob, jupyter)" in logged[0][2]
    assert hooked == [
        {
            "DATAKEEPER_ALERT_KIND": "gpu-idle",
            "DATAKEEPER_ALERT_GPU": "0",
            "DATAKEEPER_ALERT_PID": "200",
            "DATAKEEPER_ALERT_USER": "bob",
            "DATAKEEPER_ALERT_USED_BYTES": str(GIB),
            "DATAKEEPER_ALERT_IDLE_MINUTES": "6",
            "DATAKEEPER_ALERT_THRESHOLD": "5",
        }
    ]


@pytest.mark.parametrize("value", ["-1", "1441", '"30"'])
def test_the_rule_is_validated(tmp_path, value):
    with pytest.raises(ConfigError, match=r"gpu\.idle_minutes"):
        site(tmp_path, f"[gpu]\nidle_minutes = {value}\n")


def test_the_alert_needs_the_rule_and_root(tmp_path, gpus, monkeypatch):
    with pytest.raises(ConfigError, match=r"set idle_minutes in the \[gpu\] section"):
        alert.rule_minutes(site(tmp_path))
    result = run("gpu", "--alert", euid=1000, monkeypatch=monkeypatch)
    assert "gpu --alert needs root; run it with sudo" in str(result.exception)


# -- no GPU, end to end, with the real nvidia-ml-py -----------------------------------


def _has_nvidia_driver() -> bool:
    import pynvml

    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError:
        return False
    pynvml.nvmlShutdown()
    return True


needs_no_gpu = pytest.mark.skipif(
    _has_nvidia_driver(), reason="this machine has an NVIDIA driver: see scripts/gpu-compare"
)


def _datakeeper(*args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "datakeeper", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


@needs_no_gpu
@pytest.mark.parametrize("args", [(), ("--by-user",), ("--idle",), ("--watch",)])
def test_without_a_gpu_the_view_is_one_line_and_exit_0(args):
    result = _datakeeper("gpu", *args)
    assert (result.returncode, result.stdout, result.stderr) == (
        0,
        "no NVIDIA GPU or driver found on this server\n",
        "",
    )


@needs_no_gpu
def test_without_a_gpu_json_says_there_are_none():
    result = _datakeeper("gpu", "--json")
    data = json.loads(result.stdout)
    assert result.returncode == 0 and set(data) == TOP_KEYS
    assert data["available"] is False and data["gpus"] == [] and data["processes"] == []
    assert data["message"] == "no NVIDIA GPU or driver found on this server"
    assert data["reason"]  # NVML's own words (library not found, driver not loaded)


def test_watch_with_json_prints_one_line_per_look_until_ctrl_c(gpus, monkeypatch):
    from datakeeper.cli import gpu_cmd

    looks = []

    def sleep(seconds):
        looks.append(seconds)
        if len(looks) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(gpu_cmd.time, "sleep", sleep)
    result = run("gpu", "--watch", "--json", monkeypatch=monkeypatch)
    lines = result.output.splitlines()
    assert result.exit_code == 0 and looks == [2.0, 2.0]
    assert len(lines) == 2 and all(set(json.loads(line)) == TOP_KEYS for line in lines)
