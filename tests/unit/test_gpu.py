"""``datakeeper gpu`` against a fake NVML backend: GPUs, processes mapped to users, the
v3/v2/v1 fallbacks, totals per user, a researcher's view and the idle rule."""

from __future__ import annotations

import json
import os
import types
from pathlib import Path

import pytest
from tests.support.fake_gpu import GIB, FakeGpuBackend, fake_proc, figures

from datakeeper.features.gpu import idle
from datakeeper.features.gpu.by_user import for_viewer, totals_by_user
from datakeeper.features.gpu.snapshot import take_snapshot
from datakeeper.system.nvml import NOT_AVAILABLE, GpuProcessFigures, NvmlBackend, read_gpus

NAMES = {0: "root", 1001: "alice", 1002: "bob", 1003: "carol"}
OWNERS = {
    100: (1001, "python"),
    101: (1001, "jupyter"),
    200: (1002, "train.py"),
    300: (1003, "torchrun"),
}
OUTSIDE = 999  # NVML reports it, but this pid namespace has no /proc entry for it


def two_gpus(**changes) -> FakeGpuBackend:
    """Two GPUs; alice on both, bob and carol on GPU 1; a container's pid; one process
    whose memory NVML cannot tell (usedGpuMemory None)."""
    backend = FakeGpuBackend(
        gpus=[figures(0, 30, 0), figures(1, 60, 97)],
        running={
            0: [(100, 20 * GIB), (OUTSIDE, 8 * GIB)],
            1: [(101, 10 * GIB), (200, 30 * GIB), (300, None)],
        },
    )
    for name, value in changes.items():
        setattr(backend, name, value)
    return backend


def snap(tmp_path: Path, backend: FakeGpuBackend, at: float = 1000.0):
    proc = tmp_path / "proc"
    if not proc.exists():
        fake_proc(proc, OWNERS)
    return take_snapshot(backend, proc=proc, clock=lambda: at, user_name=NAMES.get)


def test_two_gpus_three_users_a_foreign_pid_and_unknown_memory(tmp_path):
    snapshot = snap(tmp_path, two_gpus())
    assert snapshot.available and snapshot.driver == "550.54.15"
    assert [g.index for g in snapshot.gpus] == [0, 1]
    rows = {p.pid: (p.gpu, p.user, p.used_memory, p.visible) for p in snapshot.processes}
    assert rows == {
        100: (0, "alice", 20 * GIB, True),
        OUTSIDE: (0, None, 8 * GIB, False),
        101: (1, "alice", 10 * GIB, True),
        200: (1, "bob", 30 * GIB, True),
        300: (1, "carol", None, True),
    }
    outside = next(p for p in snapshot.processes if p.pid == OUTSIDE)
    assert outside.owner == "(outside this pid namespace)"
    assert [p.pid for p in snapshot.on_gpu(1)] == [200, 101, 300]


def test_totals_by_user(tmp_path):
    totals = {t.owner: t.as_dict() for t in totals_by_user(snap(tmp_path, two_gpus()))}
    assert totals["alice"]["used_memory"] == 30 * GIB
    assert totals["alice"]["gpus"] == [0, 1]
    assert totals["alice"]["processes"] == 2
    assert totals["bob"]["gpus"] == [1]
    assert totals["carol"] == {
        "user": "carol", "uid": 1003, "used_memory": 0, "processes_without_memory": 1,
        "gpus": [1], "processes": 1,
    }  # fmt: skip
    assert totals["(outside this pid namespace)"]["uid"] is None
    # Most memory first; a tie by name.
    assert list(totals) == ["alice", "bob", "(outside this pid namespace)", "carol"]


def test_a_researcher_sees_every_gpu_but_only_their_own_processes(tmp_path):
    view = for_viewer(snap(tmp_path, two_gpus()), 1002)
    assert [g.index for g in view.snapshot.gpus] == [0, 1]
    assert [p.pid for p in view.mine] == [200]
    assert view.others == {0: 2, 1: 2}
    data = view.as_dict()
    assert [p["pid"] for p in data["processes"]] == [200]
    assert "alice" not in json.dumps(data)
    assert data["other_processes"] == {"0": 2, "1": 2}
    assert for_viewer(view.snapshot, 0).others == {}


