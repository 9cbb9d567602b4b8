"""Tests for datakeeper.system.lock: flock with timeout, pid message, no symlinks."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from datakeeper.errors import LockBusyError, RefusedError
from datakeeper.system.lock import exclusive_lock, shared_lock

# Holds a lock in another process until its standard input is closed.
HOLDER = """
import sys
from pathlib import Path
from datakeeper.system.lock import exclusive_lock, shared_lock
lock = exclusive_lock if sys.argv[2] == "exclusive" else shared_lock
with lock(Path(sys.argv[1]), timeout=10, what="the test"):
    print("ready", flush=True)
    sys.stdin.read()
"""


@contextmanager
def held_by_other_process(path: Path, kind: str) -> Iterator[subprocess.Popen[str]]:
    """Run a process that holds the lock, and wait until it has it."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path), kind],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "ready"
        yield process
    finally:
        assert process.stdin is not None
        process.stdin.close()
        process.wait(timeout=10)


def test_exclusive_lock_creates_private_file_with_pid(tmp_path: Path) -> None:
    path = tmp_path / "x.lock"
    with exclusive_lock(path, what="the test"):
        assert stat.S_IMODE(path.lstat().st_mode) == 0o600
        assert path.read_text().strip() == str(os.getpid())
    assert path.read_text() == "", "the pid is cleared on release"


def test_lock_can_be_taken_again_after_release(tmp_path: Path) -> None:
    path = tmp_path / "x.lock"
    with exclusive_lock(path, what="the test"):
        pass
    with exclusive_lock(path, timeout=0, what="the test"):
        pass


def test_lock_released_when_block_raises(tmp_path: Path) -> None:
    path = tmp_path / "x.lock"
    with pytest.raises(ValueError), exclusive_lock(path, what="the test"):
        raise ValueError("boom")
    with exclusive_lock(path, timeout=0, what="the test"):
        pass


def test_symlink_lock_file_is_refused_and_not_followed(tmp_path: Path) -> None:
    target = tmp_path / "precious"
    target.write_text("keep me")
    link = tmp_path / "x.lock"
    link.symlink_to(target)
    with pytest.raises(RefusedError, match="symbolic link"), exclusive_lock(link, what="t"):
        pass
    assert target.read_text() == "keep me"


def test_dangling_symlink_is_refused_and_nothing_created(tmp_path: Path) -> None:
    link = tmp_path / "x.lock"
    link.symlink_to(tmp_path / "missing")
    with pytest.raises(RefusedError), shared_lock(link, what="t"):
        pass
    assert not (tmp_path / "missing").exists()


def test_directory_as_lock_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "x.lock").mkdir()
    with (
        pytest.raises(RefusedError, match="not a regular file"),
        exclusive_lock(tmp_path / "x.lock", what="t"),
    ):
        pass


def test_open_lock_file_is_made_private(tmp_path: Path) -> None:
    path = tmp_path / "x.lock"
    path.write_text("")
    path.chmod(0o644)
    with exclusive_lock(path, what="t"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give the file to another user")
def test_lock_file_owned_by_someone_else_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.lock"
    path.write_text("")
    os.chown(path, 12345, 12345)
    with pytest.raises(RefusedError, match="owned by uid 12345"), exclusive_lock(path, what="t"):
        pass


def test_timeout_names_what_and_holder_pid(tmp_path: Path) -> None:
    path = tmp_path / "x.lock"
    with held_by_other_process(path, "exclusive") as holder:
        started = time.monotonic()
        with (
            pytest.raises(LockBusyError) as caught,
            exclusive_lock(path, timeout=0.3, what="the registry"),
        ):
            pass
        assert 0.25 <= time.monotonic() - started < 5
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("the registry is locked")
    assert f"pid {holder.pid}" in message
    assert "try again when it finishes" in message


def test_shared_locks_coexist_but_block_exclusive(tmp_path: Path) -> None:
    path = tmp_path / "x.lock"
    with held_by_other_process(path, "shared"):
        with shared_lock(path, timeout=1, what="t"):
            pass
        with (
            pytest.raises(LockBusyError, match="try again") as caught,
            exclusive_lock(path, timeout=0.1, what="t"),
        ):
            pass
        assert "pid" not in str(caught.value), "shared holders write no pid"


def test_shared_lock_waits_for_exclusive(tmp_path: Path) -> None:
    path = tmp_path / "x.lock"
    with (
        held_by_other_process(path, "exclusive"),
        pytest.raises(LockBusyError),
        shared_lock(path, timeout=0.1, what="t"),
    ):
        pass


def test_stale_pid_of_dead_holder_is_not_shown(tmp_path: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    path = tmp_path / "x.lock"
    with held_by_other_process(path, "shared"):
        path.write_text(f"{dead.pid}\n")
        with pytest.raises(LockBusyError) as caught, exclusive_lock(path, timeout=0, what="t"):
            pass
    assert f"pid {dead.pid}" not in str(caught.value)


def test_waiter_gets_lock_once_holder_finishes(tmp_path: Path) -> None:
    path = tmp_path / "x.lock"
    script = HOLDER.replace("sys.stdin.read()", "import time; time.sleep(0.3)")
    process = subprocess.Popen(
        [sys.executable, "-c", script, str(path), "exclusive"], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "ready"
    with exclusive_lock(path, timeout=10, what="t"):
        assert process.wait(timeout=10) == 0
