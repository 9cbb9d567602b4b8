"""Whether a snapshot fits: the cheap bound first, rsync's estimate only near the line."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

import pytest

from datakeeper.config import parse_config
from datakeeper.errors import RefusedError
from datakeeper.features.backup import room, run
from datakeeper.features.backup.room import Need
from datakeeper.features.disk.usage import RootUsage

GIB = 1 << 30
# 100 GiB usable, 10 GiB used: 80% is reached at 70 GiB more.
USAGE = RootUsage(Path("/backup"), True, total=100 * GIB, used=10 * GIB, free=90 * GIB)
LINE = 70 * GIB


class Estimate:
    """rsync's estimate, counted."""

    def __init__(self, need: int) -> None:
        self.need, self.calls = need, 0

    def __call__(self) -> Need:
        self.calls += 1
        return Need(self.need, exact=True)


def test_a_bound_below_the_threshold_skips_rsyncs_estimate():
    estimate = Estimate(1)
    bound = Need(LINE - 1, exact=False)
    assert room.needed(USAGE, 80, bound, estimate) == bound
    assert estimate.calls == 0


def test_a_bound_at_the_threshold_asks_rsync_which_decides():
    estimate = Estimate(5 * GIB)
    found = room.needed(USAGE, 80, Need(LINE, exact=False), estimate)
    assert (found, estimate.calls) == (Need(5 * GIB, exact=True), 1)
    with pytest.raises(RefusedError) as refused:
        room.needed(USAGE, 80, Need(LINE, exact=False), Estimate(LINE))
    assert "this snapshot needs about 70.0 GiB, which would fill it to 80%" in str(refused.value)
    assert "alert threshold 80%" in str(refused.value)
    assert "datakeeper backup prune" in str(refused.value)


def test_without_a_bound_rsync_always_estimates():
    estimate = Estimate(LINE - 1)
    assert room.needed(USAGE, 80, None, estimate) == Need(LINE - 1, exact=True)
    with pytest.raises(RefusedError):
        room.needed(USAGE, 80, None, Estimate(LINE))


def test_more_than_the_free_space_is_refused_below_any_threshold():
    full = RootUsage(Path("/backup"), True, total=100, used=0, free=10)
    with pytest.raises(RefusedError):
        room.needed(full, 99, None, Estimate(11))


def _statvfs(blocks: int, free: int, files: int, ffree: int) -> os.statvfs_result:
    return os.statvfs_result((4096, 4096, blocks, free, free, files, ffree, ffree, 0, 255))


def test_the_bound_counts_each_filesystem_once_and_the_mounts_below(tmp_path, monkeypatch):
    users, extra, scratch = tmp_path / "users", tmp_path / "shared", tmp_path / "users" / "x"
    for folder in (users, extra, scratch):
        folder.mkdir(parents=True, exist_ok=True)
    mounts = [room._Mount("/", "ext4"), room._Mount(str(scratch), "xfs")]
    monkeypatch.setattr(room, "_mounts", lambda: mounts)
    # users and shared are on one disk (100 blocks, 20 inodes used), x on another.
    figures = {str(scratch): (2, 40 * 4096, 10)}
    monkeypatch.setattr(room, "_in_use", lambda path: figures.get(path, (1, 100 * 4096, 20)))
    per_inode = room.BLOCK + room.MANIFEST_LINE
    expected = 100 * 4096 + 20 * per_inode + 40 * 4096 + 10 * per_inode
    assert room.upper_bound([users, extra]) == Need(expected, exact=False)


def test_the_bound_of_a_real_folder_is_its_filesystems_use(tmp_path):
    info = os.statvfs(tmp_path)
    if info.f_files == 0 or any(
        m.fstype in room.UNBOUNDED for m in room._filesystems(tmp_path, room._mounts())
    ):
        pytest.skip("this filesystem gives no bound")
    bound = room.upper_bound([tmp_path])
    used = (info.f_blocks - info.f_bfree) * info.f_frsize
    assert bound is not None and not bound.exact and bound.bytes >= used