def test_the_newest_process_call_answers_first(tmp_path):
    backend = two_gpus()
    reading = read_gpus(backend)
    assert reading.process_call == 3
    assert backend.asked == [(0, 3), (1, 3)]
    assert backend.stopped


def test_a_driver_without_v3_falls_back_to_v2_then_keeps_it(tmp_path):
    backend = two_gpus(calls=(2, 1))
    snapshot = snap(tmp_path, backend)
    assert backend.asked == [(0, 3), (0, 2), (1, 2)]
    assert len(snapshot.processes) == 5


def test_a_driver_with_only_the_v1_call(tmp_path):
    backend = two_gpus(calls=(1,))
    reading = read_gpus(backend)
    assert reading.process_call == 1
    assert len(reading.processes) == 5


def test_a_driver_with_no_process_call_still_shows_the_gpus(tmp_path):
    reading = read_gpus(two_gpus(calls=()))
    assert reading.available and len(reading.gpus) == 2 and reading.processes == []


@pytest.mark.parametrize(
    "backend",
    [FakeGpuBackend(missing="NVML Shared Library Not Found"), FakeGpuBackend()],
    ids=["no-library-or-driver", "no-device"],
)
def test_no_gpu_is_a_reading_not_an_error(backend):
    reading = read_gpus(backend)
    assert not reading.available and reading.reason and reading.gpus == []


# -- the idle rule, on a fake clock --------------------------------------------------


def idle_backend(util: int, bob_memory: int | None = 30 * GIB) -> FakeGpuBackend:
    """GPU 0 at ``util`` %, held by bob's notebook."""
    return FakeGpuBackend(gpus=[figures(0, 30, util)], running={0: [(200, bob_memory)]})


def test_a_holder_is_idle_after_the_threshold_of_samples_at_zero(tmp_path):
    store = idle.SampleStore(tmp_path / "samples.json")
    minute = 60.0
    reports = [
        idle.find_idle(snap(tmp_path, idle_backend(0), at=t * minute), 30, store)
        for t in (0, 10, 20, 29)
    ]
    assert all(r.holders == [] for r in reports)
    assert reports[-1].note() is not None  # the samples go back 29 minutes only
    report = idle.find_idle(snap(tmp_path, idle_backend(0), at=31 * minute), 30, store)
    assert [(h.process.pid, h.process.user, h.minutes) for h in report.holders] == [
        (200, "bob", 31.0)
    ]
    assert report.as_dict()["idle"][0]["idle_minutes"] == 31.0
    assert report.note() is None


def test_work_on_the_gpu_restarts_the_idle_count(tmp_path):
    store = idle.SampleStore(tmp_path / "samples.json")
    for t, util in ((0, 0), (20, 55), (25, 0)):
        idle.find_idle(snap(tmp_path, idle_backend(util), at=t * 60.0), 30, store)
    report = idle.find_idle(snap(tmp_path, idle_backend(0), at=50 * 60.0), 30, store)
    assert report.holders == []  # idle since minute 25 only
    report = idle.find_idle(snap(tmp_path, idle_backend(0), at=56 * 60.0), 30, store)
    assert [h.minutes for h in report.holders] == [31.0]


def test_samples_closer_than_a_minute_are_not_kept(tmp_path):
    store = idle.SampleStore(tmp_path / "samples.json")
    for t in (0.0, 2.0, 4.0, 61.0):
        idle.find_idle(snap(tmp_path, idle_backend(0), at=t), 30, store)
    assert [s.taken_at for s in store.load()] == [0.0, 61.0]


