"""The registry lock across servers: POSIX record locks (what NFS carries), one
descriptor per lock file per process, and uid allocation that never hands out one id
twice when two processes add accounts at the same time."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from datakeeper.errors import LockBusyError
from datakeeper.registry import RegistryEntry, open_registry, read_document
from datakeeper.system.lock import exclusive_lock, shared_lock

# Tries a POSIX record lock (lockf, as another NFS client's datakeeper would) without
# waiting; prints "taken" or "busy".
TRY_LOCKF = """
import fcntl, sys
fd = open(sys.argv[1], "r+")
try:
    fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    print("taken")
except OSError:
    print("busy")
"""

# Adds 50 accounts, each with the lowest uid above every recorded one, choosing it
# inside the lock from the registry read there: the allocation `user add` makes.
ALLOCATOR = """
import sys, time
from pathlib import Path
from datakeeper.registry import RegistryEntry, open_registry
path, prefix, go = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
print("ready", flush=True)
while not go.exists():
    time.sleep(0.001)
for i in range(50):
    name = f"{prefix}{i}"
    with open_registry(path, timeout=120) as registry:
        uid = max([1000, *(e.uid for e in registry.entries())]) + 1
        registry.upsert(RegistryEntry(name=name, uid=uid, gid=uid, primary_group=name))
"""


def other_process_gets(path: Path) -> str:
    """What another process gets when it asks for the lock without waiting."""
    result = subprocess.run(
        [sys.executable, "-c", TRY_LOCKF, str(path)], capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


def test_the_lock_is_a_posix_record_lock_another_process_sees(tmp_path: Path) -> None:
    path = tmp_path / "registry.json.lock"
    with exclusive_lock(path, what="the registry"):
        assert other_process_gets(path) == "busy"
    assert other_process_gets(path) == "taken"


def test_a_nested_hold_in_the_same_process_keeps_the_lock(tmp_path: Path) -> None:
    # POSIX locks belong to the process: a second descriptor of the file closed by an
    # inner block would drop the outer block's lock. There must be only one.
    path = tmp_path / "x.lock"
    with exclusive_lock(path, what="t"):
        with exclusive_lock(path, what="t"), shared_lock(path, what="t"):
            pass
        assert other_process_gets(path) == "busy", "the inner blocks released the lock"
        assert path.read_text().strip() == str(os.getpid()), "the pid stays until the end"
    assert other_process_gets(path) == "taken"


def test_a_descriptor_closed_elsewhere_drops_the_lock_so_none_is_opened(tmp_path: Path) -> None:
    # What the rule above protects against, shown: any close of the file drops it.
    path = tmp_path / "x.lock"
    with exclusive_lock(path, what="t"):
        fd = os.open(path, os.O_RDONLY)
        os.close(fd)
        assert other_process_gets(path) == "taken"


def test_threads_of_one_process_wait_for_each_other(tmp_path: Path) -> None:
    path = tmp_path / "x.lock"
    order: list[str] = []
    holding = threading.Event()

    def other() -> None:
        holding.wait()
        with exclusive_lock(path, timeout=10, what="t"):
            order.append("other")

    thread = threading.Thread(target=other)
    thread.start()
    with exclusive_lock(path, what="t"):
        holding.set()
        time.sleep(0.2)
        order.append("first")
    thread.join(timeout=10)
    assert order == ["first", "other"]


def test_a_thread_gives_up_after_the_timeout(tmp_path: Path) -> None:
    path = tmp_path / "x.lock"
    caught: list[BaseException] = []

    def other() -> None:
        try:
            with exclusive_lock(path, timeout=0.1, what="the registry"):
                pass
        except LockBusyError as error:
            caught.append(error)

    with exclusive_lock(path, what="t"):
        thread = threading.Thread(target=other)
        thread.start()
        thread.join(timeout=10)
    assert caught and str(caught[0]).startswith("the registry is locked")


def test_a_shared_hold_cannot_become_exclusive_in_the_same_thread(tmp_path: Path) -> None:
    path = tmp_path / "x.lock"
    with shared_lock(path, what="t"), pytest.raises(RuntimeError), exclusive_lock(path, what="t"):
        pass
    assert other_process_gets(path) == "taken"


def test_local_locks_are_flocks(tmp_path: Path) -> None:
    path = tmp_path / "cache.lock"
    with exclusive_lock(path, what="t", local=True):
        fd = os.open(path, os.O_RDWR)
        try:
            with pytest.raises(BlockingIOError):
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(fd)


def test_each_write_raises_the_generation_and_reads_do_not(tmp_path: Path) -> None:
    path = tmp_path / "registry.json"
    for uid in (1001, 1002):
        with open_registry(path) as registry:
            registry.upsert(
                RegistryEntry(name=f"u{uid}", uid=uid, gid=uid, primary_group=f"u{uid}")
            )
    with open_registry(path):
        pass  # nothing changed: nothing written
    assert read_document(path).generation == 2
    assert json.loads(path.read_text())["generation"] == 2


def test_two_allocating_processes_never_share_a_uid(tmp_path: Path) -> None:
    path, go = tmp_path / "registry.json", tmp_path / "go"
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", ALLOCATOR, str(path), prefix, str(go)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for prefix in ("a", "b")
    ]
    for writer in writers:
        assert writer.stdout is not None and writer.stdout.readline().strip() == "ready"
    go.touch()
    assert [writer.wait(timeout=120) for writer in writers] == [0, 0]
    document = read_document(path)  # validated: a duplicate uid would be refused
    uids = [entry.uid for entry in document.users.values()]
    assert len(document.users) == 100
    assert sorted(uids) == list(range(1001, 1101))
    assert document.generation == 100
    assert not list(tmp_path.glob("*.tmp")), "no temp file left behind"


def test_a_forked_child_does_not_believe_it_holds_its_parents_lock(tmp_path: Path) -> None:
    path = tmp_path / "x.lock"
    with exclusive_lock(path, what="t"):
        pid = os.fork()
        if pid == 0:  # the child: the parent holds the lock, so the child must wait
            try:
                with exclusive_lock(path, timeout=0, what="t"):
                    os._exit(1)
            except LockBusyError:
                os._exit(0)
            os._exit(2)
        assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0
