"""Run one job per item in a few forked worker processes, each result as it comes.

The disk scanner and the backup manifest need little of ``concurrent.futures``: workers forked from
this process (an item travels as its index, nothing is imported again), each
handed the next item when it finishes the last, so a large tree does not hold
up the small ones. An item's index (or a piece of work a worker handed back)
goes down a pipe and the pickled result comes back up another.
``concurrent.futures.process`` with its threads and queues took 10-25 ms to
import and ~10 ms to start on every ``datakeeper disk``
(``benchmarks/disk_usage.py``); this takes a fork per worker.

When no item is left for a worker that has finished, the pool asks the busy
ones for part of their work: a flag in memory shared with the workers, which a
job reads with :func:`split_wanted` between steps (no system call) and answers
with :func:`give`. What is given becomes an item of its own, for the first
idle worker, and its result comes back to ``done`` like any other. So one
large tree among small ones still keeps every CPU busy to the end.

Workers never outlive the call: on any error or interrupt here they are
killed and reaped. A worker that cannot be started or dies stops the pool
quietly; the caller does the remaining items itself.
"""

from __future__ import annotations

import mmap
import os
import pickle
import select
import signal
import struct
from collections import deque
from collections.abc import Callable
from typing import Any

_HEADER = struct.Struct("!Q")  # the length of each pickled message, either way
_DONE, _GIVEN = 0, 1  # a worker's messages: its item's result, or work it hands back
MAX_JOBS = 8


def default_jobs(count: int) -> int:
    """How many workers for ``count`` items: one per CPU we may use, at most ``MAX_JOBS``."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(count, cpus or 1, MAX_JOBS))


class _InWorker:
    """What a job running in a worker needs to hand work back: its flag, its pipe."""

    def __init__(self, flags: mmap.mmap, slot: int, results: int) -> None:
        self.flags, self.slot, self.results = flags, slot, results


_in_worker: _InWorker | None = None  # set in each worker process, once forked


def split_wanted() -> bool:
    """Whether the pool asks the job running here for part of its work (a worker is
    idle and no item is left). Reads shared memory: cheap enough for every step.
    Always False outside a worker."""
    here = _in_worker
    return here is not None and here.flags[here.slot] != 0


def give(work: Any) -> None:
    """Hand ``work`` (picklable) back to the pool, as an item of its own for another
    worker; its result reaches ``done`` like any other. Only while the pool asks
    (:func:`split_wanted`); the request is answered once, however much is given."""
    here = _in_worker
    if here is None:
        raise RuntimeError("give() is for a job running in a forked worker")
    here.flags[here.slot] = 0
    _send(here.results, (_GIVEN, work))


class _WorkerLost(Exception):
    """A worker exited or its pipe broke before it answered."""


class _Worker:
    """One forked process: the parent's ends of its two pipes, its flag's slot."""

    def __init__(self, pid: int, tasks: int, results: int, slot: int) -> None:
        self.pid = pid
        self.tasks = tasks  # parent writes work here
        self.results = results  # parent reads results here
        self.slot = slot  # its byte in the shared flags
        self.work: Any = None  # the item it works on

    @classmethod
    def start(cls, job: Callable[[Any], Any], siblings: list[_Worker], flags: mmap.mmap) -> _Worker:
        """Fork a worker that runs ``job`` on each piece of work it is sent."""
        pipes: list[int] = []
        slot = len(siblings)
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
                global _in_worker
                _in_worker = _InWorker(flags, slot, result_w)
                _serve(job, task_r, result_w)
            finally:
                os._exit(1)
        os.close(task_r)
        os.close(result_w)
        return cls(pid, task_w, result_r, slot)

    def send(self, work: Any) -> None:
        self.work = work
        _send(self.tasks, work)

    def receive(self) -> tuple[int, Any]:
        """The worker's next message: (_DONE, result) or (_GIVEN, work)."""
        return _receive(self.results)

    def stop(self, kill: bool) -> None:
        """Close the pipes (the worker then exits), kill it first if asked; reap it."""
        if kill:  # not reaped yet, so the pid is still this worker's
            os.kill(self.pid, signal.SIGKILL)
        os.close(self.tasks)
        os.close(self.results)
        os.waitpid(self.pid, 0)