def test_unknown_memory_counts_as_holding(tmp_path):
    store = idle.SampleStore(tmp_path / "samples.json")
    idle.find_idle(snap(tmp_path, idle_backend(0, None), at=0.0), 5, store)
    report = idle.find_idle(snap(tmp_path, idle_backend(0, None), at=300.0), 5, store)
    assert [h.process.pid for h in report.holders] == [200]


def test_without_a_store_only_the_present_is_seen(tmp_path):
    report = idle.find_idle(snap(tmp_path, idle_backend(0)), 1, None)
    assert report.holders == [] and not report.kept
    assert "XDG_RUNTIME_DIR" in report.note()


@pytest.mark.parametrize(
    "content", [b"not json", b'{"samples": 5}', b'{"samples": [{"t": "x"}]}', b"[]"]
)
def test_a_damaged_sample_file_starts_afresh(tmp_path, content):
    path = tmp_path / "samples.json"
    path.write_bytes(content)
    assert idle.SampleStore(path).load() == []


def test_a_sample_file_behind_a_symlink_is_not_read(tmp_path):
    real = tmp_path / "elsewhere.json"
    store = idle.SampleStore(tmp_path / "real.json")
    idle.find_idle(snap(tmp_path, idle_backend(0)), 30, store)
    store.path.rename(real)
    (tmp_path / "link.json").symlink_to(real)
    assert idle.SampleStore(tmp_path / "link.json").load() == []


def _member_folder(tmp_path: Path, mode: int) -> tuple[Path, int]:
    """A runtime folder with ``mode``, owned by the (pretend) member."""
    folder = tmp_path / "run-user"
    folder.mkdir()
    folder.chmod(mode)
    uid = os.geteuid()
    if uid == 0:  # as root, pretend to be a member who owns the folder
        uid = 12345
        os.chown(folder, uid, -1)
    return folder, uid


def test_a_member_keeps_samples_in_their_private_runtime_folder(tmp_path):
    folder, uid = _member_folder(tmp_path, 0o700)
    store = idle.default_store(euid=uid, environ={"XDG_RUNTIME_DIR": str(folder)})
    assert store is not None and store.path == folder / idle.USER_SAMPLES_NAME


@pytest.mark.parametrize("mode", [0o770, 0o777, 0o1777])
def test_a_runtime_folder_others_can_write_keeps_no_samples(tmp_path, mode):
    folder, uid = _member_folder(tmp_path, mode)
    assert idle.default_store(euid=uid, environ={"XDG_RUNTIME_DIR": str(folder)}) is None


def test_no_runtime_folder_or_a_link_to_one_keeps_no_samples(tmp_path):
    folder, uid = _member_folder(tmp_path, 0o700)
    link = tmp_path / "link"
    link.symlink_to(folder)
    assert idle.default_store(euid=uid, environ={"XDG_RUNTIME_DIR": str(link)}) is None
    assert idle.default_store(euid=uid, environ={}) is None
    assert idle.default_store(euid=uid, environ={"XDG_RUNTIME_DIR": "relative"}) is None


def test_roots_samples_live_only_in_a_folder_of_roots(tmp_path):
    target = tmp_path / "datakeeper" / "gpu-samples.json"
    store = idle.default_store(euid=0, root_path=target)
    assert (store is not None) == (os.geteuid() == 0)  # the folder is root's only as root
    if store is not None:
        target.parent.chmod(0o777)
        assert idle.default_store(euid=0, root_path=target) is None


def test_check_reports_the_driver_state():
    from datakeeper.features.gpu.check import check_gpu_driver
    from datakeeper.status import CheckStatus

    (missing,) = check_gpu_driver(FakeGpuBackend(missing="Driver Not Loaded"))
    assert (missing.group, missing.status) == ("GPU", CheckStatus.SKIP)
    assert missing.detail == "no NVIDIA GPU or driver found on this server (Driver Not Loaded)"
    (found,) = check_gpu_driver(two_gpus())
    assert (found.status, found.detail) == (CheckStatus.PASS, "driver 550.54.15, 2 GPUs")


# -- the real backend, on nvidia-ml-py's own errors (its NVML calls replaced) ---------