@pytest.mark.parametrize("fstype", ["btrfs", "zfs", "fuse.sshfs", "overlay"])
def test_no_bound_where_used_blocks_can_be_fewer_than_the_bytes(tmp_path, monkeypatch, fstype):
    monkeypatch.setattr(room, "_mounts", lambda: [room._Mount("/", fstype)])
    assert room.upper_bound([tmp_path]) is None


def test_no_bound_without_inode_counts(tmp_path, monkeypatch):
    monkeypatch.setattr(room, "_mounts", lambda: [room._Mount("/", "ext4")])
    monkeypatch.setattr(room.os, "statvfs", lambda path: _statvfs(1000, 900, 0, 0))
    assert room.upper_bound([tmp_path]) is None


def _job(tmp_path: Path, *, exact: bool) -> run.SnapshotRun:
    text = (
        f'[storage]\ndata_root = "{tmp_path}/data"\nbackup_root = "{tmp_path}/backup"\n\n'
        "[conda]\nenabled = false\n\n[uv]\nenabled = false\n"
    )
    (tmp_path / "data" / "users").mkdir(parents=True)
    (tmp_path / "backup").mkdir()
    started = datetime(2026, 12, 4, 16, 0, tzinfo=timezone.utc)
    return run.SnapshotRun(parse_config(text, "test.toml"), None, started, exact=exact)


@pytest.fixture
def disks(monkeypatch):
    """/backup at USAGE, the sources' bound at 1 GiB; rsync's estimates are counted."""
    estimates: list[tuple] = []

    def estimate(sources, dest, link):
        estimates.append((tuple(sources), dest, link))
        return Estimate(3 * GIB)()

    monkeypatch.setattr(run, "root_usage", lambda root: USAGE)
    monkeypatch.setattr(room, "upper_bound", lambda folders: Need(GIB, exact=False))
    monkeypatch.setattr(room, "estimate_need", estimate)
    return estimates


def test_a_run_well_below_the_threshold_says_at_most_and_skips_the_estimate(tmp_path, disks):
    plan = _job(tmp_path, exact=False).prepare()
    assert plan.sentence.endswith("(at most 1.0 GiB new)"), plan.sentence
    assert plan.details["estimated_bytes"] == GIB
    assert plan.details["estimate_exact"] is False
    assert disks == []


def test_a_dry_run_shows_rsyncs_estimate(tmp_path, disks):
    plan = _job(tmp_path, exact=True).prepare()
    assert plan.sentence.endswith("(about 3.0 GiB new)"), plan.sentence
    assert plan.details["estimate_exact"] is True
    assert len(disks) == 1


def test_a_run_near_the_threshold_is_refused_on_rsyncs_estimate(tmp_path, disks, monkeypatch):
    monkeypatch.setattr(room, "upper_bound", lambda folders: Need(LINE, exact=False))
    monkeypatch.setattr(room, "estimate_need", lambda *args: Need(LINE, exact=True))
    with pytest.raises(RefusedError, match="alert threshold 80%"):
        _job(tmp_path, exact=False).prepare()
    assert sorted(os.listdir(tmp_path / "backup")) == []


def test_a_run_in_the_second_of_a_finished_snapshot_takes_the_next_second(tmp_path, disks):
    """Names are UTC seconds: a run right after another does not fail on the name, it
    waits for the next second (at most one) and takes that name."""
    job = _job(tmp_path, exact=False)
    finished = job.target / job.name
    (finished / "meta").mkdir(parents=True)
    for folder in (job.target.parent, job.target):
        folder.chmod(0o700)  # the layout datakeeper makes: root's, closed to others
    taken = job.name
    plan = job.prepare()
    assert job.name != taken and job.name > taken
    assert job.partial.name == job.name + ".partial"
    assert plan.details["name"] == job.name
    assert finished.is_dir()  # the finished one is left as it was
