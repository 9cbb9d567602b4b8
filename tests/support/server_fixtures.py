"""Fixtures of the sandbox and attack tests: disposable servers, and a datakeeper site.

A pytest plugin (loaded by tests/conftest.py), so tests/sandbox/ and
tests/attacks/ share one copy. Every test boots its own server (tests/support/sandbox.py) in private
namespaces, so tests share nothing but the wheelhouse (built once per session,
once per worker under pytest-xdist) and may run in parallel (``-n 2``).
A module that needs more on its site overrides ``site`` (asking for the one
defined here) or ``site_config``.
"""

from __future__ import annotations

import json
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
from tests.support.site_setup import (
    NO_SOFTWARE,
    add_linked_member,
    init_site,
    prepare_site,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

INSTALL = [str(PROJECT_ROOT / "install.sh"), "--wheels", "/mnt/wheelhouse"]
SYSTEMD_MEMBERS = [f"user{n:02d}" for n in range(16)]

_unavailable_reason: str | None = None
_probed = False


def _sandbox_reason() -> str | None:
    """Why this host cannot run disposable servers (probed once), or None."""
    global _probed, _unavailable_reason
    if not _probed:
        _probed = True
        _unavailable_reason = probe()
    return _unavailable_reason


def boot_server(
    tmp_path: Path,
    storage: list[StorageSpec] | None = None,
    binds: dict[str, str] | None = None,
    **options,
) -> Iterator[DisposableServer]:
    """Start a server under ``tmp_path``, hand it to the test, stop it afterwards.
    ``options`` go to ``DisposableServer`` (``init="systemd"``, ``ssd="ext4"``)."""
    reason = _sandbox_reason()
    if reason:
        pytest.skip(reason)
    server = DisposableServer(tmp_path / "server", binds=binds or {}, **options)
    if storage is not None:
        server.storage = storage
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
    yield from boot_server(tmp_path, [StorageSpec("/data"), StorageSpec("/backup")])


@pytest.fixture
def ext4_server(tmp_path) -> Iterator[DisposableServer]:
    """Like ``server`` but /data is a real ext4 filesystem (loop image)."""
    yield from boot_server(tmp_path, [StorageSpec("/data", kind="ext4"), StorageSpec("/backup")])


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory) -> Path:
    """Wheels of datakeeper's dependencies (and build backend), built once on the host.

    The sandbox has no network; ``install.sh --wheels`` installs from here. The
    dependencies are named from pyproject.toml rather than by building the checkout:
    a build writes build/ and the egg-info into the checkout, which each sandbox sees
    as the lower layer of its overlay, so one worker's build under another's
    ``install.sh`` broke that install (setuptools lost its build/bdist.* folder).
    """
    if _sandbox_reason():
        pytest.skip(_sandbox_reason())
    house = tmp_path_factory.mktemp("wheelhouse")
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet"]
    for argv in (
        [*pip, "wheel", "--wheel-dir", str(house), *_dependencies()],
        [
            *pip,
            "download",
            "--dest",
            str(house),
            "setuptools>=64",
            "wheel",
            "babel>=2.12,<3",
            "uv>=0.4,<1",
        ],
    ):
        result = subprocess.run(argv, capture_output=True, text=True, check=False)
        assert result.returncode == 0, f"{argv} failed:\n{result.stderr}"
    return house


def _dependencies() -> list[str]:
    """datakeeper's run-time requirements, as pyproject.toml states them."""
    with open(PROJECT_ROOT / "pyproject.toml", "rb") as handle:
        return tomllib.load(handle)["project"]["dependencies"]


@pytest.fixture
def install_server(tmp_path, wheelhouse) -> Iterator[DisposableServer]:
    """A disposable server that sees the wheelhouse read-only at /mnt/wheelhouse."""
    yield from boot_server(tmp_path, binds={"/mnt/wheelhouse": str(wheelhouse)})


@pytest.fixture
def site_config() -> str:
    """The site config ``site`` starts from: no downloads (override it in a module)."""
    return NO_SOFTWARE


@pytest.fixture
def site(server, site_config) -> DisposableServer:
    """An initialized site: group gpu-users, storage, folders, admin ``admin`` (home moved
    to /data/users/admin), environment and sudo policy, from ``site_config``."""
    prepare_site(server, site_config)
    report = json.loads(init_site(server).stdout)
    assert report["ok"], report
    return server


@pytest.fixture
def systemd_server(tmp_path, wheelhouse) -> Iterator[DisposableServer]:
    """A disposable server whose PID 1 is the real systemd, with an SSD disk image that
    ``reboot(wipe=False)`` can keep, and the wheelhouse at /mnt/wheelhouse."""
    binds = {"/mnt/wheelhouse": str(wheelhouse)}
    yield from boot_server(tmp_path, binds=binds, init="systemd", ssd="ext4")


@pytest.fixture
def systemd_site(systemd_server, site_config) -> DisposableServer:
    """A site under systemd, as an admin builds it: the tool installed on /data by
    install.sh, ``init``, 16 linked members, ``recovery enable`` (units enabled)."""
    server = systemd_server
    server.run(INSTALL)
    prepare_site(server, site_config)
    init_site(server)
    for name in SYSTEMD_MEMBERS:
        add_linked_member(server, name)
    server.run(["datakeeper", "recovery", "enable"])
    return server