def run_forked(
    job: Callable[[Any], Any],
    count: int,
    jobs: int,
    *,
    started: Callable[[], None],
    done: Callable[[Any, Any], None],
) -> None:
    """Run ``job(index)`` for each index below ``count`` in ``jobs`` forked workers
    (more workers than items when jobs may hand work back).

    ``started`` is called once every worker exists (threads are safe from
    then on), ``done(work, result)`` in this process as each job finishes:
    ``work`` is the index, or what a job handed back with :func:`give` (then
    ``job`` ran on that). Returns early, without raising, when a worker cannot
    be forked or dies; the work ``done`` did not get is then left to the caller.
    """
    if count == 0:
        return
    workers: list[_Worker] = []
    finished = False
    flags = mmap.mmap(-1, max(jobs, 1))  # shared with the workers: one byte each
    try:
        for _ in range(jobs):
            workers.append(_Worker.start(job, workers, flags))
        started()
        _dispatch(workers, deque(range(count)), flags, done)
        finished = True
    except (OSError, _WorkerLost):
        return  # cannot fork here (limits, sandbox), or a worker died: the caller goes on
    finally:
        for worker in workers:
            worker.stop(kill=not finished)
        flags.close()


def _dispatch(
    workers: list[_Worker], queue: deque, flags: mmap.mmap, done: Callable[[Any, Any], None]
) -> None:
    """Give each idle worker the next piece of work; with none left, ask as many busy
    ones as there are idle ones to hand some back; until every piece, given ones
    included, is done."""
    idle = list(reversed(workers))
    busy: dict[int, _Worker] = {}
    asked: set[int] = set()  # the busy workers asked, which have not answered yet
    while queue or busy:
        while queue and idle:
            worker = idle.pop()
            worker.send(queue.popleft())
            busy[worker.results] = worker
        for worker in busy.values():  # nothing left to hand out: ask for a share
            if len(asked) >= len(idle):
                break
            if worker.slot not in asked:
                flags[worker.slot] = 1
                asked.add(worker.slot)
        ready, _, _ = select.select(list(busy), [], [])
        for fd in ready:
            worker = busy[fd]
            kind, payload = worker.receive()
            asked.discard(worker.slot)  # a give answers; an end makes the question moot
            if kind == _GIVEN:
                queue.append(payload)
                continue
            del busy[fd]
            flags[worker.slot] = 0
            done(worker.work, payload)
            idle.append(worker)


def _serve(job: Callable[[Any], Any], tasks: int, results: int) -> None:
    """The worker's loop: read a piece of work, write back its result; exit at EOF."""
    code = 1
    try:
        while True:
            try:
                work = _receive(tasks)
            except _WorkerLost:  # end of file: the parent closed the pipe, no more work
                break
            _send(results, (_DONE, job(work)))
        code = 0
    finally:  # never back into the parent's code, nor its buffered output or atexit
        os._exit(code)


def _send(fd: int, message: Any) -> None:
    payload = pickle.dumps(message, pickle.HIGHEST_PROTOCOL)
    _write_all(fd, _HEADER.pack(len(payload)) + payload)


def _receive(fd: int) -> Any:
    (length,) = _HEADER.unpack(_read_exact(fd, _HEADER.size))
    return pickle.loads(_read_exact(fd, length))  # noqa: S301 - our own parent or child


def _read_exact(fd: int, size: int) -> bytes:
    chunks, left = [], size
    while left:
        chunk = os.read(fd, left)
        if not chunk:
            raise _WorkerLost
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
