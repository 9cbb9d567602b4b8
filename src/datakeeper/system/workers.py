"""Run one job per item in a few forked worker processes, each result as it comes.

The disk scanner and the backup manifest need little of ``concurrent.futures``: workers forked from
this process (the items need no pickling, nothing is imported again), each
handed the next item when it finishes the last, so a large tree does not hold
up the small ones. Only the item's index goes down a pipe and the pickled
result comes back up another. ``concurrent.futures.process`` with its threads
and queues took 10-25 ms to import and ~10 ms to start on every ``datakeeper
disk`` (``benchmarks/disk_usage.py``); this takes a fork per worker.

Workers never outlive the call: on any error or interrupt here they are
killed and reaped. A worker that cannot be started or dies stops the pool
quietly; the caller does the remaining items itself.
"""

from __future__ import annotations

import os
import pickle
import select
import signal
import struct
from collections.abc import Callable
from typing import Any

_HEADER = struct.Struct("!Q")  # an item's index going down, a result's length coming up
MAX_JOBS = 8


def default_jobs(count: int) -> int:
    """How many workers for ``count`` items: one per CPU we may use, at most ``MAX_JOBS``."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(count, cpus or 1, MAX_JOBS))


class _WorkerLost(Exception):
    """A worker exited or its pipe broke before it answered."""


class _Worker:
    """One forked process: the parent's ends of its two pipes."""

    def __init__(self, pid: int, tasks: int, results: int) -> None:
        self.pid = pid
        self.tasks = tasks  # parent writes indices here
        self.results = results  # parent reads results here
        self.index: int | None = None  # the item it works on

    @classmethod
    def start(cls, job: Callable[[int], Any], siblings: list[_Worker]) -> _Worker:
        """Fork a worker that runs ``job`` on each index it is sent."""
        pipes: list[int] = []
        try:
            pipes += os.pipe()
            pipes += os.pipe()
            pid = os.fork()
        except OSError:  # out of descriptors or processes: leave nothing open
            for fd in pipes:
                os.close(fd)
            raise
        task_r, task_w, result_r, result_w = pipes
        if pid == 0:  # the worker: never returns
            try:
                # Keep no end of another worker's pipes: a parent that dies must leave
                # every worker reading end of file, not waiting on a sibling.
                for fd in [task_w, result_r, *(f for w in siblings for f in (w.tasks, w.results))]:
                    os.close(fd)
                _serve(job, task_r, result_w)
            finally:
                os._exit(1)
        os.close(task_r)
        os.close(result_w)
        return cls(pid, task_w, result_r)

    def send(self, index: int) -> None:
        self.index = index
        _write_all(self.tasks, _HEADER.pack(index))

    def receive(self) -> Any:
        (length,) = _HEADER.unpack(_read_exact(self.results, _HEADER.size))
        return pickle.loads(_read_exact(self.results, length))  # noqa: S301 - our own child

    def stop(self, kill: bool) -> None:
        """Close the pipes (the worker then exits), kill it first if asked; reap it."""
        if kill:  # not reaped yet, so the pid is still this worker's
            os.kill(self.pid, signal.SIGKILL)
        os.close(self.tasks)
        os.close(self.results)
        os.waitpid(self.pid, 0)


def run_forked(
    job: Callable[[int], Any],
    count: int,
    jobs: int,
    *,
    started: Callable[[], None],
    done: Callable[[int, Any], None],
) -> None:
    """Run ``job(index)`` for each index below ``count`` in ``jobs`` forked workers.

    ``started`` is called once every worker exists (threads are safe from
    then on), ``done(index, result)`` in this process as each job finishes.
    Returns early, without raising, when a worker cannot be forked or dies;
    the indices ``done`` did not get are then left to the caller.
    """
    workers: list[_Worker] = []
    finished = False
    try:
        for _ in range(min(jobs, count)):
            workers.append(_Worker.start(job, workers))
        started()
        _dispatch(workers, iter(range(count)), done)
        finished = True
    except (OSError, _WorkerLost):
        return  # cannot fork here (limits, sandbox), or a worker died: the caller goes on
    finally:
        for worker in workers:
            worker.stop(kill=not finished)


def _dispatch(workers: list[_Worker], indices, done: Callable[[int, Any], None]) -> None:
    """Give each worker an index, and the next one each time it answers."""
    busy: dict[int, _Worker] = {}
    for worker in workers:
        index = next(indices, None)
        if index is not None:
            worker.send(index)
            busy[worker.results] = worker
    while busy:
        ready, _, _ = select.select(list(busy), [], [])
        for fd in ready:
            worker = busy.pop(fd)
            result = worker.receive()
            done(worker.index, result)
            index = next(indices, None)
            if index is not None:
                worker.send(index)
                busy[fd] = worker


def _serve(job: Callable[[int], Any], tasks: int, results: int) -> None:
    """The worker's loop: read an index, write back the pickled result; exit at EOF."""
    code = 1
    try:
        while header := _read_exact(tasks, _HEADER.size, eof_ok=True):
            (index,) = _HEADER.unpack(header)
            payload = pickle.dumps(job(index), pickle.HIGHEST_PROTOCOL)
            _write_all(results, _HEADER.pack(len(payload)) + payload)
        code = 0
    finally:  # never back into the parent's code, nor its buffered output or atexit
        os._exit(code)


def _read_exact(fd: int, size: int, *, eof_ok: bool = False) -> bytes:
    chunks, left = [], size
    while left:
        chunk = os.read(fd, left)
        if not chunk:
            if eof_ok and left == size:
                return b""
            raise _WorkerLost
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
