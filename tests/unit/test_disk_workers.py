"""The forked workers behind ``datakeeper disk``'s parallel scan: every result comes
back once, in this process; a worker that dies leaves its items to the caller; no
worker outlives the call."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from datakeeper.features.disk import scan as disk_scan
from datakeeper.features.disk.scan import ScanRequest, scan_trees
from datakeeper.system import workers
from datakeeper.system.workers import run_forked


@pytest.fixture
def forked(monkeypatch) -> list[int]:
    """The pids of the workers forked during the test."""
    pids: list[int] = []
    real_fork = os.fork

    def fork() -> int:
        pid = real_fork()
        if pid:
            pids.append(pid)
        return pid

    monkeypatch.setattr(os, "fork", fork)
    return pids


def all_reaped(pids: list[int]) -> bool:
    """True when every one of ``pids`` has exited and been waited for."""
    for pid in pids:
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            continue
        return False
    return bool(pids)


def test_each_result_comes_back_once_from_another_process(forked):
    results: dict[int, tuple[int, int]] = {}
    calls = []
    run_forked(
        lambda index: (index * index, os.getpid()),
        7,
        3,
        started=lambda: calls.append("started"),
        done=lambda index, result: results.setdefault(index, result),
    )
    assert calls == ["started"]
    assert {index: square for index, (square, _pid) in results.items()} == {
        i: i * i for i in range(7)
    }
    assert {pid for _square, pid in results.values()} <= set(forked)  # not this process
    assert all_reaped(forked)


def test_a_worker_that_dies_leaves_the_rest_to_the_caller(forked):
    def job(index: int) -> int:
        if index == 2:
            os._exit(9)  # killed mid-job (out of memory, a signal)
        return index

    results: dict[int, int] = {}
    run_forked(job, 6, 2, started=lambda: None, done=results.__setitem__)
    assert 2 not in results
    assert all(results[index] == index for index in results)
    assert all_reaped(forked)


def test_an_interrupt_here_kills_and_reaps_every_worker(forked):
    def interrupted(index: int, result: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_forked(lambda index: index, 4, 2, started=lambda: None, done=interrupted)
    assert all_reaped(forked)


@pytest.mark.skipif(shutil.which("du") is None, reason="needs du (coreutils)")
def test_scan_trees_still_matches_du_when_a_worker_dies(tmp_path, monkeypatch, forked):
    tops = []
    for name, size in (("u1", 10), ("u2", 200_000), ("u3", 5000)):
        (tmp_path / name / "deep").mkdir(parents=True)
        (tmp_path / name / "deep" / "f").write_bytes(b"x" * size)
        tops.append(tmp_path / name)
    parent, real = os.getpid(), disk_scan._scan_index

    def dies_in_a_worker(requests, index):
        if os.getpid() != parent and index == 1:
            os._exit(9)
        return real(requests, index)

    monkeypatch.setattr(disk_scan, "_scan_index", dies_in_a_worker)
    scans = scan_trees([ScanRequest(top) for top in tops], jobs=2)
    du = subprocess.run(
        ["du", "-sxB1", *map(str, tops)], capture_output=True, text=True, check=True
    ).stdout
    assert [s.total.bytes for s in scans] == [int(line.split()[0]) for line in du.splitlines()]
    assert all_reaped(forked)


def test_the_disk_report_imports_no_process_pool_nor_psutil():
    """``datakeeper disk`` starts faster without them (measured: 20-50 ms)."""
    code = (
        "import sys, datakeeper.features.disk.usage\n"
        "heavy = {'psutil', 'concurrent.futures', 'multiprocessing'}\n"
        "print(sorted(heavy & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_default_jobs_is_bounded():
    assert workers.default_jobs(1) == 1
    assert 1 <= workers.default_jobs(100) <= workers.MAX_JOBS
