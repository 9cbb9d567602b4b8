"""Fixtures: disposable servers for tests that change the system."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.sandbox import (
    PROJECT_ROOT,
    DisposableServer,
    SandboxUnavailable,
    StorageSpec,
    probe,
)

_unavailable_reason: str | None = None
_probed = False


def _sandbox_reason() -> str | None:
    global _probed, _unavailable_reason
    if not _probed:
        _probed = True
        _unavailable_reason = probe()
    return _unavailable_reason


def _boot(tmp_path, storage: list[StorageSpec]) -> Iterator[DisposableServer]:
    reason = _sandbox_reason()
    if reason:
        pytest.skip(reason)
    server = DisposableServer(tmp_path / "server", storage=storage)
    try:
        server.start()
    except SandboxUnavailable as error:
        pytest.skip(str(error))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def server(tmp_path) -> Iterator[DisposableServer]:
    """A disposable server with /data and /backup as separate persistent mounts."""
    yield from _boot(tmp_path, [StorageSpec("/data"), StorageSpec("/backup")])


@pytest.fixture
def ext4_server(tmp_path) -> Iterator[DisposableServer]:
    """Like ``server`` but /data is a real ext4 filesystem (loop image)."""
    yield from _boot(tmp_path, [StorageSpec("/data", kind="ext4"), StorageSpec("/backup")])


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory) -> Path:
    """Wheels of datakeeper's dependencies (and build backend), built once on the host.

    The sandbox has no network; ``install.sh --wheels`` installs from here.
    """
    if _sandbox_reason():
        pytest.skip(_sandbox_reason())
    house = tmp_path_factory.mktemp("wheelhouse")
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet"]
    for argv in (
        [*pip, "wheel", "--wheel-dir", str(house), str(PROJECT_ROOT)],
        [*pip, "download", "--dest", str(house), "setuptools>=64", "wheel", "uv>=0.4,<1"],
    ):
        result = subprocess.run(argv, capture_output=True, text=True, check=False)
        assert result.returncode == 0, f"{argv} failed:\n{result.stderr}"
    return house


@pytest.fixture
def install_server(tmp_path, wheelhouse) -> Iterator[DisposableServer]:
    """A disposable server that sees the wheelhouse read-only at /mnt/wheelhouse."""
    reason = _sandbox_reason()
    if reason:
        pytest.skip(reason)
    server = DisposableServer(tmp_path / "server", binds={"/mnt/wheelhouse": str(wheelhouse)})
    server.start()
    try:
        yield server
    finally:
        server.stop()