@pytest.fixture
def nvml(monkeypatch):
    """nvidia-ml-py with one fake 80 GiB GPU behind it; a driver without v3."""
    import pynvml

    def fails(code):
        def call(*args):
            raise pynvml.NVMLError(code)

        return call

    memory = types.SimpleNamespace(used=GIB, total=80 * GIB)
    process = types.SimpleNamespace(pid=4242, usedGpuMemory=None)
    calls = {
        "nvmlInit": lambda: None,
        "nvmlShutdown": lambda: None,
        "nvmlSystemGetDriverVersion": lambda: b"470.42.01",
        "nvmlDeviceGetCount": lambda: 1,
        "nvmlDeviceGetHandleByIndex": lambda index: f"handle{index}",
        "nvmlDeviceGetName": lambda handle: "Tesla V100",
        "nvmlDeviceGetUUID": lambda handle: "GPU-1",
        "nvmlDeviceGetMemoryInfo": lambda handle: memory,
        "nvmlDeviceGetUtilizationRates": lambda handle: types.SimpleNamespace(gpu=0),
        "nvmlDeviceGetTemperature": lambda handle, sensor: 40,
        "nvmlDeviceGetPowerUsage": fails(pynvml.NVML_ERROR_NOT_SUPPORTED),
        "nvmlDeviceGetComputeRunningProcesses_v3": fails(pynvml.NVML_ERROR_FUNCTION_NOT_FOUND),
        "nvmlDeviceGetComputeRunningProcesses_v2": lambda handle: [process],
    }
    for name, call in calls.items():
        monkeypatch.setattr(pynvml, name, call)
    return pynvml


def test_the_real_backend_falls_back_from_v3_on_function_not_found(nvml):
    reading = read_gpus(NvmlBackend())
    assert reading.available and reading.driver == "470.42.01"
    assert reading.process_call == 2
    assert reading.processes == [GpuProcessFigures(4242, 0, None)]
    assert reading.gpus[0].power_watts is None  # NOT_SUPPORTED: no figure, no error


@pytest.mark.parametrize("error", ["NVML_ERROR_LIBRARY_NOT_FOUND", "NVML_ERROR_DRIVER_NOT_LOADED"])
def test_the_real_backend_without_library_or_driver_is_no_gpu(nvml, monkeypatch, error):
    def init():
        raise nvml.NVMLError(getattr(nvml, error))

    monkeypatch.setattr(nvml, "nvmlInit", init)
    reading = read_gpus(NvmlBackend())
    assert not reading.available and reading.reason


def test_the_real_backend_losing_the_driver_midway_is_no_gpu(nvml, monkeypatch):
    def count():
        raise nvml.NVMLError(nvml.NVML_ERROR_GPU_IS_LOST)

    monkeypatch.setattr(nvml, "nvmlDeviceGetCount", count)
    assert not read_gpus(NvmlBackend()).available


def test_the_real_backend_reads_the_v1_struct_of_an_old_driver(nvml, monkeypatch):
    def v1(handle, count_ref, infos):
        count = count_ref._obj
        if infos is None:
            count.value = 2
            return nvml.NVML_ERROR_INSUFFICIENT_SIZE
        infos[0].pid, infos[0].usedGpuMemory = 7, NOT_AVAILABLE
        infos[1].pid, infos[1].usedGpuMemory = 8, 5 * GIB
        count.value = 2
        return nvml.NVML_SUCCESS

    missing = nvml.nvmlDeviceGetComputeRunningProcesses_v3
    monkeypatch.setattr(nvml, "nvmlDeviceGetComputeRunningProcesses_v2", missing)
    monkeypatch.setattr(nvml, "_nvmlGetFunctionPointer", lambda name: v1)
    reading = read_gpus(NvmlBackend())
    assert reading.process_call == 1
    assert reading.processes == [GpuProcessFigures(7, 0, None), GpuProcessFigures(8, 0, 5 * GIB)]
