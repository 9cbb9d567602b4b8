"""A lock file created for the first time on a squashing export (issue 17): refused
before anything is left there; an existing lock file is not probed again."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from datakeeper.errors import RefusedError
from datakeeper.system import lock_file, nfs


def _squash_new_files(monkeypatch) -> None:
    """Root's new files come out owned by nobody, as under root_squash."""
    monkeypatch.setattr(nfs.os, "geteuid", lambda: 0)
    real_fstat = os.fstat
    monkeypatch.setattr(
        nfs.os,
        "fstat",
        lambda fd: os.stat_result((*real_fstat(fd)[:4], nfs.NOBODY, *real_fstat(fd)[5:])),
    )


def test_a_new_lock_file_on_a_squashed_root_is_refused_and_none_is_left(
    tmp_path: Path, monkeypatch
) -> None:
    _squash_new_files(monkeypatch)
    with pytest.raises(RefusedError, match=r"\(root_squash\); fix: .*no_root_squash"):
        lock_file.open_lock_file(tmp_path / "run.lock")
    assert list(tmp_path.iterdir()) == [], "neither the lock file nor the probe is left"


def test_an_existing_lock_file_is_not_probed(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "run.lock"
    path.touch(mode=0o600)
    probed = []
    monkeypatch.setattr(nfs, "probe_root_write", probed.append)
    os.close(lock_file.open_lock_file(path))
    assert probed == []
