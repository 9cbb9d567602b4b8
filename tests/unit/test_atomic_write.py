"""``atomic_write``: readers see the old file or the new one, never half, never wrong modes."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from datakeeper.system import fs


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_the_new_file_has_its_mode_and_no_temporary_is_left(tmp_path, monkeypatch):
    target = tmp_path / "global_envs.sh"
    target.write_text("old\n")
    os.chmod(target, 0o604)
    modes_at_first_write = []
    real_write = os.write

    def spying_write(fd: int, data) -> int:
        if not modes_at_first_write:
            modes_at_first_write.append(stat.S_IMODE(os.fstat(fd).st_mode))
        return real_write(fd, data)

    monkeypatch.setattr(fs.os, "write", spying_write)
    fs.atomic_write(target, b"export HF_HOME=/data/models/huggingface\n", mode=0o640)
    assert target.read_text() == "export HF_HOME=/data/models/huggingface\n"
    assert _mode(target) == 0o640
    assert modes_at_first_write == [0o640], "the mode is set before any byte is written"
    assert os.listdir(tmp_path) == ["global_envs.sh"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "registry.json"
    target.write_text('{"users": {}}\n')

    def full_disk(fd: int, data) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(fs.os, "write", full_disk)
    with pytest.raises(OSError, match="No space left"):
        fs.atomic_write(target, b'{"users": {"alice": {}}}\n', mode=0o600)
    assert target.read_text() == '{"users": {}}\n'
    assert os.listdir(tmp_path) == ["registry.json"]


def test_the_temporary_name_starts_with_a_dot_so_sudo_never_reads_it(tmp_path, monkeypatch):
    seen = []
    real_replace = os.replace

    def spying_replace(source, destination) -> None:
        seen.append(Path(source).name)
        real_replace(source, destination)

    monkeypatch.setattr(fs.os, "replace", spying_replace)
    fs.atomic_write(tmp_path / "datakeeper", b"# policy\n", mode=0o440)
    [name] = seen
    assert name.startswith(".datakeeper.") and name.endswith(".tmp")


def test_syncing_a_filesystem_needs_a_path_that_exists(tmp_path):
    (tmp_path / "written").write_text("to the disk\n")
    fs.sync_filesystem(tmp_path / "written")
    fs.sync_filesystem(tmp_path)
    with pytest.raises(FileNotFoundError, match="missing"):
        fs.sync_filesystem(tmp_path / "missing")


def test_a_head_start_flush_leaves_errors_to_the_real_sync(tmp_path):
    with fs.flushing(tmp_path / "missing"):  # its child cannot sync it; nothing is raised here
        (tmp_path / "written").write_text("meanwhile\n")
    assert (tmp_path / "written").read_text() == "meanwhile\n"


def _children() -> list[int]:
    """This process's children (Linux: each thread lists its own)."""
    tasks = Path(f"/proc/{os.getpid()}/task")
    return [int(pid) for task in tasks.iterdir() for pid in (task / "children").read_text().split()]


def test_the_flushing_child_ends_with_the_block(tmp_path):
    before = set(_children())
    with fs.flushing(tmp_path, every=0.01):
        [child] = set(_children()) - before
        (tmp_path / "written").write_text("meanwhile\n")
        time.sleep(0.05)  # a few syncs
    assert child not in _children()  # ended and reaped: no zombie left behind
    assert (tmp_path / "written").read_text() == "meanwhile\n"


def test_the_flushing_child_dies_with_its_parent(tmp_path):
    script = (
        "import os, signal, sys\n"
        "from pathlib import Path\n"
        "from datakeeper.system import fs\n"
        "with fs.flushing(Path(sys.argv[1]), every=0.01):\n"
        "    task = f'/proc/self/task/{os.getpid()}/children'\n"
        "    print(open(task).read().split()[0], flush=True)\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == -signal.SIGKILL
    child = int(result.stdout)
    deadline = time.monotonic() + 60  # it finishes the sync it is in: slow on a busy disk
    while _running(child) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not _running(child)


def _running(pid: int) -> bool:
    """Whether ``pid`` is alive (a zombie waiting for whoever adopted it is not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")
